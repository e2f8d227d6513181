"""Addresses are checked when saved; webhook URLs never point inside the network."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.addresses import (
    check_email,
    check_locale,
    check_phone,
    check_telegram_chat,
    check_timezone,
    check_webhook_url,
    mask_address,
)


def test_email() -> None:
    assert check_email(" Alice@Example.COM ") == "Alice@example.com"
    for bad in ("alice", "a@b", "a b@example.com", "a@exa mple.com", "<a@example.com>",
                "a@example..com", "a@" + "x" * 250 + ".com"):
        with pytest.raises(Invalid) as err:
            check_email(bad)
        assert err.value.field == "email"


def test_e164_phone_numbers_only() -> None:
    assert check_phone("+4915112345678") == "+4915112345678"
    for bad in ("015112345678", "+49 151 12345678", "+0123456789", "+12", "+1234567890123456"):
        with pytest.raises(Invalid) as err:
            check_phone(bad)
        assert err.value.field == "phone"


def test_telegram_chat_locale_timezone() -> None:
    assert check_telegram_chat("-100123") == "-100123"
    assert check_telegram_chat("@argosy_alerts") == "@argosy_alerts"
    with pytest.raises(Invalid):
        check_telegram_chat("not a chat")
    assert check_locale("zh-CN") == "zh-CN"
    with pytest.raises(Invalid):
        check_locale("chinese")
    assert check_timezone("Asia/Shanghai") == "Asia/Shanghai"
    with pytest.raises(Invalid):
        check_timezone("Mars/Olympus")


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.1.2.3/x",
    "https://[::1]/x", "https://169.254.169.254/latest/meta-data", "https://localhost/x",
    "https://db.internal/x", "https://user:pw@hooks.example.com/x", "ftp://hooks.example.com",
    "https://[::ffff:127.0.0.1]/x", "https://intranet/x", "https://h.example.com:99999/",
])
def test_webhook_urls_refuse_private_targets_plain_http_and_credentials(url: str) -> None:
    with pytest.raises(Invalid) as err:
        check_webhook_url(url)
    assert err.value.field == "webhook_url"


def test_webhook_url_allowances() -> None:
    assert check_webhook_url("https://hooks.example.com/a?b=c")
    assert check_webhook_url("https://8.8.8.8/x")
    assert check_webhook_url("http://127.0.0.1:9/x", allow_private=True, allow_http=True)


def test_masking() -> None:
    assert mask_address("email", "alice@example.com") == "al…@example.com"
    assert mask_address("sms", "+4915112345678") == "+49…78"
    assert mask_address("push", "https://fcm.googleapis.com/fcm/send/abc") == (
        "https://fcm.googleapis.com/…")
