"""Who may do what, the audit trail of every change, and the published API description."""

from __future__ import annotations

import os

import pytest

from argosy.platform.auth.internal import InternalAuth, Principal
from tests.integration.config._harness import (
    BASE,
    OPERATOR,
    READER,
    RISK,
    TRADING,
    ConfigHarness,
)

pytestmark = pytest.mark.integration

LIMITS = {"limits": {"max_qty": 3}}


@pytest.fixture
async def risk(cfg: ConfigHarness) -> ConfigHarness:
    assert (await cfg.register()).status_code == 200
    assert (await cfg.put("risk/limits", LIMITS)).status_code == 201
    return cfg


async def test_no_identity_or_a_bad_token_is_401(risk: ConfigHarness) -> None:
    foreign = InternalAuth(os.urandom(32)).mint(OPERATOR)
    good = risk.runtime.auth.mint(OPERATOR)
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for headers in ({}, {"x-argosy-identity": "not-a-token"},
                    {"x-argosy-identity": foreign}, {"x-argosy-identity": tampered}):
        for method, url, body in (
            ("GET", "/documents/risk/limits", None),
            ("PUT", "/documents/risk/limits", {"content": {"limits": {"max_qty": 9}}}),
            ("GET", "/audit", None),
            ("PUT", "/schemas/risk", {"namespaces": [{"namespace": "x", "schema": {}}]}),
        ):
            r = await risk.client.request(method, f"{BASE}{url}", json=body, headers=headers)
            assert r.status_code == 401, (headers, method, url)
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
    assert (await risk.get("/documents/risk/limits")).json()["version"] == 1


async def test_read_only_user_reads_but_cannot_change(risk: ConfigHarness) -> None:
    assert (await risk.get("/documents/risk/limits", who=READER)).status_code == 200
    assert (await risk.get("/documents", who=READER)).status_code == 200
    for r in (
        await risk.put("risk/limits", {"limits": {"max_qty": 4}}, who=READER),
        await risk.put("risk/params/new", {}, who=READER),
        await risk.rollback("risk/limits", 1, who=READER),
        await risk.delete("risk/limits", who=READER),
        await risk.get("/audit", who=READER),  # needs config:audit
    ):
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
    assert len(await risk.history("risk/limits")) == 1
    nobody = Principal("user:u2", frozenset({"trading:read"}))
    assert (await risk.get("/documents/risk/limits", who=nobody)).status_code == 403


async def test_a_service_sees_only_its_own_configuration(risk: ConfigHarness) -> None:
    assert (await risk.get("/documents/risk/limits", who=RISK)).status_code == 200
    assert (await risk.get("/documents", who=RISK, service="risk")).status_code == 200
    for url, params in (
        ("/documents/risk/limits", {}),
        ("/documents/risk/limits/history", {}),
        ("/documents/risk/limits/versions/1", {}),
        ("/schemas/risk", {}),
        ("/documents", {"service": "risk"}),
        ("/documents", {}),  # a service must name itself
    ):
        r = await risk.get(url, who=TRADING, **params)
        assert r.status_code == 403, url
        assert "max_qty" not in r.text
    r = await risk.put("risk/limits", {"limits": {"max_qty": 1}}, who=TRADING)
    assert r.status_code == 403
    assert (await risk.delete("risk/limits", who=TRADING)).status_code == 403


async def test_audit_lists_every_change_with_actor_and_request_id(risk: ConfigHarness) -> None:
    def rid(value: str) -> dict[str, str]:
        return {"x-request-id": value}

    for r, sent in (
        (await risk.put("risk/limits", {"limits": {"max_qty": 4}}, headers=rid("rid-update-1")),
         "rid-update-1"),
        (await risk.rollback("risk/limits", 1, headers=rid("rid-rollback-1")), "rid-rollback-1"),
        (await risk.delete("risk/limits", headers=rid("rid-delete-1")), "rid-delete-1"),
        (await risk.put("risk/params/p", {"a": 1}, who=RISK, headers=rid("rid-create-1")),
         "rid-create-1"),
    ):
        assert r.status_code < 300, r.text
        assert r.headers["x-request-id"] == sent
    audit = await risk.audit()
    assert [(a["action"], a["namespace"], a["version"], a["actor"], a["request_id"])
            for a in audit[:4]] == [
        ("document.create", "params/p", 1, "service:risk", "rid-create-1"),
        ("document.delete", "limits", 4, "operator:alice", "rid-delete-1"),
        ("document.rollback", "limits", 3, "operator:alice", "rid-rollback-1"),
        ("document.update", "limits", 2, "operator:alice", "rid-update-1"),
    ]
    assert [a["action"] for a in audit[4:]] == ["document.create", "schemas.registered"]
    assert audit[3]["detail"]["diff"] == [
        {"op": "replace", "path": "/limits/max_qty", "value": 4}]
    assert all(a["service"] == "risk" for a in audit)
    ids = [a["id"] for a in audit]
    assert ids == sorted(ids, reverse=True)

    only_limits = (await risk.get("/audit", namespace="limits")).json()["items"]
    assert {a["namespace"] for a in only_limits} == {"limits"}
    page = (await risk.get("/audit", service="risk", limit=2)).json()
    assert [a["id"] for a in page["items"]] == ids[:2]
    rest = (await risk.get("/audit", service="risk", before=page["next_before"])).json()
    assert [a["id"] for a in rest["items"]] == ids[2:]


async def test_a_failed_write_is_not_audited(risk: ConfigHarness) -> None:
    before = await risk.audit()
    for r in (
        await risk.put("risk/limits", {"limits": {"max_qty": "x"}}),
        await risk.put("risk/limits", LIMITS, expected_version=7),
        await risk.put("risk/limits", {"limits": {"max_qty": 4}}, who=READER),
    ):
        assert r.status_code in (403, 409, 422)
    assert await risk.audit() == before


async def test_openapi_lists_every_config_route_with_its_errors(cfg: ConfigHarness) -> None:
    r = await cfg.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        ("get", f"{BASE}/services"),
        ("put", f"{BASE}/schemas/{{service}}"),
        ("get", f"{BASE}/schemas/{{service}}"),
        ("get", f"{BASE}/documents"),
        ("get", f"{BASE}/documents/{{service}}/{{namespace}}/history"),
        ("get", f"{BASE}/documents/{{service}}/{{namespace}}/versions/{{version}}"),
        ("post", f"{BASE}/documents/{{service}}/{{namespace}}/rollback"),
        ("get", f"{BASE}/documents/{{service}}/{{namespace}}"),
        ("put", f"{BASE}/documents/{{service}}/{{namespace}}"),
        ("delete", f"{BASE}/documents/{{service}}/{{namespace}}"),
        ("get", f"{BASE}/audit"),
        ("get", f"{BASE}/admin/keys"),
        ("post", f"{BASE}/admin/keys/rotate"),
        ("post", f"{BASE}/admin/keys/reencrypt"),
    }
    found = {(m, p) for p, ops in paths.items() if p.startswith(BASE) for m in ops}
    assert found == expected
    for method, path in expected:
        op = paths[path][method]
        codes = set(op["responses"])
        assert {"401", "403", "422"} <= codes, (method, path)
        assert op.get("summary"), (method, path)
    put_doc = paths[f"{BASE}/documents/{{service}}/{{namespace}}"]["put"]["responses"]
    assert {"200", "201", "404", "409"} <= set(put_doc)
