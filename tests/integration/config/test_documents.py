"""Writing, reading, history, rollback and delete of configuration documents."""

from __future__ import annotations

import asyncio
from datetime import datetime

import jsonpatch
import pytest

from tests.integration.config._harness import BASE, OPERATOR, RISK, ConfigHarness

LIMITS = {"limits": {"max_qty": 10, "symbols": ["BTCUSDT"]}}

pytestmark = pytest.mark.integration


@pytest.fixture
async def risk(cfg: ConfigHarness) -> ConfigHarness:
    r = await cfg.register()
    assert r.status_code == 200, r.text
    return cfg


async def test_create_update_and_same_content(risk: ConfigHarness) -> None:
    r = await risk.put("risk/limits", LIMITS, comment="first")
    assert r.status_code == 201, r.text
    assert r.headers["x-argosy-changed"] == "true"
    body = r.json()
    assert (body["version"], body["content"], body["author"]) == (1, LIMITS, "operator:alice")

    r = await risk.put("risk/limits", {"limits": {"max_qty": 20}})
    assert r.status_code == 200
    assert r.headers["x-argosy-changed"] == "true"
    assert r.json()["version"] == 2

    r = await risk.put("risk/limits", {"limits": {"max_qty": 20}})
    assert r.status_code == 200
    assert r.headers["x-argosy-changed"] == "false"
    assert r.json()["version"] == 2
    assert len(await risk.history("risk/limits")) == 2

    r = await risk.get("/documents/risk/limits", who=RISK)
    assert r.status_code == 200
    assert r.json()["content"] == {"limits": {"max_qty": 20}}
    listed = (await risk.get("/documents", service="risk")).json()["items"]
    assert [(d["namespace"], d["version"]) for d in listed] == [("limits", 2)]


async def test_invalid_content_is_422_and_changes_nothing(risk: ConfigHarness) -> None:
    await risk.put("risk/limits", LIMITS)
    before_audit = await risk.audit()
    for content, field in (
        ({"limits": {"max_qty": "ten"}}, "content.limits.max_qty"),
        ({"limits": {"max_qty": -1}}, "content.limits.max_qty"),
        ({"limits": {"max_qty": 1, "max_qtyy": 2}}, "content.limits.max_qtyy"),
        ({"limits": {"symbols": ["A", 7]}}, "content.limits.symbols.1"),
        ({"surprise": True}, "content.surprise"),
    ):
        r = await risk.put("risk/limits", content)
        assert r.status_code == 422, content
        err = r.json()["error"]
        assert (err["code"], err["field"]) == ("invalid", field)
    doc = (await risk.get("/documents/risk/limits")).json()
    assert (doc["version"], doc["content"]) == (1, LIMITS)
    assert len(await risk.history("risk/limits")) == 1
    assert await risk.audit() == before_audit


async def test_unknown_or_malformed_namespace_is_422(risk: ConfigHarness) -> None:
    for path in ("risk/nothing", "risk/params/a/b", "risk/Bad", "risk/params/history"):
        r = await risk.put(path, {"a": 1})
        assert r.status_code == 422, path
        assert r.json()["error"]["field"] == "namespace"
    assert "registered: limits, params/*" in (await risk.put("risk/x", {})).json()["error"][
        "message"]


async def test_unknown_service_is_404(risk: ConfigHarness) -> None:
    for r in (await risk.put("nope/limits", LIMITS), await risk.get("/documents/nope/limits"),
              await risk.get("/documents/nope/limits/history")):
        assert r.status_code == 404
        assert r.json()["error"]["field"] == "service"


async def test_expected_version_guards_against_lost_updates(risk: ConfigHarness) -> None:
    assert (await risk.put("risk/limits", LIMITS, expected_version=1)).status_code == 409
    assert (await risk.put("risk/limits", LIMITS, expected_version=0)).status_code == 201
    r = await risk.put("risk/limits", {"limits": {"max_qty": 2}}, expected_version=0)
    assert r.status_code == 409
    err = r.json()["error"]
    assert (err["code"], err["field"]) == ("conflict", "expected_version")
    assert "at version 1" in err["message"]
    r = await risk.put("risk/limits", {"limits": {"max_qty": 2}}, expected_version=1)
    assert r.status_code == 200
    assert r.json()["version"] == 2
    assert len(await risk.history("risk/limits")) == 2


async def test_history_newest_first_with_author_time_and_diff(risk: ConfigHarness) -> None:
    contents = [LIMITS, {"limits": {"max_qty": 12, "symbols": ["BTCUSDT", "ETHUSDT"]}},
                {"limits": {"max_qty": 12}}]
    for i, content in enumerate(contents):
        assert (await risk.put("risk/limits", content, comment=f"c{i}")).status_code in (200, 201)
    items = await risk.history("risk/limits")
    assert [i["version"] for i in items] == [3, 2, 1]
    assert [i["action"] for i in items] == ["update", "update", "create"]
    assert [i["comment"] for i in items] == ["c2", "c1", "c0"]
    assert {i["author"] for i in items} == {"operator:alice"}
    times = [datetime.fromisoformat(i["created_at"]) for i in items]
    assert times == sorted(times, reverse=True)
    assert all(t.tzinfo is not None for t in times)
    # each diff is an RFC 6902 patch from the version before it
    state: dict[str, object] = {}
    for item, content in zip(reversed(items), contents, strict=True):
        state = jsonpatch.apply_patch(state, item["diff"])
        assert state == content

    r = await risk.get("/documents/risk/limits/history", limit=2)
    page = r.json()
    assert [i["version"] for i in page["items"]] == [3, 2]
    assert page["next_before"] == 2
    r = await risk.get("/documents/risk/limits/history", limit=2, before=2)
    assert [i["version"] for i in r.json()["items"]] == [1]


