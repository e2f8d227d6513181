"""Reading the security audit log: auditors of an organisation see its rows only; exports
stream (CSV or JSON lines) so a long log never sits in memory; every export is itself
audited; and operators can rotate the token signing key."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from argosy.kernel.errors import Forbidden
from argosy.platform.auth.internal import Principal
from argosy.services.users.auditlog import AuditFilter, Who
from argosy.services.users.models import AuditRow
from argosy.services.users.schemas import AuditOut
from argosy.services.users.service._context import Caller, Deps, iso

__all__ = ["AuditService"]

_COLUMNS = ("seq", "at", "actor", "action", "target_type", "target_id", "ip", "request_id",
            "detail", "hash")


def _out(r: AuditRow) -> AuditOut:
    return AuditOut(seq=r.seq, at=iso(r.at_ns), actor=r.actor, action=r.action,
                    target_type=r.target_type, target_id=r.target_id, ip=r.ip,
                    request_id=r.request_id, detail=r.detail, hash=r.hash)


class AuditService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def query(self, c: Caller, f: AuditFilter, limit: int) -> list[AuditOut]:
        c.require("audit:read")
        return [_out(r) for r in await self.d.audit.query(f, limit=limit)]

    async def export(self, c: Caller, f: AuditFilter, fmt: str) -> AsyncIterator[bytes]:
        """Checks permission and records the export before the first byte is sent."""
        c.require("audit:read")
        async with self.d.db.transaction() as s:
            await self.d.audit.append(s, c.who, "audit.exported",
                                      detail={"format": fmt, "action": f.action,
                                              "actor": f.actor})

        async def lines() -> AsyncIterator[bytes]:
            if fmt == "csv":
                yield _csv_line(_COLUMNS)
            async for row in self.d.audit.stream(f):
                data = _out(row).model_dump()
                if fmt == "csv":
                    data["detail"] = json.dumps(data["detail"], sort_keys=True)
                    yield _csv_line(tuple(str(data[k] if data[k] is not None else "")
                                          for k in _COLUMNS))
                else:
                    yield json.dumps(data, sort_keys=True).encode() + b"\n"

        return lines()

    async def rotate_signing_key(self, p: Principal, ip: str) -> dict[str, str | None]:
        """Operators only (`users:keys`, a permission no user role carries)."""
        if not p.allows("users:keys") or p.kind not in ("operator", "service"):
            raise Forbidden("rotating the signing key needs an operator with users:keys")
        async with self.d.db.transaction() as s:
            new, old = await self.d.keys.rotate(s)
            await self.d.audit.append(s, Who(p.subject, None, ip), "signing_key.rotated",
                                      target_type="signing_key", target_id=new,
                                      detail={"previous": old})
        return {"kid": new, "previous": old}


def _csv_line(values: tuple[str, ...]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue().encode()
