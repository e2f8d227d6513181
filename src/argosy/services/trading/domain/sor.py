"""Smart order routing: split one parent order across venues at the lowest expected cost.

Why a greedy merge is enough: taking liquidity costs, per unit, the level price worsened by
the venue's taker fee and by a latency penalty (the book moves while the order travels, so
a slow venue's quote is worth less: `latency_penalty_bps_per_ms` x the venue's latency).
Each level is a block of constant unit cost, so walking all venues' levels in order of that
*effective* price is the optimal fill of the continuous problem. Real venues add integer
constraints (lot, minimum size, minimum notional, balance), handled explicitly afterwards:
per venue the allocation is rounded down to its lot, the shortfall is re-placed lot by lot
on whichever venue's next lot is cheapest, and a venue whose share ends below its minimum
is dropped and the rest re-routed. Finally the merged plan is compared with every single-
venue plan and the cheapest that fills the most is returned, so routing never does worse
than sending everything to the best venue; the explanation says which won and why.

Costs are signed so that lower is better on both sides: a buy costs notional + fees +
penalty, a sell "costs" -(notional - fees - penalty). Pure Decimal in `MONEY_CONTEXT`.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from argosy.kernel.errors import Invalid
from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT, Price, Quantity

__all__ = ["RouteAllocation", "RoutePlan", "RouteRequest", "VenueBook", "route"]

_BPS = Decimal(10_000)
_ZERO = Decimal(0)
_NO_QUANTITY = Quantity(0)
_FINEST = Decimal("1e-18")


@dataclass(frozen=True, slots=True)
class VenueBook:
    """One venue as the router sees it.

    `levels` is the side the order takes from (asks for a buy, bids for a sell), best first.
    `available` is what the account can spend there: quote asset for a buy (notional plus
    taker fee must fit), base asset for a sell. `min_notional` is in the quote asset.
    """

    venue: str
    levels: Sequence[tuple[Price, Quantity]]
    taker_fee_bps: Decimal
    maker_fee_bps: Decimal
    latency_ms: Decimal
    available: Decimal
    lot_size: Quantity
    tick_size: Price
    min_qty: Quantity = _NO_QUANTITY
    min_notional: Decimal = _ZERO

    def __post_init__(self) -> None:
        if self.lot_size.is_zero():
            raise Invalid(f"{self.venue}: lot_size must be positive", field="lot_size")
        if self.tick_size.value <= 0:
            raise Invalid(f"{self.venue}: tick_size must be positive", field="tick_size")
        if self.latency_ms < 0 or self.available < 0:
            raise Invalid(f"{self.venue}: latency and balance must not be negative",
                          field="venues")


@dataclass(frozen=True, slots=True)
class RouteRequest:
    side: Side
    quantity: Quantity
    limit_price: Price | None = None
    latency_penalty_bps_per_ms: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        if self.quantity.is_zero():
            raise Invalid("quantity must be positive", field="quantity")
        if self.latency_penalty_bps_per_ms < 0:
            raise Invalid("latency penalty must not be negative",
                          field="latency_penalty_bps_per_ms")


@dataclass(frozen=True, slots=True)
class RouteAllocation:
    """What to send to one venue: an IOC limit at `limit_price` for `quantity`."""

    venue: str
    quantity: Quantity
    limit_price: Price
    average_price: Price
    notional: Decimal
    fees: Decimal
    latency_penalty: Decimal
    all_in_cost: Decimal
    levels_used: int
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "venue": self.venue, "quantity": self.quantity.to_str(),
            "limit_price": self.limit_price.to_str(),
            "expected_average_price": self.average_price.to_str(),
            "notional": _s(self.notional), "fees": _s(self.fees),
            "latency_penalty": _s(self.latency_penalty), "all_in_cost": _s(self.all_in_cost),
            "levels_used": self.levels_used, "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class RoutePlan:
    side: Side
    requested: Quantity
    routed: Quantity
    allocations: tuple[RouteAllocation, ...]
    all_in_cost: Decimal
    best_single_venue: str | None
    best_single_cost: Decimal | None
    strategy: str  # "split" or "single"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def unrouted(self) -> Quantity:
        return self.requested - self.routed

    @property
    def savings_vs_best_single(self) -> Decimal | None:
        """Positive when the plan is cheaper than the best single venue at equal size."""
        if self.best_single_cost is None:
            return None
        return self.best_single_cost - self.all_in_cost

    def to_dict(self) -> dict[str, object]:
        saving = self.savings_vs_best_single
        return {
            "side": self.side.value, "requested": self.requested.to_str(),
            "routed": self.routed.to_str(), "unrouted": self.unrouted.to_str(),
            "all_in_cost": _s(self.all_in_cost), "strategy": self.strategy,
            "best_single_venue": self.best_single_venue,
            "best_single_cost": None if self.best_single_cost is None
            else _s(self.best_single_cost),
            "savings_vs_best_single": None if saving is None else _s(saving),
            "allocations": [a.to_dict() for a in self.allocations],
            "notes": list(self.notes),
        }


def _s(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value else "0"
    return text


class _Venue:
    """Mutable walk state of one venue's levels during routing."""

    def __init__(self, book: VenueBook, request: RouteRequest) -> None:
        self.book = book
        self.buy = request.side is Side.BUY
        self.penalty_rate = request.latency_penalty_bps_per_ms * book.latency_ms / _BPS
        self.fee_rate = book.taker_fee_bps / _BPS
        limit = request.limit_price
        self.levels = [(p.value, q.value) for p, q in book.levels if q.value > 0 and (
            limit is None or (p <= limit if self.buy else p >= limit))]

    def unit_cost(self, price: Decimal) -> Decimal:
        """Signed all-in cost of one unit at `price` (lower is better on both sides)."""
        extra = self.fee_rate + self.penalty_rate
        return price * (1 + extra) if self.buy else -price * (1 - extra)

    def walk(self, quantity: Decimal) -> tuple[Decimal, Decimal, int] | None:
        """(notional, worst price, levels used) to take `quantity`; None if too deep."""
        left, notional, worst, used = quantity, _ZERO, _ZERO, 0
        for price, size in self.levels:
            if left <= 0:
                break
            take = min(size, left)
            notional += price * take
            worst, used, left = price, used + 1, left - take
        if left > 0:
            return None
        return notional, worst, used

    def room(self, depth: Decimal) -> Decimal:
        """What is left of the level that `depth` has reached (0 past the last level)."""
        for _, size in self.levels:
            if depth < size:
                return size - depth
            depth -= size
        return _ZERO

    def affordable(self, quantity: Decimal) -> bool:
        walked = self.walk(quantity)
        if walked is None:
            return False
        if not self.buy:
            return quantity <= self.book.available
        return walked[0] * (1 + self.fee_rate) <= self.book.available

    def cost(self, quantity: Decimal) -> Decimal:
        walked = self.walk(quantity)
        assert walked is not None
        return self._signed(walked[0])

    def _signed(self, notional: Decimal) -> Decimal:
        extra = notional * (self.fee_rate + self.penalty_rate)
        return notional + extra if self.buy else -(notional - extra)

    def balance_cap(self) -> Decimal:
        """Most base quantity the balance allows, walking the levels."""
        if not self.buy:
            return self.book.available
        budget, cap = self.book.available, _ZERO
        for price, size in self.levels:
            unit = price * (1 + self.fee_rate)
            if size * unit <= budget:
                budget -= size * unit
                cap += size
            else:
                return cap + budget / unit
        return cap


