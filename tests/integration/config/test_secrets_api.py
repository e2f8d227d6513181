"""Secrets: encrypted in the database, masked in every answer, in clear only for the owner."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from argosy.contracts.v1.config import MASK
from tests.integration.config._harness import (
    OPERATOR,
    READER,
    RISK,
    TRADING,
    ConfigHarness,
)

pytestmark = pytest.mark.integration

PLAIN = "sk-live-8f1d0c-PLAINTEXT"
HOOK = "hook-token-PLAINTEXT"
DOC: dict[str, Any] = {
    "limits": {"max_qty": 5},
    "venue": {"api_key": "public-key", "api_secret": PLAIN},
    "webhooks": {"slack/ops": HOOK},
}


@pytest.fixture
async def stored(cfg: ConfigHarness) -> ConfigHarness:
    assert (await cfg.register()).status_code == 200
    r = await cfg.put("risk/limits", DOC)
    assert r.status_code == 201, r.text
    assert PLAIN not in r.text
    return cfg


async def test_get_masks_and_lists_secret_pointers(stored: ConfigHarness) -> None:
    for who in (OPERATOR, READER, RISK):
        r = await stored.get("/documents/risk/limits", who=who)
        assert r.status_code == 200
        body = r.json()
        assert body["content"]["venue"] == {"api_key": "public-key", "api_secret": MASK}
        assert body["content"]["webhooks"] == {"slack/ops": MASK}
        assert body["content"]["limits"] == {"max_qty": 5}
        assert body["secrets"] == ["/venue/api_secret", "/webhooks/slack~1ops"]
        assert body["revealed"] is False


async def test_the_database_holds_no_plaintext(stored: ConfigHarness) -> None:
    rows = await stored.sql("SELECT CAST(content AS TEXT), CAST(diff AS TEXT) "
                            "FROM document_versions")
    assert len(rows) == 1
    content, diff = rows[0]
    assert "$enc" in content
    assert "public-key" in content  # the table is the right one: plain fields are there
    for plain in (PLAIN, HOOK):
        assert plain not in content
        assert plain not in diff
    everything = [
        *(await stored.sql("SELECT CAST(detail AS TEXT) FROM audit")),
        *(await stored.sql("SELECT payload FROM outbox")),
    ]
    dump = repr(everything)
    assert "limits" in dump
    assert PLAIN not in dump
    assert HOOK not in dump


async def test_owner_reveals_in_clear_and_it_is_audited(stored: ConfigHarness) -> None:
    r = await stored.get("/documents/risk/limits", who=RISK, reveal="true")
    assert r.status_code == 200
    assert r.json()["content"] == DOC
    assert r.json()["revealed"] is True
    top = (await stored.audit())[0]
    assert (top["action"], top["actor"], top["version"]) == ("secrets.revealed", "service:risk", 1)

    for who in (OPERATOR, READER, TRADING):
        r = await stored.get("/documents/risk/limits", who=who, reveal="true")
        assert r.status_code == 403, who.subject
        assert PLAIN not in r.text
    no_reveal_right = RISK.__class__("service:risk", frozenset({"config:read"}))
    r = await stored.get("/documents/risk/limits", who=no_reveal_right, reveal="true")
    assert r.status_code == 403


async def test_writing_the_mask_back_keeps_the_secret(stored: ConfigHarness) -> None:
    masked = (await stored.get("/documents/risk/limits")).json()["content"]
    masked["limits"]["max_qty"] = 6
    r = await stored.put("risk/limits", masked)
    assert r.status_code == 200
    assert r.json()["version"] == 2
    revealed = (await stored.get("/documents/risk/limits", who=RISK, reveal="true")).json()
    assert revealed["content"]["venue"]["api_secret"] == PLAIN
    assert revealed["content"]["webhooks"]["slack/ops"] == HOOK
    assert revealed["content"]["limits"]["max_qty"] == 6
    ops = (await stored.history("risk/limits"))[0]["diff"]
    assert ops == [{"op": "replace", "path": "/limits/max_qty", "value": 6}]

    # the same masked document again is no change at all
    r = await stored.put("risk/limits", masked)
    assert r.headers["x-argosy-changed"] == "false"


async def test_changing_a_secret_shows_a_masked_secret_op(stored: ConfigHarness) -> None:
    new_secret = "sk-live-ROTATED-PLAINTEXT"
    doc = {**DOC, "venue": {"api_key": "public-key", "api_secret": new_secret}}
    r = await stored.put("risk/limits", doc)
    assert r.status_code == 200
    assert new_secret not in r.text
    ops = (await stored.history("risk/limits"))[0]["diff"]
    assert ops == [{"op": "replace", "path": "/venue/api_secret", "value": MASK,
                    "secret": True}]
    audit_ops = (await stored.audit())[0]["detail"]["diff"]
    assert audit_ops == ops
    revealed = (await stored.get("/documents/risk/limits", who=RISK, reveal="true")).json()
    assert revealed["content"]["venue"]["api_secret"] == new_secret
    rows = await stored.sql("SELECT CAST(content AS TEXT) FROM document_versions")
    assert all(new_secret not in row[0] for row in rows)


async def test_mask_for_a_secret_never_stored_is_422(stored: ConfigHarness) -> None:
    r = await stored.put("risk/limits", {**DOC, "webhooks": {"slack/ops": MASK, "pager": MASK}})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "content.webhooks.pager"
    assert (await stored.get("/documents/risk/limits")).json()["version"] == 1


async def test_plaintext_never_reaches_a_non_owner(stored: ConfigHarness) -> None:
    seen: list[httpx.Response] = []
    doc2 = {**DOC, "venue": {"api_key": "k2", "api_secret": PLAIN + "-2"}}
    seen.append(await stored.put("risk/limits", doc2))
    seen.append(await stored.rollback("risk/limits", 1))
    # the owner does get the rolled-back secret
    r = await stored.get("/documents/risk/limits", who=RISK, reveal="true")
    assert r.json()["content"]["venue"]["api_secret"] == PLAIN
    for who in (OPERATOR, READER):
        for url in ("/documents/risk/limits", "/documents/risk/limits/history",
                    "/documents/risk/limits/versions/1", "/documents/risk/limits/versions/2",
                    "/documents", "/schemas/risk"):
            seen.append(await stored.get(url, who=who))
    seen.append(await stored.get("/audit"))
    seen.append(await stored.client.get("/openapi.json"))
    seen.append(await stored.delete("risk/limits"))
    seen.append(await stored.get("/documents/risk/limits/versions/3"))
    assert all(r.status_code < 300 for r in seen), [(r.url, r.status_code) for r in seen]
    for r in seen:
        for plain in (PLAIN, HOOK):
            assert plain not in r.text, r.url


async def test_secret_in_a_map_beside_declared_fields(cfg: ConfigHarness) -> None:
    schema = {"type": "object", "properties": {"count": {"type": "integer"}},
              "additionalProperties": {"type": "string", "x-argosy-secret": True}}
    await cfg.register(namespaces=[{"namespace": "keys", "schema": schema}])
    r = await cfg.put("risk/keys", {"count": 2, "binance": PLAIN})
    assert r.status_code == 201, r.text
    assert r.json()["content"] == {"count": 2, "binance": MASK}
    assert r.json()["secrets"] == ["/binance"]
