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


def test_a_daily_digest_goes_out_at_the_next_local_time_after_its_first_item() -> None:
    at = time(8)
    sh = "Asia/Shanghai"
    # first item at 07:00 local: the same morning; at 09:00 (or at 08:00 sharp): tomorrow
    assert digest_due_ns(ns(sh, 2026, 3, 2, 7), 3600, at, sh) == ns(sh, 2026, 3, 2, 8)
    assert digest_due_ns(ns(sh, 2026, 3, 2, 9), 3600, at, sh) == ns(sh, 2026, 3, 3, 8)
    assert digest_due_ns(ns(sh, 2026, 3, 2, 8), 3600, at, sh) == ns(sh, 2026, 3, 3, 8)
    # local, not UTC: 23:30 UTC on the 1st is already 07:30 on the 2nd in Shanghai
    assert digest_due_ns(ns("UTC", 2026, 3, 1, 23, 30), 3600, at, sh) == ns(sh, 2026, 3, 2, 8)


def test_a_daily_digest_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    ny = "America/New_York"
    before = digest_due_ns(ns(ny, 2026, 3, 7, 7), 3600, time(8), ny)  # EST, UTC-5
    after = digest_due_ns(ns(ny, 2026, 3, 8, 7), 3600, time(8), ny)  # EDT, UTC-4
    assert (before, after) == (ns(ny, 2026, 3, 7, 8), ns(ny, 2026, 3, 8, 8))
    assert after - before == 23 * 3600 * 10**9  # the short day: still 08:00 on the wall
    # 02:30 does not exist on the spring-forward night: it comes out just after the gap
    gap = digest_due_ns(ns(ny, 2026, 3, 8, 0), 3600, time(2, 30), ny)
    assert datetime.fromtimestamp(gap / 1e9, ZoneInfo(ny)).strftime("%H:%M") == "03:30"
