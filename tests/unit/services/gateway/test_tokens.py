"""Access-token checks: the honest token passes, every listed attack fails."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from argosy.contracts.v1.identity import AccessClaims
from argosy.kernel.errors import Unauthorized
from argosy.services.gateway.domain.tokens import (
    check_claims,
    check_header,
    parse_jwks,
    split_jws,
    verify_signature,
)
from tests.unit.services.gateway._forge import SigningKey, attacks, b64, claims, jwks


def _verifier(raw: bytes) -> Callable[[bytes, bytes], bool]:
    key = Ed25519PublicKey.from_public_bytes(raw)

    def verify(sig: bytes, data: bytes) -> bool:
        try:
            key.verify(sig, data)
        except InvalidSignature:
            return False
        return True

    return verify


def full_check(token: str, keyset: dict[str, bytes], now: float | None = None) -> AccessClaims:
    """What the gateway does, minus the network: shape, header, key, signature, claims."""
    jws = split_jws(token)
    kid = check_header(jws.header)
    if kid not in keyset:
        raise Unauthorized("token signed by an unknown key")
    verify_signature(jws, _verifier(keyset[kid]))
    return check_claims(jws.claims, time.time() if now is None else now)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey()


def test_honest_token_passes(key: SigningKey) -> None:
    parsed = full_check(key.token(), parse_jwks(jwks(key)))
    assert (parsed.sub, parsed.org, parsed.sid, parsed.typ) == ("u-alice", "org-1", "s-1",
                                                                 "access")
    assert "orders:write" in parsed.perms


@pytest.mark.parametrize("attack", list(attacks(SigningKey(), SigningKey())))
def test_every_attack_is_refused(key: SigningKey, attack: str) -> None:
    token = attacks(key, SigningKey())[attack]
    with pytest.raises(Unauthorized):
        full_check(token, parse_jwks(jwks(key)))


def test_reasons_are_specific(key: SigningKey) -> None:
    forged = attacks(key, SigningKey())
    keyset = parse_jwks(jwks(key))
    for name, phrase in [("alg_none", "algorithm 'none'"), ("hs256_public_key", "HS256"),
                         ("unknown_kid", "unknown key"), ("wrong_key", "signature"),
                         ("tampered", "signature"), ("expired", "expired"),
                         ("future_nbf", "not valid yet"), ("wrong_aud", "audience"),
                         ("wrong_iss", "issuer"), ("refresh_token", "not an access token")]:
        with pytest.raises(Unauthorized, match=phrase):
            full_check(forged[name], keyset)


def test_leeway_allows_small_clock_skew(key: SigningKey) -> None:
    now = time.time()
    keyset = parse_jwks(jwks(key))
    token = key.token(exp=int(now) - 2)
    assert full_check(token, keyset, now).sub == "u-alice"
    with pytest.raises(Unauthorized, match="expired"):
        full_check(token, keyset, now + 10)


def test_header_rules() -> None:
    assert check_header({"alg": "EdDSA", "kid": "k1", "typ": "JWT"}) == "k1"
    for header in ({"alg": "EdDSA"}, {"alg": "EdDSA", "kid": ""},
                   {"alg": "EdDSA", "kid": "k1", "crit": ["exp"]},
                   {"alg": "EdDSA", "kid": "k1", "typ": "JWE"},
                   {"alg": "RS256", "kid": "k1"}, {"alg": "ES256", "kid": "k1"}):
        with pytest.raises(Unauthorized):
            check_header(header)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "###.e30.", "e30.e30", "W10.e30.",
                                   "x" * 9000])
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(Unauthorized, match="malformed"):
        split_jws(token)


def test_claims_need_every_field() -> None:
    now = time.time()
    for missing in ("sub", "org", "sid", "perms", "exp", "nbf", "iat", "jti"):
        with pytest.raises(Unauthorized):
            check_claims(claims(**{missing: None}), now)
    assert check_claims(claims(aud=["other", "argosy"]), now).aud == "argosy"


def test_jwks_keeps_only_ed25519_signing_keys() -> None:
    good = SigningKey()
    doc = {"keys": [
        good.jwk(),
        {**SigningKey().jwk(), "use": "enc"},
        {**SigningKey().jwk(), "alg": "HS256"},
        {"kty": "RSA", "kid": "rsa", "n": "xx", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "kid": "x", "x": b64(b"1" * 32)},
        {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": b64(b"1" * 31)},
        "junk",
    ]}
    assert parse_jwks(doc) == {good.kid: good.public_raw}
    with pytest.raises(ValueError, match="keys"):
        parse_jwks({"nokeys": []})
