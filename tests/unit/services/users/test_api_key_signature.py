"""The verdict on a signed API-key request: window, IP allow-list, expiry, signature."""

from __future__ import annotations

import pytest

from argosy.contracts.v1.identity import SIGNATURE_WINDOW_MS, ApiKeyGrant, sign_request
from argosy.kernel.errors import Invalid
from argosy.services.users.domain.api_keys import (
    SignedRequest,
    check_cidrs,
    check_scopes,
    ip_allowed,
    verify_signed_request,
)

NOW = 1_800_000_000_000
SECRET = "s" * 43
NONCE = "n0nce-0123456789abcdef"


def grant(**kw: object) -> ApiKeyGrant:
    base: dict[str, object] = {"key_id": "ak_1", "secret": SECRET, "user_id": "usr_1",
                               "org": "org_1", "permissions": ["orders:read"]}
    base.update(kw)
    return ApiKeyGrant.model_validate(base)


def signed(ts: int = NOW, body: bytes = b'{"a":1}', query: str = "b=2&a=1",
           secret: str = SECRET, nonce: str = NONCE) -> SignedRequest:
    sig = sign_request(secret, "POST", "/api/v1/orders", query, body, ts, nonce)
    return SignedRequest("POST", "/api/v1/orders", query, body, str(ts), nonce, sig)


def test_a_correct_request_is_accepted_and_query_order_does_not_matter() -> None:
    req = signed()
    assert verify_signed_request(grant(), req, now_ms=NOW, client_ip="1.2.3.4").ok
    reordered = SignedRequest(req.method, req.path, "a=1&b=2", req.body, req.timestamp,
                              req.nonce, req.signature)
    assert verify_signed_request(grant(), reordered, now_ms=NOW, client_ip="1.2.3.4").ok


@pytest.mark.parametrize(("offset", "ok"), [
    (0, True), (SIGNATURE_WINDOW_MS, True), (-SIGNATURE_WINDOW_MS, True),
    (SIGNATURE_WINDOW_MS + 1, False), (-SIGNATURE_WINDOW_MS - 1, False), (60_000, False),
])
def test_the_five_second_window(offset: int, ok: bool) -> None:
    v = verify_signed_request(grant(), signed(ts=NOW + offset), now_ms=NOW, client_ip="1.2.3.4")
    assert v.ok is ok
    assert v.reason == ("ok" if ok else "outside_window")


def test_tampering_with_anything_signed_is_refused() -> None:
    req = signed()
    for changed in (
        SignedRequest("GET", req.path, req.query, req.body, req.timestamp, req.nonce,
                      req.signature),
        SignedRequest(req.method, "/api/v1/other", req.query, req.body, req.timestamp, req.nonce,
                      req.signature),
        SignedRequest(req.method, req.path, "a=1&b=3", req.body, req.timestamp, req.nonce,
                      req.signature),
        SignedRequest(req.method, req.path, req.query, b'{"a":2}', req.timestamp, req.nonce,
                      req.signature),
        SignedRequest(req.method, req.path, req.query, req.body, str(NOW + 1), req.nonce,
                      req.signature),
        SignedRequest(req.method, req.path, req.query, req.body, req.timestamp,
                      "another-nonce-12345", req.signature),
    ):
        v = verify_signed_request(grant(), changed, now_ms=NOW, client_ip="1.2.3.4")
        assert (v.ok, v.reason) == (False, "bad_signature")
    wrong_key = signed(secret="t" * 43)
    assert verify_signed_request(grant(), wrong_key, now_ms=NOW, client_ip="1.2.3.4").reason \
        == "bad_signature"


def test_ip_allow_list_expiry_and_malformed_headers() -> None:
    g = grant(allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    assert verify_signed_request(g, signed(), now_ms=NOW, client_ip="10.1.2.3").ok
    assert verify_signed_request(g, signed(), now_ms=NOW, client_ip="::ffff:10.1.2.3").ok
    assert verify_signed_request(g, signed(), now_ms=NOW, client_ip="2001:db8::1").ok
    assert verify_signed_request(g, signed(), now_ms=NOW, client_ip="11.0.0.1").reason \
        == "ip_not_allowed"
    assert verify_signed_request(g, signed(), now_ms=NOW, client_ip="garbage").reason \
        == "ip_not_allowed"
    expired = grant(expires_at_ms=NOW)
    assert verify_signed_request(expired, signed(), now_ms=NOW, client_ip="1.1.1.1").reason \
        == "key_expired"
    bad_ts = SignedRequest("POST", "/", "", b"", "soon", NONCE, "0" * 64)
    assert verify_signed_request(grant(), bad_ts, now_ms=NOW, client_ip="1.1.1.1").reason \
        == "bad_timestamp"
    short_nonce = signed(nonce="short")
    assert verify_signed_request(grant(), short_nonce, now_ms=NOW, client_ip="1.1.1.1").reason \
        == "bad_nonce"


def test_scopes_and_cidrs_are_validated() -> None:
    owner = frozenset({"orders:read", "orders:write"})
    assert check_scopes(["orders:write", "orders:read", "orders:read"], owner) == [
        "orders:read", "orders:write"]
    with pytest.raises(Invalid, match="unknown"):
        check_scopes(["orders:delete"], owner)
    with pytest.raises(Invalid, match="do not hold"):
        check_scopes(["users:admin"], owner)
    with pytest.raises(Invalid):
        check_scopes([], owner)
    assert check_cidrs(["10.0.0.0/8", "192.168.1.7"]) == ["10.0.0.0/8", "192.168.1.7/32"]
    with pytest.raises(Invalid) as err:
        check_cidrs(["10.0.0.0/8", "10.0.0.1/8"])
    assert err.value.field == "allowed_ips.1"
    assert ip_allowed("8.8.8.8", [])
