"""The durable queue: outages, restarts, several instances, replays, rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from argosy.platform.settings import PlatformSettings
from tests.integration.notification._harness import NotifyHarness, Person
from tests.integration.notification._servers import HttpRecorder, SmtpSink
from tests.integration.notification.conftest import notification_settings, running

pytestmark = pytest.mark.integration


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_attempts": 100}  # an outage of a few seconds at fast test backoffs


async def _mail_fills(h: NotifyHarness, who: Person, n: int) -> None:
    for i in range(n):
        await h.publish("trading.fill.acc_1", h.fill(who, price=f"{100 + i}"))


async def _all(h: NotifyHarness, who: Person, n: int, pred: Any) -> bool:
    rows = await h.deliveries(who, channel="email")
    return len(rows) == n and all(pred(r) for r in rows)


async def test_smtp_down_for_a_while_then_each_mail_exactly_once_across_two_instances(
    notify_any_db: NotifyHarness, smtp: SmtpSink,
) -> None:
    h1 = notify_any_db
    alice = h1.user()
    await h1.prefs(alice, email="alice@example.com", events={"order_filled": ["email"]})
    smtp.stop()
    await _mail_fills(h1, alice, 20)
    await h1.wait_for(lambda: _all(h1, alice, 20, lambda r: r["attempts"] >= 1
                                   and r["state"] in ("failed", "sending")))
    # a second instance over the same database competes for the retries
    async with running(h1.platform, h1.settings) as h2:
        await h1.wait_for(lambda: _all(h1, alice, 20, lambda r: r["attempts"] >= 2))
        assert smtp.messages == []
        smtp.start()
        mails = await smtp.wait(20, within_s=20)
        await h2.wait_for(lambda: _all(h1, alice, 20, lambda r: r["state"] == "sent"))
    ids = [m["X-Argosy-Delivery"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == 20 == len(mails)
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == sorted(f"Filled: buy 0.5 BTC-USDT.binance @ {100 + i}" for i in range(20))


async def test_a_restart_loses_nothing(platform_settings: PlatformSettings, smtp: SmtpSink,
                                      http: HttpRecorder) -> None:
    settings = notification_settings(smtp.port, http.url, max_attempts=100)
    smtp.stop()
    async with running(platform_settings, settings) as first:
        alice = first.user()
        await first.prefs(alice, email="alice@example.com", events={"order_filled": ["email"]})
        await _mail_fills(first, alice, 3)
        await first.wait_for(lambda: _all(first, alice, 3, lambda r: r["attempts"] >= 1))
    smtp.start()
    async with running(platform_settings, settings) as again:
        await smtp.wait(3)
        await again.wait_for(lambda: _all(again, alice, 3, lambda r: r["state"] == "sent"))
    assert len(smtp.messages) == 3


async def test_a_replayed_event_is_sent_once(notify_any_db: NotifyHarness,
                                             smtp: SmtpSink) -> None:
    h = notify_any_db
    alice = h.user()
    await h.prefs(alice, email="alice@example.com", events={"order_filled": ["email", "inapp"]})
    fill = h.fill(alice)
    for _ in range(3):
        await h.publish("trading.fill.acc_1", fill, msg_id="evt-fill-1")
    await h.settled(alice, 2)
    # even if the processed-message log was purged, the idempotency keys still hold
    await h.sql("DELETE FROM processed_messages")
    await h.publish("trading.fill.acc_1", fill, msg_id="evt-fill-1")
    await h.publish("trading.fill.acc_1", h.fill(alice, price="1"), msg_id="evt-fill-2")
    await smtp.wait(2)
    await h.settled(alice, 4)
    assert sorted(m["Subject"].rsplit(" ", 1)[1] for m in smtp.messages) == ["1", "67250.5"]
    inbox = (await h.call("GET", "/api/v1/notifications", alice)).json()
    assert len(inbox["items"]) == 2
