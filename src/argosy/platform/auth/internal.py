"""Identity between Argosy processes.

A caller proves who it is with a short-lived token signed by the platform's internal secret
(generated into the data dir at first start). Services mint tokens for themselves; the
CLI mints operator tokens; the gateway will mint them for users it has verified. Every
service trusts the `x-argosy-identity` header only when its signature checks out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jwt

from argosy.kernel.errors import Forbidden, Unauthorized

__all__ = ["InternalAuth", "Principal"]

_AUDIENCE = "argosy-internal"
_ISSUER = "argosy"
_LEEWAY_S = 5


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str  # "service:risk", "operator:alice", "user:<id>"
    permissions: frozenset[str] = field(default_factory=frozenset)
    org: str | None = None
    session: str | None = None  # the user's session (access token `sid`), when there is one

    @property
    def kind(self) -> str:
        return self.subject.split(":", 1)[0]

    @property
    def service(self) -> str | None:
        return self.subject.split(":", 1)[1] if self.kind == "service" else None

    def allows(self, permission: str) -> bool:
        """`config:write` is granted by `config:write`, `config:*` or `*`."""
        if "*" in self.permissions or permission in self.permissions:
            return True
        area = permission.split(":", 1)[0]
        return f"{area}:*" in self.permissions

    def require(self, permission: str) -> None:
        if not self.allows(permission):
            raise Forbidden(f"{self.subject} lacks permission {permission}")


class InternalAuth:
    def __init__(self, secret: bytes, *, ttl_s: int = 300) -> None:
        if len(secret) < 32:
            raise ValueError("internal secret must be at least 32 bytes")
        self._secret = secret
        self._ttl_s = ttl_s

    def mint(self, principal: Principal, *, ttl_s: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "sub": principal.subject,
            "perm": sorted(principal.permissions),
            "iat": now,
            "nbf": now,
            "exp": now + (ttl_s or self._ttl_s),
            "aud": _AUDIENCE,
            "iss": _ISSUER,
        }
        if principal.org is not None:
            claims["org"] = principal.org
        if principal.session is not None:
            claims["sid"] = principal.session
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("missing identity")
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], audience=_AUDIENCE, issuer=_ISSUER,
                leeway=_LEEWAY_S, options={"require": ["sub", "exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid identity token: {exc}") from None
        perms = claims.get("perm", [])
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise Unauthorized("invalid identity token: bad permissions claim")
        session = claims.get("sid")
        return Principal(
            str(claims["sub"]), frozenset(perms), claims.get("org"),
            str(session) if session is not None else None,
        )
