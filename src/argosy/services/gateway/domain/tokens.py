"""Access-token checks (contracts/v1/identity.py), written out rather than delegated.

Why by hand: every classic JWT attack is a library being too helpful (trusting the
token's own `alg`, accepting `none`, using a public key as an HMAC secret). Here the only
algorithm is EdDSA, decided before any key is touched; the signature check itself is a
callable given by the caller (Ed25519 from `cryptography`), so this module stays pure.

Order of checks: shape → header (alg, kid, crit) → signature → claims (iss, aud, typ,
exp, nbf, iat, required fields). Every failure is `Unauthorized` with a short reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from argosy.contracts.v1.identity import ACCESS_AUDIENCE, ISSUER, AccessClaims
from argosy.kernel.errors import Unauthorized

__all__ = [
    "MAX_TOKEN_BYTES",
    "Jws",
    "b64url_decode",
    "check_claims",
    "check_header",
    "parse_jwks",
    "split_jws",
    "verify_signature",
]

MAX_TOKEN_BYTES = 8192
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_KID = re.compile(r"^[A-Za-z0-9._~:-]{1,128}$")
_ED25519_SIG_BYTES = 64
_ED25519_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Jws:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes  # "<b64 header>.<b64 payload>", what the signature covers
    signature: bytes


def b64url_decode(part: str) -> bytes:
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized(f"malformed token: {what} is not JSON") from None
    if not isinstance(value, dict):
        raise Unauthorized(f"malformed token: {what} is not an object")
    return value


def split_jws(token: str) -> Jws:
    """The three parts of a compact JWS, decoded; nothing is trusted yet."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthorized("malformed token: too long")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise Unauthorized("malformed token: not a compact JWS")
    try:
        header_raw, claims_raw, signature = (b64url_decode(p) for p in parts)
    except (ValueError, binascii.Error):
        raise Unauthorized("malformed token: bad base64url") from None
    return Jws(
        _json_object(header_raw, "header"), _json_object(claims_raw, "payload"),
        f"{parts[0]}.{parts[1]}".encode("ascii"), signature,
    )


def check_header(header: Mapping[str, Any]) -> str:
    """EdDSA with a key id, nothing else; returns the kid."""
    alg = header.get("alg")
    if alg != "EdDSA":
        raise Unauthorized(f"token algorithm {alg!r} is not accepted")
    if "crit" in header:
        raise Unauthorized("token has critical header parameters we do not understand")
    if header.get("typ", "JWT") not in ("JWT", "at+jwt"):
        raise Unauthorized("token header typ is not JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not _KID.match(kid):
        raise Unauthorized("token has no usable key id")
    return kid


def verify_signature(jws: Jws, verify: Callable[[bytes, bytes], bool]) -> None:
    """`verify(signature, signing_input)` is the Ed25519 check of the token's key."""
    if len(jws.signature) != _ED25519_SIG_BYTES or not verify(jws.signature, jws.signing_input):
        raise Unauthorized("token signature does not verify")


def check_claims(claims: Mapping[str, Any], now_s: float, leeway_s: float = 5.0) -> AccessClaims:
    """An access token of this issuer for this audience, valid now."""
    if claims.get("iss") != ISSUER:
        raise Unauthorized("token issuer is not accepted")
    aud = claims.get("aud")
    if aud != ACCESS_AUDIENCE and not (isinstance(aud, list) and ACCESS_AUDIENCE in aud):
        raise Unauthorized("token audience is not accepted")
    if claims.get("typ") != "access":
        raise Unauthorized("not an access token")
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unauthorized(f"token claim {name} is missing or not a number")
    if now_s >= claims["exp"] + leeway_s:
        raise Unauthorized("token expired")
    if claims["nbf"] > now_s + leeway_s:
        raise Unauthorized("token not valid yet")
    if claims["iat"] > now_s + leeway_s:
        raise Unauthorized("token issued in the future")
    try:
        parsed = AccessClaims.model_validate({**claims, "aud": ACCESS_AUDIENCE})
    except ValueError:  # pydantic's ValidationError: the contract's model says no
        raise Unauthorized("token claims are incomplete or malformed") from None
    if not all(isinstance(p, str) for p in parsed.perms) or not parsed.sub or not parsed.sid:
        raise Unauthorized("token claims are incomplete")
    return parsed


def parse_jwks(document: Any) -> dict[str, bytes]:
    """kid → raw Ed25519 public key, for every usable signing key; others are skipped."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWKS is an object with a `keys` list")
    keys: dict[str, bytes] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping):
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("alg", "EdDSA") != "EdDSA" or jwk.get("use", "sig") != "sig":
            continue
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not _KID.match(kid) or not isinstance(x, str):
            continue
        try:
            raw = b64url_decode(x)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == _ED25519_KEY_BYTES:
            keys[kid] = raw
    return keys
