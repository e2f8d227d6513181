"""Quiet hours in the user's own zone, across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.schedule import QuietHours, digest_due_ns, parse_clock


def ns(zone: str, *args: int) -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(zone)).timestamp() * 10**9)


def test_window_that_wraps_midnight_ends_next_morning_local_time() -> None:
    q = QuietHours(time(22), time(7), "Asia/Shanghai")
    assert q.until_ns(ns("Asia/Shanghai", 2026, 3, 1, 23, 30)) == ns(
        "Asia/Shanghai", 2026, 3, 2, 7)
    assert q.until_ns(ns("Asia/Shanghai", 2026, 3, 2, 6, 59)) == ns(
        "Asia/Shanghai", 2026, 3, 2, 7)
    assert q.until_ns(ns("Asia/Shanghai", 2026, 3, 2, 7, 0)) is None
    assert q.until_ns(ns("Asia/Shanghai", 2026, 3, 2, 12)) is None


def test_same_day_window() -> None:
    q = QuietHours(time(12), time(14), "UTC")
    assert q.until_ns(ns("UTC", 2026, 1, 1, 13)) == ns("UTC", 2026, 1, 1, 14)
    assert q.until_ns(ns("UTC", 2026, 1, 1, 14, 1)) is None


def test_daylight_saving_night_is_shorter_in_utc_but_ends_at_local_seven() -> None:
    q = QuietHours(time(22), time(7), "Europe/Berlin")
    start = ns("Europe/Berlin", 2026, 3, 28, 23)  # clocks go forward at 02:00 on the 29th
    end = q.until_ns(start)
    assert end == ns("Europe/Berlin", 2026, 3, 29, 7)
    assert (end - start) / 3.6e12 == 7.0  # 8 wall-clock hours, 7 real ones


def test_a_window_ending_inside_the_dst_gap_still_ends() -> None:
    q = QuietHours(time(1), time(2, 30), "Europe/Berlin")
    now = ns("Europe/Berlin", 2026, 3, 29, 1, 30)
    end = q.until_ns(now)
    assert end is not None
    assert now < end <= now + 2 * 3600 * 10**9


def test_clock_parsing_and_degenerate_windows() -> None:
    assert parse_clock("07:05", "f") == time(7, 5)
    for bad in ("7:05", "24:00", "12:60", "noon"):
        with pytest.raises(Invalid) as err:
            parse_clock(bad, "quiet_hours.start")
        assert err.value.field == "quiet_hours.start"
    with pytest.raises(Invalid):
        QuietHours(time(8), time(8))


def test_digest_due() -> None:
    assert digest_due_ns(10**9, 60) == 61 * 10**9
