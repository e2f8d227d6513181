"""Signed API-key requests: headers, window, signature, grant rules, nonce keys."""

from __future__ import annotations

import pytest

from argosy.contracts.v1.identity import ApiKeyGrant, canonical_request, sign_request
from argosy.kernel.errors import Unauthorized
from argosy.services.gateway.domain.addresses import client_address, parse_networks
from argosy.services.gateway.domain.signing import (
    NONCE_TTL_S,
    SignedHeaders,
    check_grant,
    check_window,
    ip_allowed,
    nonce_key,
    parse_signed_headers,
    signature_matches,
)

SECRET = "s3cret-of-the-key"
NOW = 1_700_000_000_000
NONCE = "n0nce-0123456789ab"


def headers(**overrides: str | None) -> dict[str, str]:
    base = {"x-argosy-key": "key_abc1", "x-argosy-timestamp": str(NOW),
            "x-argosy-nonce": NONCE, "x-argosy-signature": "0" * 64}
    base.update(overrides)  # type: ignore[arg-type]
    return {k: v for k, v in base.items() if v is not None}


def test_canonical_request_sorts_query_and_hashes_body() -> None:
    a = canonical_request("post", "/api/v1/orders", "b=2&a=1", b'{"q":1}', NOW, NONCE)
    b = canonical_request("POST", "/api/v1/orders", "a=1&b=2", b'{"q":1}', NOW, NONCE)
    assert a == b
    lines = a.split("\n")
    assert lines[0] == "POST"
    assert lines[2] == "a=1&b=2"
    assert len(lines[3]) == 64


def test_parse_headers() -> None:
    assert parse_signed_headers({}.get) is None
    parsed = parse_signed_headers(headers().get)
    assert parsed == SignedHeaders("key_abc1", NOW, NONCE, "0" * 64)


@pytest.mark.parametrize(("override", "message"), [
    ({"x-argosy-nonce": None}, "lacks x-argosy-nonce"),
    ({"x-argosy-signature": None, "x-argosy-timestamp": None}, "lacks"),
    ({"x-argosy-key": "k"}, "key id"),
    ({"x-argosy-timestamp": "soon"}, "timestamp"),
    ({"x-argosy-nonce": "short"}, "nonce"),
    ({"x-argosy-nonce": "has spaces in it ok?"}, "nonce"),
    ({"x-argosy-signature": "Z" * 64}, "signature"),
])
def test_malformed_headers(override: dict[str, str | None], message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        parse_signed_headers(headers(**override).get)


@pytest.mark.parametrize(("delta", "ok"), [(0, True), (5000, True), (-5000, True),
                                            (5001, False), (-5001, False), (60_000, False)])
def test_window_is_plus_minus_five_seconds(delta: int, ok: bool) -> None:
    if ok:
        check_window(NOW + delta, NOW)
    else:
        with pytest.raises(Unauthorized, match="window"):
            check_window(NOW + delta, NOW)


def test_signature_over_every_part_of_the_request() -> None:
    sig = sign_request(SECRET, "POST", "/api/v1/orders", "a=1", b"{}", NOW, NONCE)
    signed = SignedHeaders("key_abc1", NOW, NONCE, sig)
    assert signature_matches(SECRET, signed, "POST", ["/api/v1/orders"], "a=1", b"{}")
    for method, path, query, body in [("GET", "/api/v1/orders", "a=1", b"{}"),
                                      ("POST", "/api/v1/orders/1", "a=1", b"{}"),
                                      ("POST", "/api/v1/orders", "a=2", b"{}"),
                                      ("POST", "/api/v1/orders", "a=1", b"{ }")]:
        assert not signature_matches(SECRET, signed, method, [path], query, body)
    assert not signature_matches("other", signed, "POST", ["/api/v1/orders"], "a=1", b"{}")
    other_nonce = SignedHeaders("key_abc1", NOW, "x" * 16, sig)
    assert not signature_matches(SECRET, other_nonce, "POST", ["/api/v1/orders"], "a=1", b"{}")


def test_signature_accepts_either_path_spelling() -> None:
    sig = sign_request(SECRET, "GET", "/api/v1/market/BTC%2FUSDT", "", b"", NOW, NONCE)
    signed = SignedHeaders("key_abc1", NOW, NONCE, sig)
    assert signature_matches(SECRET, signed, "GET",
                             ["/api/v1/market/BTC%2FUSDT", "/api/v1/market/BTC/USDT"], "", b"")


def test_grant_expiry_and_allow_list() -> None:
    grant = ApiKeyGrant(key_id="key_abc1", secret=SECRET, user_id="u1", org="o1",
                        permissions=["orders:read"], allowed_ips=["10.0.0.0/8", "::1/128"],
                        expires_at_ms=NOW + 1000)
    check_grant(grant, ip="10.1.2.3", now_ms=NOW)
    check_grant(grant, ip="::1", now_ms=NOW)
    with pytest.raises(Unauthorized, match="address"):
        check_grant(grant, ip="192.168.1.1", now_ms=NOW)
    with pytest.raises(Unauthorized, match="expired"):
        check_grant(grant, ip="10.1.2.3", now_ms=NOW + 1000)
    assert ip_allowed("anything", [])
    assert not ip_allowed("not-an-ip", ["0.0.0.0/0"])
    assert not ip_allowed("10.0.0.1", ["garbage"])


def test_nonce_is_remembered_longer_than_the_window() -> None:
    assert NONCE_TTL_S > 2 * 5
    assert nonce_key("k1", NONCE) == f"nonce:k1:{NONCE}"


def test_client_address_trusts_forwarded_for_only_from_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8"])
    assert client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"
    assert client_address("10.0.0.2", "1.2.3.4", proxies) == "1.2.3.4"
    assert client_address("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.3", proxies) == "1.2.3.4"
    assert client_address("10.0.0.2", "junk", proxies) == "10.0.0.2"
    assert client_address("10.0.0.2", "1.2.3.4", []) == "10.0.0.2"
    assert client_address(None, None, proxies) == "unknown"
