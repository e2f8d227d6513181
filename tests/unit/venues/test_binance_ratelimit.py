"""The control-message limiter never lets more than `limit` through in any window."""

from __future__ import annotations

from argosy.venues.binance._ratelimit import SlidingWindowLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_sliding_window_spacing() -> None:
    clock = FakeTime()
    limiter = SlidingWindowLimiter(4, 1.0, monotonic=clock.monotonic, sleep=clock.sleep)
    stamps = []
    for _ in range(13):
        await limiter.acquire()
        stamps.append(clock.now)
    for i, stamp in enumerate(stamps):
        in_window = [s for s in stamps[: i + 1] if stamp - s < 1.0]
        assert len(in_window) <= 4
    assert stamps[-1] - stamps[0] >= 2.0  # 13 messages at 4/s need at least 2 s
    assert stamps[:4] == [100.0] * 4
    assert stamps[4] == 101.0
    for _ in range(3):
        await limiter.acquire()
    assert limiter.delay() > 0  # the fourth in this window is taken
