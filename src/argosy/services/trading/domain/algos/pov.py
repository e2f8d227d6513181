"""POV: trade a fixed share of the market's volume as it prints.

The target at any moment is `rate` x the public volume observed since the algorithm
started (the growth of the snapshots' cumulative `traded_volume` between steps; a counter
that goes back, after a feed restart, re-bases instead of stalling), floored to the lot
and capped at the parent. A child goes out once the shortfall reaches `min_child` (fewer, larger
children: each one pays the spread) and is capped at `max_child` (so a burst of volume
does not turn into one block that walks the book). The tail below `min_child` goes as one
last child once the target covers it. Participation therefore lags the target by less
than `min_child` plus the volume of one step, and never runs ahead of it.

On a real venue the public volume includes our own fills; on the paper venue it does not
(recorded trades do not see us). `rate` is a share of the volume the feed reports.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from argosy.kernel.errors import Invalid
from argosy.kernel.money import MONEY_CONTEXT, Quantity
from argosy.services.trading.domain.algos._base import ParentAlgo
from argosy.services.trading.domain.algos._model import (
    AlgoStatus,
    Intent,
    MarketSnapshot,
    ParentSpec,
)

__all__ = ["Pov"]


class Pov(ParentAlgo):
    kind = "pov"

    def __init__(self, spec: ParentSpec, created_ns: int, *, rate: Decimal,
                 min_child: Quantity, max_child: Quantity | None = None,
                 end_ns: int | None = None) -> None:
        if not Decimal(0) < rate <= Decimal("0.5"):
            raise Invalid("rate must be above 0 and at most 0.5", field="rate")
        instrument = spec.instrument
        for name, size in (("min_child", min_child), ("max_child", max_child)):
            if size is not None and (not size.is_multiple_of(instrument.lot_size)
                                     or size < instrument.min_qty or size.is_zero()):
                raise Invalid(f"{name} must be on the lot {instrument.lot_size} and at "
                              f"least {instrument.min_qty}", field=name)
        if max_child is not None and max_child < min_child:
            raise Invalid("max_child must not be below min_child", field="max_child")
        if end_ns is not None and end_ns <= created_ns:
            raise Invalid("end must be after the creation time", field="end_ns")
        super().__init__(spec, created_ns)
        self.rate, self.min_child, self.max_child = rate, min_child, max_child
        self.end_ns = end_ns
        self.last_volume: Quantity | None = None
        self.observed = Quantity(0)

    def target(self) -> Quantity:
        """What participation asks to have filled by now."""
        with localcontext(MONEY_CONTEXT):
            wanted = Quantity(self.observed.value * self.rate)
        return min(self.spec.quantity, self.spec.instrument.round_qty(wanted))

    def wake_at_ns(self, now_ns: int) -> int | None:
        if self.end_ns is None or self.status is not AlgoStatus.RUNNING:
            return None
        return self.end_ns + self.paused_ns

    def _plan(self, now_ns: int, market: MarketSnapshot) -> list[Intent]:
        volume = market.traded_volume
        if self.last_volume is not None and volume > self.last_volume:
            self.observed += volume - self.last_volume
        self.last_volume = volume  # a counter that went back (feed restart) re-bases here
        if self.end_ns is not None and now_ns - self.paused_ns >= self.end_ns:
            return self._stop(AlgoStatus.EXPIRED, f"end reached with "
                              f"{self.spec.quantity - self.filled} unfilled")
        if self.open_children():
            return []
        committed = self.filled + self.open_quantity
        target = self.target()
        if target <= committed:
            return []
        behind, rest = target - committed, self.uncommitted
        if behind < self.min_child and behind < rest:
            return []
        size = behind if self.max_child is None else min(behind, self.max_child)
        child = self._child(now_ns, size, market,
                            f"pov {self.rate}: observed {self.observed}, target {target}")
        return [] if child is None else [child]

    def _extra_state(self) -> dict[str, object]:
        return {"last_volume": None if self.last_volume is None
                else self.last_volume.to_str(), "observed": self.observed.to_str()}

    def _restore_extra(self, extra: dict[str, object]) -> None:
        last = extra.get("last_volume")
        self.last_volume = None if last is None else Quantity(str(last))
        self.observed = Quantity(str(extra.get("observed", "0")))