async def test_get_a_past_version(risk: ConfigHarness) -> None:
    await risk.put("risk/limits", LIMITS)
    await risk.put("risk/limits", {"limits": {"max_qty": 99}})
    r = await risk.get("/documents/risk/limits/versions/1")
    assert r.status_code == 200
    assert (r.json()["version"], r.json()["content"]) == (1, LIMITS)
    r = await risk.get("/documents/risk/limits/versions/7")
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "version"
    assert (await risk.get("/documents/risk/limits/versions/0")).status_code == 422


async def test_rollback_makes_a_new_version_and_is_audited(risk: ConfigHarness) -> None:
    await risk.put("risk/limits", LIMITS)
    await risk.put("risk/limits", {"limits": {"max_qty": 99}})
    r = await risk.rollback("risk/limits", 1, comment="undo")
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["content"]) == (3, LIMITS)
    assert (await risk.get("/documents/risk/limits")).json()["content"] == LIMITS
    top = (await risk.history("risk/limits"))[0]
    assert (top["version"], top["action"], top["rolled_back_to"], top["comment"]) == (
        3, "rollback", 1, "undo")
    audit = await risk.audit()
    assert (audit[0]["action"], audit[0]["version"]) == ("document.rollback", 3)
    assert audit[0]["detail"]["rolled_back_to"] == 1

    r = await risk.rollback("risk/limits", 9)
    assert r.status_code == 404


async def test_delete_keeps_history_and_recreate_continues(risk: ConfigHarness) -> None:
    await risk.put("risk/limits", LIMITS)
    r = await risk.delete("risk/limits")
    assert r.status_code == 204
    assert (await risk.get("/documents/risk/limits")).status_code == 404
    assert (await risk.get("/documents", service="risk")).json()["items"] == []
    items = await risk.history("risk/limits")
    assert [(i["version"], i["action"]) for i in items] == [(2, "delete"), (1, "create")]
    assert (await risk.get("/documents/risk/limits/versions/1")).json()["content"] == LIMITS
    r = await risk.delete("risk/limits")
    assert r.status_code == 404

    r = await risk.put("risk/limits", {"limits": {"max_qty": 1}}, expected_version=0)
    assert r.status_code == 201
    assert r.json()["version"] == 3
    assert (await risk.history("risk/limits"))[0]["action"] == "create"

    r = await risk.rollback("risk/limits", 2)
    assert r.status_code == 404  # a delete is not a state to restore


async def test_bad_bodies_are_422(risk: ConfigHarness) -> None:
    url = f"{BASE}/documents/risk/params/p1"
    headers = risk.as_(OPERATOR)
    cases = [
        ({"content": {}, "surprise": 1}, "surprise"),
        ({"content": {}, "comment": "x" * 501}, "comment"),
        ({"content": [1, 2]}, "content"),
        ({"content": "text"}, "content"),
        ({}, "content"),
        ({"content": {}, "expected_version": -1}, "expected_version"),
        ({"content": {"blob": "x" * 300_000}}, "content"),
        ({"content": {"n": 10**30}}, "content"),
    ]
    for body, field in cases:
        r = await risk.client.put(url, json=body, headers=headers)
        assert r.status_code == 422, body if len(str(body)) < 200 else field
        assert r.json()["error"]["field"] == field
    r = await risk.client.put(url, content=b"{not json", headers={
        **headers, "content-type": "application/json"})
    assert r.status_code == 422
    assert (await risk.get("/documents/risk/params/p1")).status_code == 404


async def test_concurrent_first_writes_of_one_document(risk: ConfigHarness) -> None:
    # On PostgreSQL a row that does not exist yet cannot be locked: the writers race on the
    # unique key, and the losers must come back as updates, not as 500s.
    results = await asyncio.gather(*(
        risk.put("risk/params/race", {"writer": i}) for i in range(6)
    ))
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    assert sorted(r.json()["version"] for r in results) == [1, 2, 3, 4, 5, 6]
    assert [i["version"] for i in await risk.history("risk/params/race")] == [6, 5, 4, 3, 2, 1]


async def test_concurrent_guarded_updates_let_exactly_one_win(risk: ConfigHarness) -> None:
    await risk.put("risk/limits", LIMITS)
    results = await asyncio.gather(*(
        risk.put("risk/limits", {"limits": {"max_qty": 100 + i}}, expected_version=1)
        for i in range(5)
    ))
    assert sorted(r.status_code for r in results) == [200] + [409] * 4
    assert (await risk.get("/documents/risk/limits")).json()["version"] == 2
