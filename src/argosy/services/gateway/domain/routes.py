"""The route table: which service owns a public path prefix, and what it takes to get there.

Why a table and not code: operators move prefixes, tighten permissions, add instances and
deprecate routes through the config service (`gateway/routes`) while the gateway runs.
The defaults below are the table of a fresh platform; a document is merged over them by
prefix (an entry with `"enabled": false` removes a default), so an operator changes one
route without copying the others.

Matching is by whole path segments, longest prefix first: `/api/v1/orders` owns
`/api/v1/orders/42` but not `/api/v1/ordersx`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any, Literal

from argosy.contracts.services import SERVICES
from argosy.kernel.errors import Invalid

__all__ = [
    "BALANCERS",
    "DEFAULT_ROUTES",
    "IDEMPOTENT_METHODS",
    "METHODS",
    "ROUTES_SCHEMA",
    "AuthMode",
    "Route",
    "RouteTable",
    "build_table",
    "safe_path",
]

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: RFC 9110 §9.2.2: repeating these has the effect of sending them once
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BALANCERS = ("round_robin", "least_connections")
AuthMode = Literal["public", "user"]

_UPSTREAM_SERVICES = tuple(s.name for s in SERVICES if s.name != "gateway")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
_PERMISSION = re.compile(r"^[a-z][a-z0-9_-]*:([a-z][a-z0-9_-]*|\*)$")
_VERSION = re.compile(r"^/api/(v[0-9]+)(/|$)")
# Paths a client may never reach through the gateway, whatever the table says.
_RESERVED = ("/internal", "/healthz", "/readyz", "/metrics", "/ws", "/docs", "/openapi.json")


@dataclass(frozen=True, slots=True)
class Route:
    """One public prefix and how to serve it."""

    prefix: str
    service: str
    auth: AuthMode = "user"
    #: method → permission; "read" covers GET/HEAD/OPTIONS, "write" the others
    permissions: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0
    retries: int = 1  # extra attempts, for idempotent methods only
    deprecated: bool = False
    deprecated_at: int | None = None  # unix seconds
    sunset_at: int | None = None  # unix seconds; after it the route answers 410
    link: str | None = None  # where the migration is documented
    rate: float | None = None  # per-route bucket (requests/s) overriding the default
    burst: float | None = None

    def permission_for(self, method: str) -> str | None:
        method = method.upper()
        if method in self.permissions:
            return self.permissions[method]
        return self.permissions.get("read" if method in _SAFE_METHODS else "write")

    def retries_for(self, method: str) -> int:
        return self.retries if method.upper() in IDEMPOTENT_METHODS else 0

    @property
    def version(self) -> str | None:
        match = _VERSION.match(self.prefix)
        return match.group(1) if match else None

    def is_sunset(self, now_s: float) -> bool:
        return self.sunset_at is not None and now_s >= self.sunset_at

    def lifecycle_headers(self) -> list[tuple[str, str]]:
        """RFC 9745 `Deprecation`, RFC 8594 `Sunset` and their `Link` relations."""
        out: list[tuple[str, str]] = []
        if self.deprecated:
            out.append(("deprecation", f"@{self.deprecated_at}" if self.deprecated_at else "true"))
            if self.link:
                out.append(("link", f'<{self.link}>; rel="deprecation"'))
        if self.sunset_at is not None:
            out.append(("sunset", formatdate(self.sunset_at, usegmt=True)))
            if self.link:
                out.append(("link", f'<{self.link}>; rel="sunset"'))
        return out


def _r(prefix: str, service: str, read: str | None = None, write: str | None = None,
       auth: AuthMode = "user") -> Route:
    perms = {k: v for k, v in (("read", read), ("write", write)) if v}
    return Route(prefix, service, auth, perms)


DEFAULT_ROUTES: tuple[Route, ...] = (
    _r("/api/v1/auth", "users", auth="public"),
    _r("/.well-known/jwks.json", "users", auth="public"),
    _r("/api/v1/users", "users"),
    _r("/api/v1/accounts", "users", "accounts:read", "accounts:write"),
    _r("/api/v1/api-keys", "users"),
    _r("/api/v1/kyc", "users"),
    _r("/api/v1/audit", "users", "audit:read", "audit:read"),
    _r("/api/v1/admin", "users", "users:admin", "users:admin"),
    _r("/api/v1/orders", "trading", "orders:read", "orders:write"),
    _r("/api/v1/positions", "trading", "orders:read", "orders:write"),
    _r("/api/v1/fills", "trading", "orders:read", "orders:write"),
    _r("/api/v1/balances", "trading", "accounts:read", "accounts:write"),
    _r("/api/v1/algos", "trading", "orders:read", "orders:write"),
    _r("/api/v1/market", "market-data", "market:read", "market:admin"),
    _r("/api/v1/strategies", "strategy", "strategies:read", "strategies:write"),
    _r("/api/v1/backtests", "strategy", "strategies:read", "strategies:run"),
    _r("/api/v1/optimizations", "strategy", "strategies:read", "strategies:run"),
    _r("/api/v1/deployments", "strategy", "strategies:read", "strategies:run"),
    _r("/api/v1/models", "strategy", "strategies:read", "strategies:write"),
    _r("/api/v1/risk", "risk", "risk:read", "risk:admin"),
    _r("/api/v1/notifications", "notification", "notifications:read", "notifications:write"),
    # The SMS provider's delivery receipts: no user token, the notification service checks
    # the provider's signature (X-Twilio-Signature) over the public URL instead.
    _r("/api/v1/notifications/sms/status", "notification", auth="public"),
    _r("/api/v1/alerts", "notification", "notifications:read", "notifications:write"),
    _r("/api/v1/analytics", "analytics", "analytics:read", "analytics:read"),
    _r("/api/v1/config", "config", "config:read", "config:write"),
)


def safe_path(path: str) -> bool:
    """No empty, `.` or `..` segments: what we match is what the upstream serves."""
    if not path.startswith("/"):
        return False
    segments = path[1:].split("/")
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash is harmless
    return all(s not in ("", ".", "..") for s in segments)


class RouteTable:
    """Routes by prefix, plus where each service's instances are and how to pick one."""

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        upstreams: Mapping[str, tuple[str, ...]] | None = None,
        balancer: str | None = None,
        version: int = 0,
    ) -> None:
        self.routes = {r.prefix: r for r in routes}
        self.upstreams = dict(upstreams or {})
        self.balancer = balancer  # None: the gateway's setting decides
        self.version = version  # of the config document; 0 = defaults

    def match(self, path: str) -> Route | None:
        """The longest prefix owning `path` by whole segments, or None."""
        parts = path.rstrip("/").split("/")
        for end in range(len(parts), 1, -1):
            route = self.routes.get("/".join(parts[:end]))
            if route is not None:
                return route
        return None

    def owner(self, path: str) -> str | None:
        route = self.match(path)
        return route.service if route else None

    def services(self) -> set[str]:
        return {r.service for r in self.routes.values()}


