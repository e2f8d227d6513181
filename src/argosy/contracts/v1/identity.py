"""Identity on the wire: what the users service issues and the gateway verifies.

Access tokens are EdDSA (Ed25519) JWTs signed by the users service, published as a JWKS at
`GET /.well-known/jwks.json` (users service, proxied by the gateway). The gateway verifies
them locally, then calls upstream services with an internal identity token
(`x-argosy-identity`, platform/auth/internal.py) naming `user:<id>`, the organisation and
the permissions from the access token. Upstreams trust only that header.

Programs use API keys instead: every request is signed with HMAC-SHA256 over the canonical
string below, and the gateway checks the signature, the ±5 s window and the nonce.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal
from urllib.parse import parse_qsl, quote

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ACCESS_AUDIENCE",
    "API_KEY_HEADER",
    "API_NONCE_HEADER",
    "API_SIGNATURE_HEADER",
    "API_TIMESTAMP_HEADER",
    "BUILTIN_ROLES",
    "ISSUER",
    "PERMISSIONS",
    "SIGNATURE_WINDOW_MS",
    "AccessClaims",
    "ApiKeyGrant",
    "canonical_request",
    "sign_request",
]

ISSUER: Literal["argosy-users"] = "argosy-users"
ACCESS_AUDIENCE: Literal["argosy"] = "argosy"

API_KEY_HEADER = "x-argosy-key"
API_TIMESTAMP_HEADER = "x-argosy-timestamp"  # milliseconds since the epoch, UTC
API_NONCE_HEADER = "x-argosy-nonce"  # 16-64 characters, never reused
API_SIGNATURE_HEADER = "x-argosy-signature"  # lowercase hex HMAC-SHA256
SIGNATURE_WINDOW_MS = 5_000

#: every permission the platform knows; custom roles are sets of these
PERMISSIONS: tuple[str, ...] = (
    "orders:read", "orders:write",
    "accounts:read", "accounts:write",
    "market:read", "market:admin",
    "strategies:read", "strategies:write", "strategies:run",
    "risk:read", "risk:admin",
    "notifications:read", "notifications:write", "notifications:admin",
    "analytics:read",
    "config:read", "config:write",
    "users:admin", "audit:read", "kyc:review",
)

BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "trader": frozenset({
        "orders:read", "orders:write", "accounts:read", "accounts:write", "market:read",
        "strategies:read", "strategies:write", "strategies:run", "risk:read",
        "notifications:read", "notifications:write", "analytics:read",
    }),
    "viewer": frozenset({
        "orders:read", "accounts:read", "market:read", "strategies:read", "risk:read",
        "notifications:read", "analytics:read",
    }),
    "auditor": frozenset({"audit:read", "orders:read", "accounts:read", "risk:read"}),
}


class AccessClaims(BaseModel):
    """Claims of an access token (JWT header: alg=EdDSA, kid=<key id>, typ=JWT)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    iss: Literal["argosy-users"] = ISSUER
    aud: Literal["argosy"] = ACCESS_AUDIENCE
    sub: str = Field(description="User id.")
    org: str = Field(description="Organisation (tenant) id.")
    sid: str = Field(description="Session id; logout and revocation act on it.")
    roles: list[str]
    perms: list[str] = Field(description="Permissions resolved from the roles at issue time.")
    typ: Literal["access"] = "access"
    iat: int
    nbf: int
    exp: int
    jti: str


class ApiKeyGrant(BaseModel):
    """What the users service tells the gateway about an API key (internal call only)."""

    key_id: str
    secret: str = Field(description="The HMAC secret; lives only in the gateway's memory.")
    user_id: str
    org: str
    permissions: list[str] = Field(description="The key's scopes ∩ its owner's permissions.")
    allowed_ips: list[str] = Field(default_factory=list, description="CIDRs; empty = any.")
    expires_at_ms: int | None = None


def canonical_request(
    method: str, path: str, query: str, body: bytes, timestamp_ms: int, nonce: str
) -> str:
    """METHOD \\n path \\n sorted query \\n sha256(body) hex \\n timestamp \\n nonce."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    return "\n".join([
        method.upper(), path, canonical_query, hashlib.sha256(body).hexdigest(),
        str(timestamp_ms), nonce,
    ])


def sign_request(
    secret: str, method: str, path: str, query: str, body: bytes, timestamp_ms: int, nonce: str
) -> str:
    message = canonical_request(method, path, query, body, timestamp_ms, nonce)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
