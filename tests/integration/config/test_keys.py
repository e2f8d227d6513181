"""Master-key rotation: every stored secret moves to the new key, nothing becomes unreadable,
and the old key stays usable until every value has moved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from argosy.platform.crypto import SecretBox
from tests.integration.config._harness import OPERATOR, READER, RISK, ConfigHarness

pytestmark = pytest.mark.integration

PLAIN = "sk-rotate-me-PLAINTEXT"
DOC: dict[str, Any] = {
    "limits": {"max_qty": 5},
    "venue": {"api_key": "public", "api_secret": PLAIN},
    "webhooks": {"ops": "hook-1", "desk/2": "hook-2"},
}
OPERATOR_ADMIN = OPERATOR  # config:* includes config:admin


async def _kids_in_db(cfg: ConfigHarness) -> list[str]:
    kids = []
    for (content,) in await cfg.sql("SELECT content FROM document_versions ORDER BY id"):
        doc = json.loads(content) if isinstance(content, str) else content
        kids += [SecretBox.kid_of(tok) for tok in _tokens(doc)]
    return kids


def _tokens(node: Any) -> list[str]:
    if isinstance(node, dict):
        if set(node) == {"$enc"}:
            return [node["$enc"]]
        return [t for v in node.values() for t in _tokens(v)]
    if isinstance(node, list):
        return [t for v in node for t in _tokens(v)]
    return []


async def test_rotation_moves_every_secret_and_keeps_them_readable(cfg: ConfigHarness) -> None:
    assert (await cfg.register()).status_code == 200
    assert (await cfg.put("risk/limits", DOC)).status_code == 201
    changed = {**DOC, "venue": {"api_key": "public", "api_secret": PLAIN + "-v2"}}
    assert (await cfg.put("risk/limits", changed)).status_code == 200
    before = await cfg.get("/admin/keys")
    assert before.status_code == 200, before.text
    old_kid = before.json()["current"]
    assert set(await _kids_in_db(cfg)) == {old_kid}

    r = await cfg.client.post("/api/v1/config/admin/keys/rotate", headers=cfg.as_(OPERATOR))
    assert r.status_code == 200, r.text
    summary = r.json()
    new_kid = summary["current"]
    assert new_kid != old_kid
    assert summary["versions"] == 2
    assert summary["values_by_old_kid"] == {old_kid: 6}
    assert set(await _kids_in_db(cfg)) == {new_kid}
    assert PLAIN not in json.dumps([c for (c,) in await cfg.sql(
        "SELECT content FROM document_versions")], default=str)

    # current and past versions still decrypt for the owner; others still see masks
    cur = await cfg.get("/documents/risk/limits", who=RISK, reveal="true")
    assert cur.json()["content"]["venue"]["api_secret"] == PLAIN + "-v2"
    v1 = await cfg.client.post("/api/v1/config/documents/risk/limits/rollback",
                               json={"version": 1}, headers=cfg.as_(OPERATOR))
    assert v1.status_code == 200, v1.text
    again = await cfg.get("/documents/risk/limits", who=RISK, reveal="true")
    assert again.json()["content"]["venue"]["api_secret"] == PLAIN

    status = (await cfg.get("/admin/keys")).json()
    assert {k["kid"]: k["values"] for k in status["keys"]} == {new_kid: 9, old_kid: 0}
    audit = [a for a in await cfg.audit("config") if a["action"] == "keys.rotated"]
    assert audit[0]["detail"]["old_kid"] == old_kid
    assert audit[0]["actor"] == OPERATOR.subject


async def test_reencrypt_is_idempotent_and_rotation_needs_admin(cfg: ConfigHarness) -> None:
    assert (await cfg.register()).status_code == 200
    assert (await cfg.put("risk/limits", DOC)).status_code == 201
    first = await cfg.client.post("/api/v1/config/admin/keys/reencrypt",
                                  headers=cfg.as_(OPERATOR))
    assert first.status_code == 200, first.text
    assert first.json()["versions"] == 0  # nothing was under another key
    for who in (READER, RISK):
        denied = await cfg.client.post("/api/v1/config/admin/keys/rotate", headers=cfg.as_(who))
        assert denied.status_code == 403
    assert (await cfg.get("/admin/keys", who=READER)).status_code == 403
