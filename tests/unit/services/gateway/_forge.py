"""Access tokens for tests: honest ones signed like the users service, and forged ones.

The honest path uses PyJWT with an Ed25519 key, as the users service will; the forgeries
are built by hand, since a library refuses to produce most of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from argosy.contracts.v1.identity import BUILTIN_ROLES


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": "argosy-users", "aud": "argosy", "sub": "u-alice", "org": "org-1",
        "sid": "s-1", "roles": ["trader"], "perms": sorted(BUILTIN_ROLES["trader"]),
        "typ": "access", "iat": now, "nbf": now, "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@dataclass
class SigningKey:
    kid: str = field(default_factory=lambda: f"k-{uuid.uuid4().hex[:8]}")
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(self.public_raw), "kid": self.kid,
                "alg": "EdDSA", "use": "sig"}

    def sign(self, payload: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(payload, self.private, algorithm="EdDSA", headers=headers)

    def token(self, **overrides: Any) -> str:
        return self.sign(claims(**overrides))


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.jwk() for k in keys]}


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    return f"{head}.{body}.{b64(signature)}"


def alg_none(key: SigningKey) -> str:
    return compact({"alg": "none", "typ": "JWT", "kid": key.kid}, claims(), b"")


def hs256_with_public_key(key: SigningKey) -> str:
    """The classic confusion: HMAC keyed with the (public) verification key."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = b64(json.dumps(claims()).encode())
    for secret in (key.public_raw, b64(key.public_raw).encode()):
        sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def tampered(key: SigningKey) -> str:
    """A valid token whose payload was edited (more permissions) after signing."""
    head, _, sig = key.token().split(".")
    body = b64(json.dumps(claims(perms=["*"], roles=["admin"])).encode())
    return f"{head}.{body}.{sig}"


def attacks(key: SigningKey, stranger: SigningKey) -> dict[str, str]:
    """Every token the issue says must be refused, by name."""
    now = int(time.time())
    return {
        "alg_none": alg_none(key),
        "hs256_public_key": hs256_with_public_key(key),
        "unknown_kid": stranger.token(),
        "wrong_key": stranger.sign(claims(), kid=key.kid),
        "expired": key.token(iat=now - 1200, nbf=now - 1200, exp=now - 600),
        "future_nbf": key.token(nbf=now + 600),
        "wrong_aud": key.token(aud="someone-else"),
        "wrong_iss": key.token(iss="evil-issuer"),
        "tampered": tampered(key),
        "refresh_token": key.token(typ="refresh"),
        "id_token_typ": key.token(typ="id"),
        "no_sid": key.token(sid=None),
        "garbage": "not.a.jwt",
    }
