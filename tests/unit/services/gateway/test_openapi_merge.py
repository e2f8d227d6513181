"""The platform-wide OpenAPI document: only routed paths, namespaced components."""

from __future__ import annotations

from typing import Any

from argosy.services.gateway.domain.openapi import merge_openapi
from argosy.services.gateway.domain.routes import build_table


def _doc(paths: list[str], schema: str = "Order") -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {
        "openapi": "3.1.0", "info": {"title": "x", "version": "1"},
        "paths": {p: {"get": {"operationId": f"get{i}", "responses": {"200": {
            "description": "ok", "content": {"application/json": {"schema": ref}}}}}}
            for i, p in enumerate(paths)},
        "components": {"schemas": {schema: {"type": "object"}}},
    }


def test_merge_keeps_routed_paths_and_namespaces_components() -> None:
    table = build_table(None)
    merged = merge_openapi(
        {"trading": _doc(["/api/v1/orders", "/healthz", "/internal/runtime",
                          "/api/v1/config/x"]),
         "users": _doc(["/api/v1/auth/login", "/api/v1/accounts"]),
         "risk": None},
        owner=table.owner, public=lambda p: p.startswith("/api/v1/auth"),
        title="Argosy API", version="1.0",
    )
    assert set(merged["paths"]) == {"/api/v1/orders", "/api/v1/auth/login", "/api/v1/accounts"}
    orders = merged["paths"]["/api/v1/orders"]["get"]
    schema = orders["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/trading.Order"}
    assert {"trading.Order", "users.Order"} <= set(merged["components"]["schemas"])
    assert orders["operationId"] == "trading.get0"
    assert orders["tags"] == ["trading"]
    assert orders["security"] == [{"bearer": []}, {"apiKey": []}]
    assert merged["paths"]["/api/v1/auth/login"]["get"]["security"] == []
    assert merged["info"]["x-argosy-unavailable"] == ["risk"]
    assert "risk" in merged["info"]["description"]
    assert set(merged["components"]["securitySchemes"]) == {"bearer", "apiKey"}
