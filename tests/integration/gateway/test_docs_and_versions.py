"""The platform's API docs from local assets, the merged OpenAPI, live route changes,
deprecation and sunset."""

from __future__ import annotations

import time

from tests.integration.gateway.conftest import Harness


async def test_swagger_ui_from_local_assets(gw: Harness) -> None:
    page = await gw.client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN, no absolute URL
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css",
                  "/docs/assets/swagger-ui-standalone-preset.js", "/docs/init.js"):
        r = await gw.client.get(asset)
        assert r.status_code == 200, asset
        assert len(r.content) > 50
    assert "/openapi.json" in (await gw.client.get("/docs/init.js")).text


async def test_openapi_merges_every_reachable_service(gw: Harness) -> None:
    r = await gw.client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    assert {"/api/v1/orders", "/api/v1/orders/{order_id}"} <= set(paths)  # trading
    assert "/api/v1/accounts" in paths  # users
    assert "/.well-known/jwks.json" in paths
    assert paths["/.well-known/jwks.json"]["get"]["security"] == []  # public route
    assert paths["/api/v1/orders"]["get"]["x-argosy-service"] == "trading"
    assert {"/healthz", "/readyz"} <= set(paths)
    assert "/internal/v1/api-keys/{key_id}" not in paths
    assert not any(p.startswith("/internal") for p in paths)
    # config is up and its real API is merged; risk, strategy... are down: listed, not fatal
    assert "/api/v1/config/documents" in paths
    assert {"risk", "strategy", "notification", "analytics"} <= set(
        doc["info"]["x-argosy-unavailable"])
    assert "trading" not in doc["info"]["x-argosy-unavailable"]


async def test_route_document_applies_live(gw: Harness) -> None:
    headers = gw.bearer()
    assert (await gw.client.get("/api/v1/alerts", headers=headers)).status_code == 503
    soon = int(time.time()) + 86_400
    await gw.configure("routes", {"routes": [
        {"prefix": "/api/v1/alerts", "enabled": False},
        {"prefix": "/api/v1/signals", "service": "market-data", "auth": "public"},
        {"prefix": "/api/v1/fills", "deprecated": True, "deprecated_at": 1_767_225_600,
         "sunset_at": soon, "link": "https://argosy.example/docs/fills-v2"},
        {"prefix": "/api/v1/balances", "sunset_at": "2020-01-01T00:00:00Z"},
    ]})
    assert gw.parts.gateway.table.version >= 1
    assert (await gw.client.get("/api/v1/alerts", headers=headers)).status_code == 404
    signals = await gw.client.get("/api/v1/signals/x")
    assert (signals.status_code, signals.json()["service"]) == (200, "market-data")
    fills = await gw.client.get("/api/v1/fills", headers=headers)
    assert fills.status_code == 200
    assert fills.headers["deprecation"] == "@1767225600"
    assert fills.headers["sunset"].endswith(" GMT")
    assert fills.headers.get_list("link") == [
        '<https://argosy.example/docs/fills-v2>; rel="deprecation"',
        '<https://argosy.example/docs/fills-v2>; rel="sunset"']
    gone = await gw.client.get("/api/v1/balances", headers=headers)
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "gone")
    assert gone.headers["sunset"] == "Wed, 01 Jan 2020 00:00:00 GMT"
    await gw.configure("routes", None)
    assert (await gw.client.get("/api/v1/signals/x")).status_code == 404
    assert (await gw.client.get("/api/v1/balances", headers=headers)).status_code == 200


async def test_a_bad_route_document_is_refused_by_the_config_service(gw: Harness) -> None:
    import httpx

    await gw.configure("routes", {"balancer": "round_robin"})
    url = f"{gw.stack.config_url}/api/v1/config/documents/gateway/routes"
    async with httpx.AsyncClient(headers=gw.operator()) as http:
        r = await http.put(url, json={"content": {"routes": [
            {"prefix": "/api/v1/x", "service": "gateway"}]}})
    assert r.status_code == 422
    assert gw.parts.gateway.table.match("/api/v1/x") is None
