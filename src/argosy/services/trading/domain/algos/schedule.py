"""TWAP and VWAP: a parent worked along a schedule of cumulative targets.

Both are the same machine with different slice weights: TWAP weighs slices equally
(optionally jittered, seeded, so a run is reproducible yet not trivially detectable), VWAP
weighs them by a volume profile learned from historical bars (the average share of a day's
volume traded in each time-of-day bucket). The schedule is a list of (time, cumulative
target on the lot); at each step the algorithm sends one IOC child for whatever it is
behind, so an unfilled child's remainder rolls into the next slice, and the last slice's
target is the whole parent. Pausing shifts the schedule by the time spent paused.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from argosy.kernel.errors import Invalid
from argosy.kernel.messages import Bar
from argosy.kernel.money import MONEY_CONTEXT, Quantity
from argosy.services.trading.domain.algos._base import ParentAlgo
from argosy.services.trading.domain.algos._model import (
    AlgoStatus,
    Intent,
    MarketSnapshot,
    ParentSpec,
)

__all__ = ["Schedule", "ScheduledAlgo", "Twap", "VolumeProfile", "Vwap", "build_schedule"]

DAY_NS = 86_400 * 1_000_000_000
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Schedule:
    """`targets[i]` is the cumulative quantity due once `times_ns[i]` has passed."""

    times_ns: tuple[int, ...]
    targets: tuple[Quantity, ...]
    start_ns: int
    end_ns: int


def _unit(rng: random.Random) -> Decimal:
    """A seeded uniform draw in [0, 1] as an exact Decimal (no floats near money)."""
    return Decimal(rng.randrange(10_001)) / Decimal(10_000)


def build_schedule(quantity: Quantity, lot: Quantity, start_ns: int, end_ns: int,
                   weights: Sequence[Decimal], randomize: Decimal = _ZERO,
                   seed: int = 0) -> Schedule:
    """Slice `quantity` over [start, end) by `weights`; targets floor to the lot.

    `randomize` in [0, 0.9] jitters each weight by ±randomize and each slice time by up
    to randomize x interval forward, from `random.Random(seed)`.
    """
    count = len(weights)
    if count < 1 or count > 10_000:
        raise Invalid("slices must be from 1 to 10000", field="slices")
    if end_ns <= start_ns:
        raise Invalid("end must be after start", field="end_ns")
    if not _ZERO <= randomize <= Decimal("0.9"):
        raise Invalid("randomize must be from 0 to 0.9", field="randomize")
    if any(w < 0 for w in weights):
        raise Invalid("weights must not be negative", field="weights")
    rng = random.Random(seed)  # noqa: S311 - reproducible jitter, not a secret
    interval = (end_ns - start_ns) // count
    if interval <= 0:
        raise Invalid("the window is too short for that many slices", field="slices")
    with localcontext(MONEY_CONTEXT):
        jittered = [w * (1 + randomize * (2 * _unit(rng) - 1)) for w in weights]
        total = sum(jittered, _ZERO)
        if total <= 0:
            jittered, total = [Decimal(1)] * count, Decimal(count)
        times, targets, running = [], [], _ZERO
        for i, weight in enumerate(jittered):
            offset = int(_unit(rng) * randomize * interval)
            times.append(start_ns + i * interval + offset)
            running += weight
            share = quantity.value * running / total
            due = quantity if i == count - 1 else Quantity(share // lot.value * lot.value)
            targets.append(due)
    return Schedule(tuple(times), tuple(targets), start_ns, end_ns)


@dataclass(frozen=True, slots=True)
class VolumeProfile:
    """Average share of a day's volume per time-of-day bucket (UTC), from history."""

    bucket_ns: int
    shares: tuple[Decimal, ...]

    @classmethod
    def from_bars(cls, bars: Iterable[Bar], bucket_ns: int) -> VolumeProfile:
        if bucket_ns <= 0 or DAY_NS % bucket_ns:
            raise Invalid("bucket must divide a day", field="bucket_ns")
        buckets = DAY_NS // bucket_ns
        days: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for bar in bars:
            days[bar.ts_open_ns // DAY_NS][bar.ts_open_ns % DAY_NS // bucket_ns] += \
                bar.volume.value
        with localcontext(MONEY_CONTEXT):
            sums = [_ZERO] * buckets
            counted = 0
            for volumes in days.values():
                day_total = sum(volumes.values(), _ZERO)
                if day_total <= 0:
                    continue
                counted += 1
                for bucket, volume in volumes.items():
                    sums[bucket] += volume / day_total
            if not counted:
                raise Invalid("the history holds no volume to learn a profile from",
                              field="bars")
            return cls(bucket_ns, tuple(s / counted for s in sums))

    def weight(self, start_ns: int, end_ns: int) -> Decimal:
        """Expected share of a day's volume traded in [start, end), by overlap."""
        with localcontext(MONEY_CONTEXT):
            total, t = _ZERO, start_ns
            while t < end_ns:
                bucket_start = t - t % self.bucket_ns
                until = min(end_ns, bucket_start + self.bucket_ns)
                share = self.shares[t % DAY_NS // self.bucket_ns]
                covered = until - t
                total += share if covered == self.bucket_ns else \
                    share * (Decimal(covered) / self.bucket_ns)
                t = until
            return total


class ScheduledAlgo(ParentAlgo):
    """Works the parent along `schedule`; one IOC child at a time for the shortfall."""

    def __init__(self, spec: ParentSpec, created_ns: int, schedule: Schedule,
                 grace_ns: int | None = None) -> None:
        super().__init__(spec, created_ns)
        self.schedule = schedule
        slices = len(schedule.times_ns)
        self.grace_ns = (schedule.end_ns - schedule.start_ns) // slices \
            if grace_ns is None else grace_ns

    @property
    def end_ns(self) -> int:
        """The end, moved later by the time spent paused."""
        return self.schedule.end_ns + self.paused_ns

    def due(self, now_ns: int) -> Quantity:
        """The cumulative quantity the schedule wants filled by `now_ns`."""
        index = bisect_right(self.schedule.times_ns, now_ns - self.paused_ns)
        return Quantity(0) if index == 0 else self.schedule.targets[index - 1]

    def wake_at_ns(self, now_ns: int) -> int | None:
        if self.status is not AlgoStatus.RUNNING:
            return None
        index = bisect_right(self.schedule.times_ns, now_ns - self.paused_ns)
        if index < len(self.schedule.times_ns):
            return self.schedule.times_ns[index] + self.paused_ns
        return self.end_ns + self.grace_ns

    def _plan(self, now_ns: int, market: MarketSnapshot) -> list[Intent]:
        if self.open_children():
            return []  # IOC children resolve at once; wait for their reports
        schedule_now = now_ns - self.paused_ns
        if schedule_now >= self.schedule.end_ns + self.grace_ns:
            left = self.spec.quantity - self.filled
            return self._stop(AlgoStatus.EXPIRED,
                              f"window ended with {left} unfilled (no liquidity within "
                              "the limit or slippage bound)")
        committed = self.filled + self.open_quantity
        target = self.due(now_ns)
        if target <= committed:
            return []
        child = self._child(now_ns, target - committed, market,
                            f"{self.kind} slice: due {target}, filled {self.filled}")
        if child is not None:
            return [child]
        last = self.schedule.times_ns[-1] <= schedule_now
        instrument = self.spec.instrument
        rest = self.uncommitted
        price = market.touch(self.side) or self.arrival
        if last and (rest < instrument.min_qty or instrument.round_qty(rest).is_zero() or (
                price is not None and instrument.notional(price, rest)
                < instrument.min_notional)):
            return self._stop(AlgoStatus.COMPLETED,
                              f"{rest} left is below the venue's minimum order")
        return []


class Twap(ScheduledAlgo):
    """Equal slices over [start, end), optionally randomised (seeded)."""

    kind = "twap"

    def __init__(self, spec: ParentSpec, created_ns: int, *, start_ns: int, end_ns: int,
                 slices: int, randomize: Decimal = _ZERO, seed: int = 0,
                 grace_ns: int | None = None) -> None:
        schedule = build_schedule(spec.quantity, spec.instrument.lot_size, start_ns, end_ns,
                                  [Decimal(1)] * slices, randomize, seed)
        super().__init__(spec, created_ns, schedule, grace_ns)


class Vwap(ScheduledAlgo):
    """Slices weighted by the historical share of volume at their time of day."""

    kind = "vwap"

    def __init__(self, spec: ParentSpec, created_ns: int, *, start_ns: int, end_ns: int,
                 slices: int, profile: VolumeProfile, randomize: Decimal = _ZERO,
                 seed: int = 0, grace_ns: int | None = None) -> None:
        if slices < 1:
            raise Invalid("slices must be at least 1", field="slices")
        interval = (end_ns - start_ns) // slices
        weights = [profile.weight(start_ns + i * interval, start_ns + (i + 1) * interval)
                   for i in range(slices)]
        schedule = build_schedule(spec.quantity, spec.instrument.lot_size, start_ns, end_ns,
                                  weights, randomize, seed)
        super().__init__(spec, created_ns, schedule, grace_ns)
        self.weights = tuple(weights)
