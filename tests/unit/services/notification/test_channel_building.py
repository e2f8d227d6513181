"""What the channel clients put on the wire, checked without a server."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace

import orjson

from argosy.services.notification.channels._http import resolves_public
from argosy.services.notification.channels.base import Message
from argosy.services.notification.channels.email import build_email
from argosy.services.notification.channels.webhook import webhook_body

MSG = Message(id="dlv_1", channel="email", recipient="bob@example.com",
              subject="成交：buy 1 BTC-USDT.binance", body="第一行\nline two", html="<p>hi</p>",
              event_type="order_filled", severity="info", user_id="usr_1",
              created_ns=1_700_000_000 * 10**9, data={"fill_id": "f1"})


def test_mail_is_multipart_utf8_and_headers_cannot_be_injected() -> None:
    raw = build_email(MSG, "Argosy Alerts <alerts@argosy.example.com>").as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == MSG.subject
    assert parsed["From"] == "Argosy Alerts <alerts@argosy.example.com>"
    assert parsed["X-Argosy-Delivery"] == "dlv_1"
    assert parsed["Message-ID"] == "<dlv_1@argosy.example.com>"  # stable across attempts
    again = build_email(MSG, "Argosy Alerts <alerts@argosy.example.com>")
    assert again["Message-ID"] == parsed["Message-ID"]
    assert parsed.get_body(("plain",)).get_content().rstrip() == "第一行\nline two"
    assert parsed.get_body(("html",)).get_content().rstrip() == "<p>hi</p>"
    evil = build_email(replace(MSG, subject="Hi\r\nBcc: victim@example.com", html=None),
                       "a@b.io")
    text = evil.as_string()
    assert "\nBcc:" not in text
    assert email.message_from_string(text)["Bcc"] is None


def test_webhook_body_carries_the_event() -> None:
    body = orjson.loads(webhook_body(MSG))
    assert body["id"] == "dlv_1"
    assert body["created_at"] == "2023-11-14T22:13:20.000000000Z"
    assert body["data"] == {"fill_id": "f1"}


async def test_send_time_address_screening() -> None:
    assert not await resolves_public("https://localhost/hook")
    assert not await resolves_public("https://127.0.0.1:8443/hook")
    assert await resolves_public("https://8.8.8.8/hook")
