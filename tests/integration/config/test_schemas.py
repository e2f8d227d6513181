"""Services publish the JSON schemas of their namespaces; the config service checks them."""

from __future__ import annotations

import pytest

from tests.integration.config._harness import (
    BASE,
    OPERATOR,
    READER,
    RISK,
    RISK_SCHEMAS,
    TRADING,
    ConfigHarness,
)

pytestmark = pytest.mark.integration


async def test_register_read_back_and_reregister_is_a_no_op(cfg: ConfigHarness) -> None:
    r = await cfg.register()
    assert r.status_code == 200, r.text
    assert r.json() == {"service": "risk", "changed": True, "invalid_documents": []}

    r = await cfg.get("/schemas/risk", who=RISK)
    assert r.status_code == 200
    items = {i["namespace"]: i for i in r.json()["items"]}
    assert set(items) == {"limits", "params/*"}
    assert items["limits"]["schema"] == RISK_SCHEMAS[0]["schema"]
    assert items["limits"]["description"] == "Risk limits"
    assert items["limits"]["registered_by"] == "service:risk"
    assert (await cfg.get("/services")).json()["items"] == ["config", "risk"]

    audit = await cfg.audit()
    assert [a["action"] for a in audit] == ["schemas.registered"]
    assert audit[0]["actor"] == "service:risk"
    assert audit[0]["detail"]["namespaces"] == ["limits", "params/*"]

    again = await cfg.register()
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert len(await cfg.audit()) == 1  # no new audit row

    described = [{**RISK_SCHEMAS[0], "description": "Limits v2"}, RISK_SCHEMAS[1]]
    r = await cfg.register(namespaces=described)
    assert r.json()["changed"] is True
    schemas = (await cfg.get("/schemas/risk", who=RISK)).json()["items"]
    assert {s["namespace"]: s["description"] for s in schemas}["limits"] == "Limits v2"


async def test_invalid_json_schema_is_422_and_nothing_is_stored(cfg: ConfigHarness) -> None:
    r = await cfg.register(namespaces=[{"namespace": "limits", "schema": {"type": "nope"}}])
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid"
    assert err["field"] == "namespaces.0.schema"
    assert err["request_id"]

    bad_second = [RISK_SCHEMAS[0], {"namespace": "x", "schema": {"properties": {"a": 5}}}]
    r = await cfg.register(namespaces=bad_second)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "namespaces.1.schema"
    assert (await cfg.get("/schemas/risk", who=RISK)).json()["items"] == []
    assert await cfg.audit() == []


async def test_schemas_the_service_cannot_honour_are_422(cfg: ConfigHarness) -> None:
    for schema in (
        {"type": "array"},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
        {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}},
        {"type": "object", "properties": {"a": {"not": {"x-argosy-secret": True}}}},
    ):
        r = await cfg.register(namespaces=[{"namespace": "limits", "schema": schema}])
        assert r.status_code == 422, schema
        assert r.json()["error"]["field"] == "namespaces.0.schema"


async def test_duplicate_or_malformed_namespace_is_422(cfg: ConfigHarness) -> None:
    r = await cfg.register(namespaces=[RISK_SCHEMAS[0], RISK_SCHEMAS[0]])
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "namespaces.1.namespace"
    assert "duplicate" in r.json()["error"]["message"]

    r = await cfg.register(namespaces=[{"namespace": "Bad Name", "schema": {}}])
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "namespaces.0.namespace"

    r = await cfg.register(namespaces=[])
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "namespaces"


async def test_only_the_owner_or_an_admin_registers(cfg: ConfigHarness) -> None:
    r = await cfg.register("risk", who=TRADING)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    r = await cfg.register("risk", who=READER)
    assert r.status_code == 403
    assert (await cfg.get("/schemas/risk", who=RISK)).json()["items"] == []

    r = await cfg.register("risk", who=OPERATOR)  # config:* includes config:admin
    assert r.status_code == 200
    assert (await cfg.audit())[0]["actor"] == "operator:alice"


async def test_unknown_service_is_404(cfg: ConfigHarness) -> None:
    r = await cfg.register("nope", who=OPERATOR)
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "service"
    r = await cfg.get("/schemas/nope")
    assert r.status_code == 404


async def test_new_schema_reports_documents_it_no_longer_accepts(cfg: ConfigHarness) -> None:
    await cfg.register()
    assert (await cfg.put("risk/params/grid-1", {"step": "wide"})).status_code == 201
    stricter = [RISK_SCHEMAS[0], {"namespace": "params/*", "schema": {
        "type": "object", "properties": {"step": {"type": "number"}}}}]
    r = await cfg.register(namespaces=stricter)
    assert r.status_code == 200
    assert r.json() == {"service": "risk", "changed": True, "invalid_documents": ["params/grid-1"]}


async def test_service_name_may_be_the_package_spelling(cfg: ConfigHarness) -> None:
    r = await cfg.client.put(
        f"{BASE}/schemas/market_data", json={"namespaces": RISK_SCHEMAS[1:]},
        headers=cfg.as_(OPERATOR),
    )
    assert r.status_code == 200
    assert r.json()["service"] == "market-data"
