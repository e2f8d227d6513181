"""Per-channel rate limits: token buckets in the shared cache space the sends out."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.notification._harness import NotifyHarness
from tests.integration.notification._servers import SmtpSink

pytestmark = pytest.mark.integration


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limits": {"email": {"per_s": 4, "burst": 1}}}


async def test_per_channel_rate_limit_spaces_sends(notify: NotifyHarness,
                                                   smtp: SmtpSink) -> None:
    alice = notify.user()
    await notify.prefs(alice, email="alice@example.com", events={"order_filled": ["email"]})
    started = time.monotonic()
    for i in range(5):
        await notify.publish("trading.fill.acc_1", notify.fill(alice, price=f"{100 + i}"))
    await smtp.wait(5)
    assert time.monotonic() - started >= 0.9  # 1 at once, then 4 per second
    rows = await notify.settled(alice, 5)
    assert {r["state"] for r in rows} == {"sent"}
    assert {r["attempts"] for r in rows} == {1}
