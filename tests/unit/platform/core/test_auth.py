"""Internal identity tokens: round trip, every way a token can be wrong, permission wildcards."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from argosy.kernel.errors import Forbidden, Unauthorized
from argosy.platform.auth import InternalAuth, Principal

SECRET = b"k" * 32
OTHER = b"o" * 32


@pytest.fixture
def auth() -> InternalAuth:
    return InternalAuth(SECRET)


def claims(**override: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "service:risk", "perm": ["config:read"], "iat": now, "nbf": now,
        "exp": now + 60, "aud": "argosy-internal", "iss": "argosy",
    }
    base.update(override)
    return {k: v for k, v in base.items() if v is not None}


def test_round_trip_keeps_subject_permissions_and_org(auth: InternalAuth) -> None:
    p = Principal("user:u-42", frozenset({"orders:write", "config:read"}), org="acme")
    back = auth.verify(auth.mint(p))
    assert back == p
    assert (back.kind, back.service) == ("user", None)
    service = auth.verify(auth.mint(Principal("service:market-data")))
    assert (service.kind, service.service, service.permissions) == (
        "service", "market-data", frozenset()
    )


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        InternalAuth(b"short")


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c"])
def test_missing_or_garbage_token(auth: InternalAuth, token: str | None) -> None:
    with pytest.raises(Unauthorized):
        auth.verify(token)


def test_expired(auth: InternalAuth) -> None:
    now = int(time.time())
    token = jwt.encode(claims(iat=now - 120, nbf=now - 120, exp=now - 60), SECRET, "HS256")
    with pytest.raises(Unauthorized, match="expired"):
        auth.verify(token)


def test_expiry_inside_the_leeway_is_accepted(auth: InternalAuth) -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 2), SECRET, "HS256")
    assert auth.verify(token).subject == "service:risk"


def test_not_yet_valid(auth: InternalAuth) -> None:
    later = int(time.time()) + 120
    token = jwt.encode(claims(nbf=later, iat=later - 1, exp=later + 60), SECRET, "HS256")
    with pytest.raises(Unauthorized, match="not yet valid"):
        auth.verify(token)


def test_wrong_secret(auth: InternalAuth) -> None:
    token = InternalAuth(OTHER).mint(Principal("service:risk", frozenset({"*"})))
    with pytest.raises(Unauthorized, match=r"[Ss]ignature"):
        auth.verify(token)


@pytest.mark.parametrize(("field", "value"), [("aud", "someone-else"), ("iss", "evil")])
def test_wrong_audience_or_issuer(auth: InternalAuth, field: str, value: str) -> None:
    token = jwt.encode(claims(**{field: value}), SECRET, "HS256")
    with pytest.raises(Unauthorized):
        auth.verify(token)


@pytest.mark.parametrize("missing", ["sub", "exp", "aud", "iss", "iat"])
def test_required_claims(auth: InternalAuth, missing: str) -> None:
    token = jwt.encode(claims(**{missing: None}), SECRET, "HS256")
    with pytest.raises(Unauthorized):
        auth.verify(token)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused(auth: InternalAuth) -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(perm=['*']))}."
    with pytest.raises(Unauthorized):
        auth.verify(unsigned)


def test_other_algorithms_are_refused(auth: InternalAuth) -> None:
    token = jwt.encode(claims(), SECRET * 2, "HS512")
    with pytest.raises(Unauthorized, match="alg"):
        auth.verify(token)


def test_tampered_payload(auth: InternalAuth) -> None:
    header, _, signature = auth.mint(Principal("user:bob", frozenset({"orders:read"}))).split(".")
    forged = _b64(claims(sub="user:bob", perm=["*"]))
    with pytest.raises(Unauthorized):
        auth.verify(f"{header}.{forged}.{signature}")


def test_bad_permissions_claim(auth: InternalAuth) -> None:
    token = jwt.encode(claims(perm="config:*"), SECRET, "HS256")
    with pytest.raises(Unauthorized, match="permissions"):
        auth.verify(token)


def test_ttl_is_honoured(auth: InternalAuth) -> None:
    token = auth.mint(Principal("service:risk"), ttl_s=30)
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert decoded["exp"] - decoded["iat"] == 30
    default = jwt.decode(auth.mint(Principal("service:risk")), options={"verify_signature": False})
    assert default["exp"] - default["iat"] == 300


@pytest.mark.parametrize(
    ("granted", "asked", "allowed"),
    [
        ({"config:write"}, "config:write", True),
        ({"config:read"}, "config:write", False),
        ({"config:*"}, "config:write", True),
        ({"config:*"}, "config:secrets:reveal", True),
        ({"config:*"}, "configx:write", False),
        ({"config:*"}, "users:write", False),
        ({"*"}, "anything:at:all", True),
        (set(), "config:read", False),
        ({"con*"}, "config:read", False),
    ],
)
def test_permission_wildcards(granted: set[str], asked: str, allowed: bool) -> None:
    p = Principal("operator:alice", frozenset(granted))
    assert p.allows(asked) is allowed
    if allowed:
        p.require(asked)
    else:
        with pytest.raises(Forbidden, match=asked):
            p.require(asked)


def test_permissions_survive_the_token(auth: InternalAuth) -> None:
    back = auth.verify(auth.mint(Principal("operator:alice", frozenset({"config:*"}))))
    assert back.allows("config:write")
    assert not back.allows("users:write")
