"""Webhook signatures as a receiver checks them."""

from __future__ import annotations

import hashlib
import hmac

from argosy.services.notification.domain.signature import sign, verify

SECRET = b"whsec_test"
BODY = b'{"id":"dlv_1"}'


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(SECRET, BODY, header, now_s=1_700_000_100)


def test_tampering_wrong_secret_and_stale_timestamps_fail() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert not verify(SECRET, BODY + b" ", header, now_s=1_700_000_000)
    assert not verify(b"other", BODY, header, now_s=1_700_000_000)
    assert not verify(SECRET, BODY, header, now_s=1_700_000_301)
    moved = header.replace("t=1700000000", "t=1700000200")
    assert not verify(SECRET, BODY, moved, now_s=1_700_000_200)
    assert not verify(SECRET, BODY, "garbage", now_s=1_700_000_000)


def test_several_v1_signatures_any_may_match() -> None:
    good = sign(SECRET, BODY, 5)
    assert verify(SECRET, BODY, f"{good},v1=deadbeef", now_s=5)
