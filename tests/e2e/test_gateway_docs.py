"""Issue #4, the platform's API documentation as the running gateway serves it: one
OpenAPI document over the services that are up (users, config, the gateway's own paths),
with the issue's public API in it, and Swagger UI at /docs from local files only (the
machine, like many deployments, cannot reach a CDN)."""

from __future__ import annotations

import re

import pytest

from tests.integration.gateway._live import Live, live_platform

pytestmark = pytest.mark.e2e

#: "Public API (must exist, documented)" in issue #4
PUBLIC_API = [
    ("post", "/api/v1/auth/register"), ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"), ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/users/me"), ("get", "/api/v1/accounts"), ("post", "/api/v1/accounts"),
    ("post", "/api/v1/accounts/{account_id}/credentials"), ("get", "/api/v1/api-keys"),
    ("post", "/api/v1/api-keys"), ("post", "/api/v1/kyc"), ("get", "/api/v1/audit"),
    ("get", "/api/v1/admin/users"), ("post", "/api/v1/admin/users"),
    ("get", "/api/v1/admin/roles"), ("post", "/api/v1/admin/roles"),
]
_EXTERNAL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+""")


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def test_the_aggregated_openapi_has_the_users_and_gateway_paths(live: Live) -> None:
    r = live.call("GET", "/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    for method, path in PUBLIC_API:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"
        assert paths[path][method]["x-argosy-service"] == "users"
    assert {"/healthz", "/readyz", "/.well-known/jwks.json"} <= set(paths)
    assert any(p.startswith("/api/v1/config/") for p in paths)  # config is up, so listed
    assert not [p for p in paths if p.startswith("/internal")]  # never routed, never shown
    # services not started here are named, not silently missing
    assert set(doc["info"]["x-argosy-unavailable"]) == {
        "analytics", "market-data", "notification", "risk", "strategy"}
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    assert paths["/api/v1/accounts"]["get"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert {"bearer", "apiKey"} <= set(doc["components"]["securitySchemes"])
    ref = paths["/api/v1/auth/login"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/users.LoginIn"  # components namespaced per service
    assert "users.LoginIn" in doc["components"]["schemas"]


def test_docs_are_served_from_local_assets_only(live: Live) -> None:
    page = live.call("GET", "/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not _EXTERNAL.findall(page.text), _EXTERNAL.findall(page.text)
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", page.text)
    assert len(assets) >= 4
    for asset in assets:
        assert asset.startswith("/"), asset
        assert not asset.startswith("//"), asset
        got = live.call("GET", asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 0
    init = live.call("GET", "/docs/init.js").text
    assert '"/openapi.json"' in init
    assert "validatorUrl: null" in init  # else browsers call validator.swagger.io
    assert not _EXTERNAL.findall(init)