def build_table(document: Mapping[str, Any] | None, version: int = 0) -> RouteTable:
    """Defaults merged with a `gateway/routes` document; Invalid names the bad field."""
    routes = {r.prefix: r for r in DEFAULT_ROUTES}
    doc = document or {}
    for i, entry in enumerate(doc.get("routes", [])):
        where = f"routes.{i}"
        prefix = _prefix(entry.get("prefix"), f"{where}.prefix")
        if entry.get("enabled", True) is False:
            routes.pop(prefix, None)
            continue
        base = routes.get(prefix)
        routes[prefix] = _route(entry, prefix, base, where)
    upstreams: dict[str, tuple[str, ...]] = {}
    for name, urls in (doc.get("upstreams") or {}).items():
        _service(name, f"upstreams.{name}")
        if not urls or not all(isinstance(u, str) and re.match(r"^https?://[^\s/]+", u)
                               for u in urls):
            raise Invalid("a non-empty list of http(s) URLs", field=f"upstreams.{name}")
        upstreams[name] = tuple(u.rstrip("/") for u in urls)
    balancer = doc.get("balancer")
    if balancer is not None and balancer not in BALANCERS:
        raise Invalid(f"one of {', '.join(BALANCERS)}", field="balancer")
    return RouteTable(routes.values(), upstreams=upstreams, balancer=balancer, version=version)


