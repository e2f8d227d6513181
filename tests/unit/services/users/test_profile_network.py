"""Profile validation, masking and the client address behind the gateway."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.users.domain.network import client_ip
from argosy.services.users.domain.profile import (
    check_locale,
    check_timezone,
    mask_secret,
    normalise_email,
)

LOOPBACK = ("127.0.0.1/32", "::1/128")


def test_email_timezone_locale() -> None:
    assert normalise_email("  Alice@Example.COM ") == "alice@example.com"
    for bad in ("alice", "a@b", "a b@c.de", "@x.io", "a@@x.io"):
        with pytest.raises(Invalid):
            normalise_email(bad)
    assert check_timezone("Europe/Paris") == "Europe/Paris"
    for bad in ("Mars/Olympus", "europe/paris", "../etc/passwd", ""):
        with pytest.raises(Invalid) as err:
            check_timezone(bad)
        assert err.value.field == "timezone"
    for ok in ("en", "en-GB", "zh-Hant-TW", "es-419"):
        assert check_locale(ok) == ok
    for bad in ("english", "en_GB", "EN"):
        with pytest.raises(Invalid):
            check_locale(bad)


def test_masking_never_shows_the_middle() -> None:
    assert mask_secret("AKIAIOSFODNN7EXAMPLE") == "AKIA…MPLE"
    assert mask_secret("short12") == "…12"
    assert mask_secret("abc") == "…"


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    assert client_ip("127.0.0.1", "9.9.9.9", LOOPBACK) == "9.9.9.9"
    assert client_ip("127.0.0.1", "6.6.6.6, 9.9.9.9", LOOPBACK) == "9.9.9.9"
    assert client_ip("127.0.0.1", "9.9.9.9, 127.0.0.1", LOOPBACK) == "9.9.9.9"
    assert client_ip("5.5.5.5", "9.9.9.9", LOOPBACK) == "5.5.5.5"  # spoofed: ignored
    assert client_ip("127.0.0.1", "not-an-ip", LOOPBACK) == "127.0.0.1"
    assert client_ip("127.0.0.1", None, LOOPBACK) == "127.0.0.1"
    assert client_ip(None, "9.9.9.9", LOOPBACK) == "unknown"
