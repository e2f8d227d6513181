"""Master-key rotation: retire the key, then re-encrypt every stored secret in one
transaction. Retired keys keep decrypting, so a crash half-way loses nothing: running
`reencrypt` again finishes the job."""

from __future__ import annotations

import time
from typing import Any

import structlog

from argosy.platform.auth.internal import Principal
from argosy.platform.db.engine import Database
from argosy.services.config.codec import SecretCodec
from argosy.services.config.keyring import KeyRing
from argosy.services.config.models import AuditRow
from argosy.services.config.store import ConfigStore

__all__ = ["KeyRotation"]

log = structlog.get_logger("argosy.config.keys")


class KeyRotation:
    def __init__(
        self, db: Database, store: ConfigStore, codec: SecretCodec, keyring: KeyRing
    ) -> None:
        self._db, self._store, self._codec, self._keyring = db, store, codec, keyring

    async def status(self, p: Principal) -> dict[str, Any]:
        p.require("config:admin")
        async with self._db.read() as s:
            rows = await self._store.all_versions(s)
        counts: dict[str, int] = {}
        for _service, _namespace, row in rows:
            for kid, n in self._codec.key_ids_in(row.content).items():
                counts[kid] = counts.get(kid, 0) + n
        box = self._codec.box
        return {
            "current": box.kid,
            "managed": self._keyring.managed,
            "keys": [{"kid": kid, "current": kid == box.kid, "values": counts.pop(kid, 0)}
                     for kid in sorted(box.kids)],
            "unknown": counts,  # values whose key is not in the ring: cannot be read
        }

    async def rotate(self, p: Principal) -> dict[str, Any]:
        p.require("config:admin")
        old_kid, new_kid = self._keyring.rotate()
        self._codec.replace_box(self._keyring.box())
        log.info("config.key_rotated", old_kid=old_kid, new_kid=new_kid)
        return await self._reencrypt(p, "keys.rotated", {"old_kid": old_kid, "new_kid": new_kid})

    async def reencrypt(self, p: Principal) -> dict[str, Any]:
        """Reload the key files (a deployment may have installed new ones) and move every
        value that is not under the current key."""
        p.require("config:admin")
        self._codec.replace_box(self._keyring.box())
        return await self._reencrypt(p, "keys.reencrypted", {})

    async def _reencrypt(self, p: Principal, action: str, detail: dict[str, Any]) -> dict[str, Any]:
        moved: dict[str, int] = {}
        versions = 0
        async with self._db.transaction() as s:
            for service, namespace, row in await self._store.all_versions(s, for_update=True):
                content, by_kid = self._codec.reencrypt(service, namespace, row.content)
                if by_kid:
                    row.content = content
                    versions += 1
                    for kid, n in by_kid.items():
                        moved[kid] = moved.get(kid, 0) + n
            summary = {**detail, "current": self._codec.box.kid, "versions": versions,
                       "values_by_old_kid": moved}
            self._store.add(s, AuditRow(
                at_ns=time.time_ns(), actor=p.subject, action=action, service="config",
                namespace=None, version=None, request_id=_request_id(), detail=summary,
            ))
        log.info("config.secrets_reencrypted", versions=versions, moved=moved)
        return summary


def _request_id() -> str | None:
    rid = structlog.contextvars.get_contextvars().get("request_id")
    return str(rid) if rid else None