def _route(entry: Mapping[str, Any], prefix: str, base: Route | None, where: str) -> Route:
    route = base or Route(prefix, _service(entry.get("service"), f"{where}.service"))
    changes: dict[str, Any] = {}
    if "service" in entry:
        changes["service"] = _service(entry["service"], f"{where}.service")
    if "auth" in entry:
        if entry["auth"] not in ("public", "user"):
            raise Invalid("public or user", field=f"{where}.auth")
        changes["auth"] = entry["auth"]
    if "permissions" in entry:
        changes["permissions"] = _permissions(entry["permissions"], f"{where}.permissions")
    for name, low, high in (("timeout_s", 0.05, 300.0), ("rate", 0.001, 1e6),
                            ("burst", 1.0, 1e7)):
        if name in entry:
            value = entry[name]
            if not isinstance(value, int | float) or not low <= value <= high:
                raise Invalid(f"a number in [{low}, {high}]", field=f"{where}.{name}")
            changes[name] = float(value)
    if "retries" in entry:
        if not isinstance(entry["retries"], int) or not 0 <= entry["retries"] <= 5:
            raise Invalid("an integer in [0, 5]", field=f"{where}.retries")
        changes["retries"] = entry["retries"]
    if "deprecated" in entry:
        changes["deprecated"] = bool(entry["deprecated"])
    for name in ("deprecated_at", "sunset_at"):
        if name in entry:
            changes[name] = _timestamp(entry[name], f"{where}.{name}")
    if "link" in entry:
        changes["link"] = entry["link"]
    return replace(route, **changes)


def _prefix(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not _PREFIX.match(value) or not safe_path(value):
        raise Invalid("a path prefix such as /api/v1/orders", field=field_name)
    if any(value == r or value.startswith(r + "/") for r in _RESERVED):
        raise Invalid(f"{value} is reserved for the gateway itself", field=field_name)
    return value


def _service(value: Any, field_name: str) -> str:
    if value not in _UPSTREAM_SERVICES:
        raise Invalid(f"one of {', '.join(_UPSTREAM_SERVICES)}", field=field_name)
    return str(value)


def _permissions(value: Any, field_name: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise Invalid("an object of method → permission", field=field_name)
    out = {}
    for key, perm in value.items():
        name = key if key in ("read", "write") else str(key).upper()
        if name not in ("read", "write", *METHODS):
            raise Invalid("keys: read, write or an HTTP method", field=f"{field_name}.{key}")
        if not isinstance(perm, str) or not _PERMISSION.match(perm):
            raise Invalid("a permission such as orders:write", field=f"{field_name}.{key}")
        out[name] = perm
    return out


def _timestamp(value: Any, field_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
    raise Invalid("unix seconds or an ISO 8601 date-time", field=field_name)


_PERM_SCHEMA = {"type": "string", "pattern": _PERMISSION.pattern}
_WHEN = {"oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"},
                   {"type": "null"}]}
ROUTES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Merged over the built-in table by prefix; enabled=false removes a route.",
    "properties": {
        "routes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["prefix"],
                "additionalProperties": False,
                "properties": {
                    "prefix": {"type": "string", "pattern": _PREFIX.pattern},
                    "service": {"enum": list(_UPSTREAM_SERVICES)},
                    "enabled": {"type": "boolean"},
                    "auth": {"enum": ["public", "user"]},
                    "permissions": {
                        "type": "object",
                        "propertyNames": {"enum": ["read", "write", *METHODS]},
                        "additionalProperties": _PERM_SCHEMA,
                    },
                    "timeout_s": {"type": "number", "minimum": 0.05, "maximum": 300},
                    "retries": {"type": "integer", "minimum": 0, "maximum": 5},
                    "deprecated": {"type": "boolean"},
                    "deprecated_at": _WHEN,
                    "sunset_at": _WHEN,
                    "link": {"type": "string", "format": "uri"},
                    "rate": {"type": "number", "minimum": 0.001},
                    "burst": {"type": "number", "minimum": 1},
                },
            },
        },
        "upstreams": {
            "type": "object",
            "propertyNames": {"enum": list(_UPSTREAM_SERVICES)},
            "additionalProperties": {
                "type": "array", "minItems": 1,
                "items": {"type": "string", "pattern": "^https?://"},
            },
        },
        "balancer": {"enum": list(BALANCERS)},
    },
    "additionalProperties": False,
}
