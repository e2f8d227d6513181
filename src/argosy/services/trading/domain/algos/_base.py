"""The parent-order state machine every algorithm shares.

running ⇄ paused → cancelled; running → completed | stopped_slippage | expired | failed.
The base class owns the bookkeeping that must be right for every algorithm: child records
fed by cumulative execution reports (so a duplicated or late report never double counts),
the invariant that filled + open child quantity never exceeds the parent, lot/tick/minimum
checks on every child, and the slippage guard. Subclasses only decide *when* and *how
much* (`_plan`), and whether a fill triggers an immediate follow-up (`_after_report`).
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import ClassVar

from argosy.kernel.errors import Conflict, Invalid
from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT, Price, Quantity
from argosy.kernel.orders import (
    ExecutionReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from argosy.services.trading.domain.algos._model import (
    AlgoStatus,
    CancelChild,
    ChildOrder,
    Intent,
    MarketSnapshot,
    ParentSpec,
    SubmitChild,
    fit,
    slippage_bound,
    slippage_bps,
)

__all__ = ["ParentAlgo"]

_ZERO = Decimal(0)


class ParentAlgo:
    """A parent order working through child orders; drive it with `step` and `on_report`."""

    kind: ClassVar[str] = "algo"
    #: whether children take liquidity (the market-touch slippage guard applies)
    takes_liquidity: ClassVar[bool] = True

    def __init__(self, spec: ParentSpec, created_ns: int) -> None:
        self.spec = spec
        self.created_ns = created_ns
        self.status = AlgoStatus.RUNNING
        self.reason: str | None = None
        self.children: dict[str, ChildOrder] = {}
        self._open: dict[str, ChildOrder] = {}  # the open subset, so steps stay O(open)
        self.filled = Quantity(0)
        self.notional = _ZERO
        self.arrival: Price | None = spec.arrival_price
        self.paused_ns = 0  # total time spent paused, schedules shift by it
        self.paused_since: int | None = None
        self.rejections = 0
        self._seq = 0
        self.last_ts_ns = created_ns

    # -- derived -------------------------------------------------------------------

    @property
    def side(self) -> Side:
        return self.spec.side

    @property
    def open_quantity(self) -> Quantity:
        return sum((c.leaves for c in self._open.values()), Quantity(0))

    @property
    def uncommitted(self) -> Quantity:
        """What no child holds yet: parent - filled - open leaves (never negative)."""
        return self.spec.quantity - self.filled - self.open_quantity

    @property
    def average_price(self) -> Price | None:
        if self.filled.is_zero():
            return None
        with localcontext(MONEY_CONTEXT):
            return Price(fit(self.notional / self.filled.value))

    @property
    def bound(self) -> Price | None:
        """The worst price a child may carry: the parent limit and the slippage bound."""
        spec, worst = self.spec, self.spec.limit_price
        if spec.max_slippage_bps is not None and self.arrival is not None:
            guard = slippage_bound(spec.side, self.arrival, spec.max_slippage_bps,
                                   spec.instrument.tick_size)
            if worst is None or (guard < worst if spec.side is Side.BUY else guard > worst):
                worst = guard
        return worst

    def open_children(self) -> list[ChildOrder]:
        return list(self._open.values())

    # -- driving -------------------------------------------------------------------

    def step(self, now_ns: int, market: MarketSnapshot) -> list[Intent]:
        """Called by the service on its cadence and on market data; returns what to do."""
        self.last_ts_ns = max(self.last_ts_ns, now_ns)
        if self.status is not AlgoStatus.RUNNING:
            return []
        if self.arrival is None:
            self.arrival = market.mid
            if self.arrival is None:
                return []  # no prices yet: nothing can be judged
        with localcontext(MONEY_CONTEXT):
            touch = market.touch(self.side)
            max_bps = self.spec.max_slippage_bps
            if self.takes_liquidity and max_bps is not None and touch is not None:
                moved = slippage_bps(self.side, self.arrival, touch)
                if moved > max_bps:
                    return self._stop(
                        AlgoStatus.STOPPED_SLIPPAGE,
                        f"{'ask' if self.side is Side.BUY else 'bid'} {touch} is "
                        f"{_bps(moved)} bps from arrival {self.arrival}; max {max_bps} bps")
            return self._plan(now_ns, market)

    def on_report(self, report: ExecutionReport) -> list[Intent]:
        """Fold a child's execution report in (cumulative, so duplicates are harmless)."""
        child = self.children.get(report.client_order_id)
        if child is None:
            return []
        self.last_ts_ns = max(self.last_ts_ns, report.ts_ns)
        with localcontext(MONEY_CONTEXT):
            was_open = child.is_open  # a repeated rejection must not count twice
            fill_price = self._fold(child, report)
            if was_open and not child.is_open and report.status is OrderStatus.REJECTED:
                self.rejections += 1
            elif fill_price is not None:
                self.rejections = 0
            if self.status.is_terminal:
                return []
            max_bps = self.spec.max_slippage_bps
            if max_bps is not None and fill_price is not None and self.arrival is not None:
                moved = slippage_bps(self.side, self.arrival, fill_price)
                if moved > max_bps:
                    return self._stop(AlgoStatus.STOPPED_SLIPPAGE,
                                      f"fill at {fill_price.to_str()} is {_bps(moved)} bps "
                                      f"from arrival {self.arrival}; max {max_bps} bps")
            if self.filled == self.spec.quantity:
                return self._stop(AlgoStatus.COMPLETED, None)
            if self.rejections >= self.spec.max_rejections:
                return self._stop(AlgoStatus.FAILED, f"{self.rejections} children rejected "
                                  f"in a row; last: {report.reason or 'no reason given'}")
            if self.status is AlgoStatus.RUNNING:
                return self._after_report(child, report.ts_ns)
            return []

    def _fold(self, child: ChildOrder, report: ExecutionReport) -> Price | None:
        """Update `child` from `report`; the average price of the new fills, if any."""
        fill_price: Price | None = None
        grown = report.filled_quantity.value - child.filled.value
        if grown > 0 and report.average_price is not None:
            total = report.average_price.value * report.filled_quantity.value
            added = total - child.notional
            fill_price = Price(fit(added / grown))
            child.filled, child.notional = report.filled_quantity, total
            self.filled += Quantity(grown)
            self.notional += added
        if child.is_open and report.status is not OrderStatus.SUBMITTED:
            child.status = report.status
            if not child.is_open:
                self._open.pop(child.child_id, None)
        return fill_price

    def pause(self, now_ns: int) -> list[Intent]:
        self._require(AlgoStatus.RUNNING, "pause")
        self.status, self.paused_since = AlgoStatus.PAUSED, now_ns
        return self._cancel_open("paused")

    def resume(self, now_ns: int) -> list[Intent]:
        self._require(AlgoStatus.PAUSED, "resume")
        assert self.paused_since is not None
        self.paused_ns += max(0, now_ns - self.paused_since)
        self.status, self.paused_since = AlgoStatus.RUNNING, None
        return []

    def cancel(self, now_ns: int, reason: str = "cancelled by the user") -> list[Intent]:
        if self.status is AlgoStatus.CANCELLED:
            return []
        if self.status.is_terminal:
            raise Conflict(f"{self.kind} {self.spec.algo_id} is already {self.status.value}",
                           field="status")
        if self.paused_since is not None:
            self.paused_ns += max(0, now_ns - self.paused_since)
            self.paused_since = None
        return self._stop(AlgoStatus.CANCELLED, reason)

    def wake_at_ns(self, now_ns: int) -> int | None:
        """When the service must call `step` again even if no market data arrives
        (the next slice, an expiry); None when market data and reports drive it alone."""
        return None

    # -- for subclasses ------------------------------------------------------------

    def _plan(self, now_ns: int, market: MarketSnapshot) -> list[Intent]:
        raise NotImplementedError

    def _after_report(self, child: ChildOrder, now_ns: int) -> list[Intent]:
        return []

    def _child(self, now_ns: int, quantity: Quantity, market: MarketSnapshot, why: str, *,
               passive_price: Price | None = None) -> SubmitChild | None:
        """A child of `quantity` (rounded down to the lot, capped by what is uncommitted),
        or None when it would break the venue's minimums or no price can be respected.

        Taker children are IOC: a market order, or a limit at `bound` when a limit or a
        slippage cap applies. Passive children (iceberg) rest GTC at `passive_price`.
        """
        instrument = self.spec.instrument
        quantity = instrument.round_qty(min(quantity, self.uncommitted))
        if quantity.is_zero() or quantity < instrument.min_qty:
            return None
        bound = self.bound
        touch = market.touch(self.side)
        if passive_price is not None:
            price: Price | None = passive_price
            order_type, tif = OrderType.LIMIT, TimeInForce.GTC
        else:
            if bound is not None and touch is not None and not _within(self.side, touch, bound):
                return None  # the IOC could not fill: wait for the market to come back
            price = bound
            order_type = OrderType.MARKET if price is None else OrderType.LIMIT
            tif = TimeInForce.IOC
        reference = price or touch or self.arrival
        if reference is None:
            return None
        if instrument.notional(reference, quantity) < instrument.min_notional:
            return None
        self._seq += 1
        child_id = f"{self.spec.algo_id}-{self._seq}"
        self.children[child_id] = self._open[child_id] = ChildOrder(child_id, quantity,
                                                                     price, now_ns)
        request = OrderRequest(child_id, instrument.id, self.side, order_type, quantity,
                               price=price, time_in_force=tif)
        return SubmitChild(request, why)

    def _cancel_open(self, reason: str) -> list[Intent]:
        intents: list[Intent] = []
        for child in self.open_children():
            if not child.cancel_requested:
                child.cancel_requested = True
                intents.append(CancelChild(child.child_id, reason))
        return intents

    def _stop(self, status: AlgoStatus, reason: str | None) -> list[Intent]:
        self.status, self.reason = status, reason
        return self._cancel_open(status.value)

    def _require(self, status: AlgoStatus, action: str) -> None:
        if self.status is not status:
            raise Conflict(f"cannot {action} a {self.kind} that is {self.status.value}",
                           field="status")

    # -- persistence ---------------------------------------------------------------

    def checkpoint(self) -> dict[str, object]:
        """The mutable state as JSON-able data; parameters are persisted separately."""
        return {
            "kind": self.kind, "status": self.status.value, "reason": self.reason,
            "filled": self.filled.to_str(), "notional": str(self.notional),
            "arrival": None if self.arrival is None else self.arrival.to_str(),
            "paused_ns": self.paused_ns, "paused_since": self.paused_since,
            "rejections": self.rejections, "seq": self._seq, "last_ts_ns": self.last_ts_ns,
            "children": [c.to_dict() for c in self.children.values()],
            "extra": self._extra_state(),
        }

    def restore(self, state: Mapping[str, object]) -> None:
        if state.get("kind") != self.kind:
            raise Invalid(f"checkpoint is for {state.get('kind')!r}, not {self.kind}",
                          field="kind")
        self.status = AlgoStatus(str(state["status"]))
        reason, arrival, since = state["reason"], state["arrival"], state["paused_since"]
        self.reason = None if reason is None else str(reason)
        self.filled = Quantity(str(state["filled"]))
        self.notional = Decimal(str(state["notional"]))
        self.arrival = None if arrival is None else Price(str(arrival))
        self.paused_ns = int(str(state["paused_ns"]))
        self.paused_since = None if since is None else int(str(since))
        self.rejections, self._seq = int(str(state["rejections"])), int(str(state["seq"]))
        self.last_ts_ns = int(str(state["last_ts_ns"]))
        rows = state["children"]
        assert isinstance(rows, list)
        self.children = {c.child_id: c for c in (ChildOrder.from_dict(r) for r in rows)}
        self._open = {k: c for k, c in self.children.items() if c.is_open}
        extra = state.get("extra") or {}
        assert isinstance(extra, dict)
        self._restore_extra(extra)

    def _extra_state(self) -> dict[str, object]:
        return {}

    def _restore_extra(self, extra: dict[str, object]) -> None:
        return None

    def view(self) -> dict[str, object]:
        """The API's view of the parent (GET /api/v1/algos/{id})."""
        average = self.average_price
        return {
            "algo_id": self.spec.algo_id, "kind": self.kind, "status": self.status.value,
            "reason": self.reason, "instrument": str(self.spec.instrument.id),
            "side": self.side.value, "quantity": self.spec.quantity.to_str(),
            "filled_quantity": self.filled.to_str(),
            "open_quantity": self.open_quantity.to_str(),
            "average_price": None if average is None
            else average.quantize(Decimal("1e-12"), decimal.ROUND_HALF_EVEN).to_str(),
            "arrival_price": None if self.arrival is None else self.arrival.to_str(),
            "children": [c.to_dict() for c in self.children.values()],
        }


def _within(side: Side, price: Price, bound: Price) -> bool:
    return price <= bound if side is Side.BUY else price >= bound


def _bps(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01"), decimal.ROUND_HALF_EVEN), "f")
