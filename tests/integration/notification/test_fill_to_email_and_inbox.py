"""A fill becomes an email (read back from a real SMTP server) and an in-app message."""

from __future__ import annotations

import pytest

from tests.integration.notification._harness import NotifyHarness
from tests.integration.notification._servers import SmtpSink

pytestmark = pytest.mark.integration


async def test_fill_produces_an_email_and_an_in_app_message(
    notify_any_db: NotifyHarness, smtp: SmtpSink,
) -> None:
    h = notify_any_db
    alice = h.user()
    await h.prefs(alice, email="alice@example.com", events={"order_filled": ["email", "inapp"]})
    await h.publish("trading.fill.acc_1", h.fill(alice, price="67250.5", quantity="0.5"))
    [mail] = await smtp.wait(1)
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "Filled: buy 0.5 BTC-USDT.binance @ 67250.5"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "BUY 0.5 BTC-USDT.binance at 67250.5" in text
    assert "<code>ord_1</code>" in html
    delivery_id = mail["X-Argosy-Delivery"]

    inbox = (await h.call("GET", "/api/v1/notifications", alice)).json()
    assert inbox["unread"] == 1
    [item] = inbox["items"]
    assert item["title"] == "Filled: buy 0.5 BTC-USDT.binance @ 67250.5"
    assert item["data"]["fill_id"]
    await h.wait_for(lambda: len(h.inapp(alice)) == 1)
    assert h.inapp(alice)[0]["id"] == item["id"]

    states = await h.settled(alice, 2)
    assert sorted((d["channel"], d["state"]) for d in states) == [
        ("email", "sent"), ("inapp", "delivered")]
    assert any(d["id"] == delivery_id for d in states)

    r = await h.call("POST", f"/api/v1/notifications/{item['id']}/read", alice)
    assert r.status_code == 200
    assert r.json()["read"] is True
    unread = (await h.call("GET", "/api/v1/notifications", alice, params={"unread": True})).json()
    assert unread == {"items": [], "next_cursor": None, "unread": 0}
