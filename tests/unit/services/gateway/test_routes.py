"""Route table: matching by whole segments, permissions per method, the live document."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.gateway.domain.routes import (
    DEFAULT_ROUTES,
    ROUTES_SCHEMA,
    RouteTable,
    build_table,
    safe_path,
)


@pytest.fixture
def table() -> RouteTable:
    return build_table(None)


@pytest.mark.parametrize(("path", "service"), [
    ("/api/v1/orders", "trading"),
    ("/api/v1/orders/", "trading"),
    ("/api/v1/orders/42/cancel", "trading"),
    ("/api/v1/positions", "trading"),
    ("/api/v1/market/candles", "market-data"),
    ("/api/v1/auth/login", "users"),
    ("/.well-known/jwks.json", "users"),
    ("/api/v1/backtests/7", "strategy"),
    ("/api/v1/alerts", "notification"),
    ("/api/v1/config/documents", "config"),
    ("/api/v1/analytics/report", "analytics"),
    ("/api/v1/risk/limits", "risk"),
])
def test_prefixes_route_to_their_owner(table: RouteTable, path: str, service: str) -> None:
    assert table.owner(path) == service


@pytest.mark.parametrize("path", ["/api/v1/ordersx", "/api/v1", "/", "/internal/runtime",
                                  "/api/v2/orders", "/healthz"])
def test_no_route_outside_whole_segment_prefixes(table: RouteTable, path: str) -> None:
    assert table.match(path) is None


def test_longest_prefix_wins() -> None:
    table = build_table({"routes": [
        {"prefix": "/api/v1/orders/bulk", "service": "risk", "timeout_s": 1}]})
    assert table.owner("/api/v1/orders/bulk/3") == "risk"
    assert table.owner("/api/v1/orders/3") == "trading"


def test_permissions_per_method(table: RouteTable) -> None:
    orders = table.match("/api/v1/orders")
    assert orders is not None
    assert orders.permission_for("GET") == "orders:read"
    assert orders.permission_for("head") == "orders:read"
    assert orders.permission_for("POST") == "orders:write"
    assert orders.permission_for("DELETE") == "orders:write"
    login = table.match("/api/v1/auth/login")
    assert login is not None
    assert login.auth == "public"
    assert login.permission_for("POST") is None
    method_specific = build_table({"routes": [{"prefix": "/api/v1/orders", "permissions": {
        "read": "orders:read", "write": "orders:write", "delete": "risk:admin"}}]})
    route = method_specific.match("/api/v1/orders/1")
    assert route is not None
    assert route.permission_for("DELETE") == "risk:admin"
    assert route.permission_for("PATCH") == "orders:write"


def test_retries_only_for_idempotent_methods(table: RouteTable) -> None:
    route = table.match("/api/v1/orders")
    assert route is not None
    assert [route.retries_for(m) for m in ("GET", "PUT", "DELETE", "POST", "PATCH")] == [
        1, 1, 1, 0, 0]


def test_document_merges_over_defaults_and_removes() -> None:
    table = build_table({
        "routes": [
            {"prefix": "/api/v1/orders", "timeout_s": 2.5, "retries": 0},
            {"prefix": "/api/v1/alerts", "enabled": False},
            {"prefix": "/api/v1/legacy", "service": "trading", "deprecated": True,
             "deprecated_at": "2026-01-01T00:00:00Z", "sunset_at": 1893456000,
             "link": "https://docs.example/migrate"},
        ],
        "upstreams": {"trading": ["http://t1:8082/", "http://t2:8082"]},
        "balancer": "least_connections",
    }, version=7)
    orders = table.match("/api/v1/orders")
    assert orders is not None
    assert (orders.timeout_s, orders.retries, orders.service) == (2.5, 0, "trading")
    assert orders.permission_for("POST") == "orders:write"  # kept from the default
    assert table.match("/api/v1/alerts") is None
    assert table.upstreams["trading"] == ("http://t1:8082", "http://t2:8082")
    assert (table.balancer, table.version) == ("least_connections", 7)
    legacy = table.match("/api/v1/legacy/x")
    assert legacy is not None
    headers = dict(legacy.lifecycle_headers())
    assert headers["deprecation"] == "@1767225600"
    assert headers["sunset"] == "Tue, 01 Jan 2030 00:00:00 GMT"
    assert legacy.version == "v1"
    assert not legacy.is_sunset(1893455999)
    assert legacy.is_sunset(1893456000)


@pytest.mark.parametrize(("doc", "field"), [
    ({"routes": [{"prefix": "/internal/x", "service": "users"}]}, "routes.0.prefix"),
    ({"routes": [{"prefix": "/ws", "service": "users"}]}, "routes.0.prefix"),
    ({"routes": [{"prefix": "api/v1/x", "service": "users"}]}, "routes.0.prefix"),
    ({"routes": [{"prefix": "/api/../admin", "service": "users"}]}, "routes.0.prefix"),
    ({"routes": [{"prefix": "/api/v1/new"}]}, "routes.0.service"),
    ({"routes": [{"prefix": "/api/v1/new", "service": "gateway"}]}, "routes.0.service"),
    ({"routes": [{"prefix": "/api/v1/orders", "auth": "none"}]}, "routes.0.auth"),
    ({"routes": [{"prefix": "/api/v1/orders", "retries": 9}]}, "routes.0.retries"),
    ({"routes": [{"prefix": "/api/v1/orders", "permissions": {"GET": "all"}}]},
     "routes.0.permissions.GET"),
    ({"upstreams": {"trading": []}}, "upstreams.trading"),
    ({"upstreams": {"nope": ["http://x"]}}, "upstreams.nope"),
    ({"balancer": "random"}, "balancer"),
])
def test_bad_documents_name_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as err:
        build_table(doc)
    assert err.value.field == field


@pytest.mark.parametrize(("path", "ok"), [
    ("/api/v1/orders", True), ("/api/v1/orders/", True), ("/api/v1/orders/../admin", False),
    ("/api/v1//orders", False), ("/api/v1/./orders", False), ("api/v1", False),
])
def test_safe_path(path: str, ok: bool) -> None:
    assert safe_path(path) is ok


def test_schema_accepts_what_build_table_accepts() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = {"routes": [{"prefix": "/api/v1/orders", "timeout_s": 3, "deprecated": True,
                       "sunset_at": "2030-01-01T00:00:00Z",
                       "permissions": {"read": "orders:read", "POST": "orders:write"}}],
           "upstreams": {"trading": ["http://a:1"]}, "balancer": "round_robin"}
    jsonschema.validate(doc, ROUTES_SCHEMA)
    build_table(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"routes": [{"prefix": "/x", "service": "gateway"}]}, ROUTES_SCHEMA)
    assert len({r.prefix for r in DEFAULT_ROUTES}) == len(DEFAULT_ROUTES)
