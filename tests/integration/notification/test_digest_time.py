"""Daily digests at a fixed time of day in the user's zone, driven by the injected clock:
low-severity events collect, nothing goes out before that local time, one mail after."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.notification._harness import NotifyHarness, Person
from tests.integration.notification._servers import SmtpSink

pytestmark = pytest.mark.integration

ZONE = "Asia/Shanghai"


async def _inbox(h: NotifyHarness, who: Person, n: int) -> bool:
    r = await h.call("GET", "/api/v1/notifications", who)
    return len(r.json()["items"]) == n


async def test_a_digest_goes_out_at_the_users_chosen_local_time(
    notify_any_db: NotifyHarness, smtp: SmtpSink,
) -> None:
    h = notify_any_db
    scheduler = h.runtime_app_state("scheduler")
    alice = h.user()
    local_now = datetime.fromtimestamp(h.clock.now_ns() / 1e9, ZoneInfo(ZONE))
    at = (local_now + timedelta(hours=2)).strftime("%H:%M")  # 1h59m to 2h from now
    prefs = await h.prefs(alice, email="alice@example.com", timezone=ZONE,
                          events={"order_filled": ["email", "inapp"]},
                          digest={"time": at, "severities": ["info"]})
    assert prefs["digest"] == {"interval_minutes": 60, "severities": ["info"], "time": at}
    for price in ("100", "101"):
        await h.publish("trading.fill.acc_1", h.fill(alice, price=price))
    await h.wait_for(lambda: _inbox(h, alice, 2))

    h.clock.advance(3600)  # an hour on: the collection interval has passed, the time not
    assert await scheduler.flush_digests() == 0
    assert smtp.messages == []

    h.clock.advance(3600 + 120)  # past the chosen local time
    [mail] = await smtp.wait(1, within_s=20)
    assert mail["Subject"] == "2 notifications from Argosy"
    plain = mail.get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    assert "@ 100" in body
    assert "@ 101" in body
    [digest] = await h.settled(alice, 1, channel="email")
    assert (digest["event_type"], digest["state"]) == ("digest", "sent")
    assert await scheduler.flush_digests() == 0  # sent once


async def test_a_digest_time_must_be_a_time_of_day(notify: NotifyHarness) -> None:
    alice = notify.user()
    r = await notify.call("PUT", "/api/v1/notifications/preferences", alice,
                          json={"digest": {"time": "8am"}})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "digest.time"
    r = await notify.call("GET", "/api/v1/notifications/preferences", alice)
    assert r.json()["digest"] is None
