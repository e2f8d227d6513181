"""Routing through the running service: severity defaults, quiet hours in the user's zone,
digests and de-duplication, driven by the injected clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.notification._harness import NotifyHarness, Person
from tests.integration.notification._servers import HttpRecorder, SmtpSink, json_reply

pytestmark = pytest.mark.integration

ZONE = "Asia/Shanghai"


def _quiet_now(h: NotifyHarness) -> dict[str, str]:
    """A quiet window around the harness clock's now, in the user's zone."""
    now = datetime.fromtimestamp(h.clock.now_ns() / 1e9, ZoneInfo(ZONE))
    return {"start": (now - timedelta(hours=1)).strftime("%H:%M"),
            "end": (now + timedelta(hours=1)).strftime("%H:%M")}


async def _emails(h: NotifyHarness, who: Person) -> list[dict[str, object]]:
    return await h.deliveries(who, channel="email")


async def test_quiet_hours_hold_info_and_let_critical_through_then_release(
    notify_any_db: NotifyHarness, smtp: SmtpSink,
) -> None:
    h = notify_any_db
    alice = h.user()
    await h.prefs(alice, email="alice@example.com", timezone=ZONE, quiet_hours=_quiet_now(h),
                  severity_channels={"info": ["inapp", "email"],
                                     "critical": ["inapp", "email"]})
    await h.publish("risk.alert.info", h.risk(alice, severity="info", message="FYI: margin"))
    await h.publish("risk.alert.critical", h.risk(alice, message="Liquidation risk"))
    [mail] = await smtp.wait(1)
    assert mail["Subject"] == "Risk alert (critical): daily_loss_limit"
    held = next(d for d in await _emails(h, alice) if d["severity"] == "info")
    assert held["state"] == "queued"
    assert held["held_until"] is not None
    inbox = (await h.call("GET", "/api/v1/notifications", alice)).json()["items"]
    assert {i["severity"] for i in inbox} == {"info", "critical"}  # in-app is never held
    await asyncio.sleep(0.3)
    assert len(smtp.messages) == 1
    h.clock.advance(2 * 3600)
    await smtp.wait(2)
    assert smtp.messages[1]["Subject"] == "Risk alert (info): daily_loss_limit"
    await h.settled(alice, 2, channel="email")
    await asyncio.sleep(0.2)
    assert len(smtp.messages) == 2


async def test_held_messages_follow_new_quiet_hours(notify: NotifyHarness,
                                                   smtp: SmtpSink) -> None:
    alice = notify.user()
    base = {"email": "alice@example.com", "timezone": ZONE,
            "severity_channels": {"info": ["email"]}}
    await notify.prefs(alice, **base, quiet_hours=_quiet_now(notify))
    await notify.publish("analytics.report.ready", {
        "org": alice.org, "user_id": alice.id, "at_ms": 1, "report_id": "rep_9",
        "kind": "monthly", "title": "November", "object_key": "k"})
    await notify.wait_for(lambda: _has_held(notify, alice))
    await notify.prefs(alice, **base)  # quiet hours removed: released now
    [mail] = await smtp.wait(1)
    assert mail["Subject"] == "Report ready: November"


async def _has_held(h: NotifyHarness, who: Person) -> bool:
    return any(d["held_until"] for d in await _emails(h, who))


async def test_a_digest_batches_several_info_events_into_one_message(
    notify_any_db: NotifyHarness, smtp: SmtpSink,
) -> None:
    h = notify_any_db
    alice = h.user()
    await h.prefs(alice, email="alice@example.com", events={"order_filled": ["email", "inapp"]},
                  digest={"interval_minutes": 60})
    for price in ("100", "101", "102"):
        await h.publish("trading.fill.acc_1", h.fill(alice, price=price))
    await h.wait_for(lambda: _inbox_count(h, alice, 3))
    await asyncio.sleep(0.3)
    assert smtp.messages == []
    h.clock.advance(61 * 60)
    [mail] = await smtp.wait(1)
    assert mail["Subject"] == "3 notifications from Argosy"
    body = mail.get_body(("plain",)).get_content()
    for price in ("100", "101", "102"):
        assert f"Filled: buy 0.5 BTC-USDT.binance @ {price}" in body
    [digest] = await h.settled(alice, 1, channel="email")
    assert digest["event_type"] == "digest"
    assert (await h.sql("SELECT COUNT(*) FROM digest_items"))[0][0] == 0
    h.clock.advance(61 * 60)
    await asyncio.sleep(0.3)
    assert len(smtp.messages) == 1


async def _inbox_count(h: NotifyHarness, who: Person, n: int) -> bool:
    r = await h.call("GET", "/api/v1/notifications", who)
    return len(r.json()["items"]) == n


async def test_identical_alerts_within_the_window_are_sent_once(
    notify: NotifyHarness, smtp: SmtpSink,
) -> None:
    alice = notify.user()
    await notify.prefs(alice, email="alice@example.com",
                       severity_channels={"warning": ["email"]})
    for i in range(3):  # three alert ids and times, the same alert
        await notify.publish("risk.alert.warning", notify.risk(
            alice, severity="warning", at_ms=1_700_000_000_000 + i * 1000))
    await smtp.wait(1)
    await asyncio.sleep(0.3)
    assert len(smtp.messages) == 1
    await notify.publish("risk.alert.warning", notify.risk(alice, severity="warning",
                                                           message="Different words"))
    await smtp.wait(2)
    notify.clock.advance(notify.settings.dedupe_window_s + 1)
    await notify.publish("risk.alert.warning", notify.risk(alice, severity="warning"))
    await smtp.wait(3)
    # fills are events, not alerts: identical ones are never collapsed
    await notify.prefs(alice, email="alice@example.com", events={"order_filled": ["email"]})
    fill = notify.fill(alice)
    await notify.publish("trading.fill.acc_1", fill)
    await notify.publish("trading.fill.acc_1", {**fill, "fill_id": "another"})
    await smtp.wait(5)


async def test_critical_risk_alerts_go_to_sms_email_and_inapp_by_default(
    notify: NotifyHarness, smtp: SmtpSink, http: HttpRecorder,
) -> None:
    http.script["/2010-04-01/"] = lambda _: json_reply(201, {"sid": "SM1"})
    alice = notify.user()
    await notify.prefs(alice, email="alice@example.com", phone="+4915112345678")
    await notify.publish("risk.alert.critical", notify.risk(alice, kind="kill_switch",
                                                            message="All trading halted"))
    rows = await notify.settled(alice, 3)
    assert sorted((r["channel"], r["state"]) for r in rows) == [
        ("email", "sent"), ("inapp", "delivered"), ("sms", "sent")]
    [sms] = await http.wait("/2010-04-01/", 1)
    assert sms.form()["Body"] == "KILL SWITCH (account): All trading halted"
    await notify.publish("risk.alert.info", notify.risk(alice, severity="info",
                                                        message="just so you know"))
    await notify.wait_for(lambda: _inbox_count(notify, alice, 2))
    await asyncio.sleep(0.2)
    assert len(smtp.messages) == 1  # info: in-app only