def _greedy(venues: list[_Venue], want: Decimal) -> dict[str, Decimal]:
    """Continuous optimum: merge every level of every venue by effective unit cost."""
    chunks = sorted(
        ((v.unit_cost(p), v.book.latency_ms, v.book.venue, p, q, v)
         for v in venues for p, q in v.levels),
        key=lambda c: (c[0], c[1], c[2], c[3] if c[5].buy else -c[3]))
    caps = {v.book.venue: v.balance_cap() for v in venues}
    taken: dict[str, Decimal] = {v.book.venue: _ZERO for v in venues}
    for _, _, name, _, size, _ in chunks:
        if want <= 0:
            break
        take = min(size, want, caps[name] - taken[name])
        if take > 0:
            taken[name] += take
            want -= take
    return taken


def _to_lots(venues: dict[str, _Venue], raw: dict[str, Decimal], want: Decimal
             ) -> dict[str, Decimal]:
    """Round each share down to its lot, then re-place the shortfall lot by lot."""
    lots = {name: v.book.lot_size.value for name, v in venues.items()}
    shares = {name: (raw[name] // lots[name]) * lots[name] for name in venues}
    shortfall = want - sum(shares.values(), _ZERO)
    while shortfall > 0:
        best: tuple[Decimal, str] | None = None
        for name, v in venues.items():
            lot = lots[name]
            if lot > shortfall or not v.affordable(shares[name] + lot):
                continue
            marginal = (v.cost(shares[name] + lot) - v.cost(shares[name])) / lot
            if best is None or (marginal, name) < best:
                best = (marginal, name)
        if best is None:
            break
        name = best[1]
        v, lot = venues[name], lots[name]
        # the marginal price is constant within a level: take the rest of it at once
        count = max(1, int(min(shortfall, v.room(shares[name])) // lot))
        while count > 1 and not v.affordable(shares[name] + count * lot):
            count //= 2
        shares[name] += count * lot
        shortfall -= count * lot
    return {name: qty for name, qty in shares.items() if qty > 0}


def _below_minimum(v: _Venue, quantity: Decimal) -> str | None:
    walked = v.walk(quantity)
    assert walked is not None
    if quantity < v.book.min_qty.value:
        return f"share {_s(quantity)} is below its min quantity {v.book.min_qty}"
    if walked[0] < v.book.min_notional:
        return (f"share notional {_s(walked[0])} is below its min notional "
                f"{_s(v.book.min_notional)}")
    return None


def _allocate(venues: dict[str, _Venue], want: Decimal
              ) -> tuple[dict[str, Decimal], list[str]]:
    """Greedy + lots, dropping venues whose share falls below their minimum."""
    live, notes = dict(venues), list[str]()
    while True:
        shares = _to_lots(live, _greedy(list(live.values()), want), want)
        dropped = [(name, why) for name, qty in shares.items()
                   if (why := _below_minimum(live[name], qty)) is not None]
        if not dropped:
            return shares, notes
        for name, why in dropped:
            notes.append(f"{name} dropped: {why}")
            del live[name]


def _total(venues: dict[str, _Venue], shares: dict[str, Decimal]) -> Decimal:
    return sum((venues[n].cost(q) for n, q in shares.items()), _ZERO)


def _explain(v: _Venue, quantity: Decimal, share_of_best: bool, split: bool
             ) -> RouteAllocation:
    walked = v.walk(quantity)
    assert walked is not None
    notional, worst, used = walked
    book = v.book
    rounding = decimal.ROUND_UP if v.buy else decimal.ROUND_DOWN
    fees, penalty = notional * v.fee_rate, notional * v.penalty_rate
    first = v.levels[0][0]
    why = (f"{'best' if share_of_best else 'next'} effective price: top "
           f"{_s(first)} with taker fee {_s(book.taker_fee_bps)} bps and "
           f"{_s(book.latency_ms)} ms latency ({_s(v.penalty_rate * _BPS)} bps penalty); "
           f"walks {used} level(s) to {_s(worst)}")
    if not split:
        why += "; single venue is cheapest after lot and minimum constraints"
    return RouteAllocation(
        venue=book.venue, quantity=Quantity(quantity),
        limit_price=Price(worst).quantize(book.tick_size, rounding),
        average_price=Price((notional / quantity).quantize(_FINEST)), notional=notional,
        fees=fees,
        latency_penalty=penalty, all_in_cost=v.cost(quantity), levels_used=used, reason=why)


def route(request: RouteRequest, books: Sequence[VenueBook]) -> RoutePlan:
    """The cheapest plan for `request` over `books`, with a per-venue explanation."""
    if not books:
        raise Invalid("at least one venue is needed to route", field="venues")
    if len({b.venue for b in books}) != len(books):
        raise Invalid("venue names must be unique", field="venues")
    with localcontext(MONEY_CONTEXT):
        venues = {b.venue: _Venue(b, request) for b in books}
        want = request.quantity.value
        shares, notes = _allocate(venues, want)
        singles: list[tuple[Decimal, Decimal, str, dict[str, Decimal]]] = []
        for name, v in venues.items():
            alone, _ = _allocate({name: v}, want)
            if alone:
                singles.append((-alone[name], _total(venues, alone), name, alone))
        singles.sort(key=lambda s: (s[0], s[1], s[2]))
        best_single = singles[0] if singles else None
        strategy = "split"
        routed = sum(shares.values(), _ZERO)
        cost = _total(venues, shares)
        if best_single is not None and (-best_single[0], -best_single[1]) > (routed, -cost):
            notes.append(f"single venue {best_single[2]} beats the split after lot rounding")
            shares, routed, cost, strategy = best_single[3], -best_single[0], \
                best_single[1], "single"
        comparable = [s for s in singles if -s[0] == routed]
        ordered = sorted(shares, key=lambda n: venues[n].unit_cost(venues[n].levels[0][0]))
        allocations = tuple(_explain(venues[n], shares[n], i == 0, strategy == "split")
                            for i, n in enumerate(ordered))
        for name, v in venues.items():
            if name not in shares:
                reason = "no liquidity within the limit" if not v.levels else (
                    "no balance" if v.balance_cap() <= 0 else "costlier than the others")
                notes.append(f"{name} unused: {reason}")
        if routed < want:
            notes.append(f"{_s(want - routed)} not routed: depth, balance, limit or lot "
                         "constraints leave no venue that can take it")
        return RoutePlan(
            side=request.side, requested=request.quantity, routed=Quantity(routed),
            allocations=allocations, all_in_cost=cost,
            best_single_venue=comparable[0][2] if comparable else None,
            best_single_cost=comparable[0][1] if comparable else None,
            strategy=strategy, notes=tuple(notes))
