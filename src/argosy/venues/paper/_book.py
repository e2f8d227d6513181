"""Per-instrument state of the matching engine: the venue's L2 book and our resting orders.

The book is a copy of the venue's public depth (from snapshots and deltas); our own orders
are not in it, they sit beside it with an estimate of the volume queued ahead of them.
Liquidity our taker orders consume is taken out of the copy until the venue's next update
of that level, so two orders in a row cannot both take the same size.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from decimal import Decimal

from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.venues.paper._order import LiveOrder
from argosy.venues.paper.settings import FeeSchedule

__all__ = ["Levels", "Market", "OwnSide"]

_ZERO = Decimal(0)


class Levels:
    """One side of the public book: price -> size, and the prices ascending."""

    __slots__ = ("prices", "sizes")

    def __init__(self) -> None:
        self.sizes: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def set(self, price: Decimal, size: Decimal) -> None:
        sizes = self.sizes
        if size:
            if price not in sizes:
                insort(self.prices, price)
            sizes[price] = size
        elif sizes.pop(price, None) is not None:
            del self.prices[bisect_left(self.prices, price)]

    def replace(self, levels: Iterable[tuple[Decimal, Decimal]]) -> None:
        self.sizes = {price: size for price, size in levels if size}
        self.prices = sorted(self.sizes)


class OwnSide:
    """Our resting orders on one side, FIFO per price, with the prices ascending."""

    __slots__ = ("by_price", "prices", "traded")

    def __init__(self) -> None:
        self.by_price: dict[Decimal, list[LiveOrder]] = {}
        self.prices: list[Decimal] = []
        self.traded: dict[Decimal, Decimal] = {}  # trade volume not yet seen in a delta

    def __bool__(self) -> bool:
        return bool(self.prices)

    def add(self, order: LiveOrder, price: Decimal) -> None:
        queue = self.by_price.get(price)
        if queue is None:
            self.by_price[price] = [order]
            insort(self.prices, price)
        else:
            queue.append(order)

    def remove(self, order: LiveOrder, price: Decimal) -> None:
        queue = self.by_price.get(price)
        if queue is None or order not in queue:
            return
        queue.remove(order)
        if not queue:
            del self.by_price[price]
            del self.prices[bisect_left(self.prices, price)]
            self.traded.pop(price, None)


class Market:
    """Everything matching needs about one instrument, in one slotted record."""

    __slots__ = ("asks", "bids", "fees", "has_bars", "has_book", "instrument", "is_perp",
                 "key", "l2", "last_price", "leverage", "maker", "own_asks", "own_bids",
                 "parked", "taker", "triggers")

    def __init__(self, instrument: Instrument, fees: FeeSchedule, leverage: int) -> None:
        self.instrument = instrument
        self.key = str(instrument.id)
        self.is_perp = instrument.kind is InstrumentKind.PERP
        self.fees = fees
        self.maker = fees.maker_rate
        self.taker = fees.taker_rate
        self.leverage = leverage
        self.bids = Levels()
        self.asks = Levels()
        self.own_bids = OwnSide()  # our resting buys
        self.own_asks = OwnSide()  # our resting sells
        self.triggers: list[LiveOrder] = []  # stops waiting for their trigger
        self.parked: list[LiveOrder] = []  # bar mode: market orders waiting for the next open
        self.last_price: Decimal | None = None
        self.has_book = False  # some book to take from (L2 data, or quotes)
        self.l2 = False  # depth data arrived; quotes then only adjust the top
        self.has_bars = False

    def best_bid(self) -> Decimal | None:
        return self.bids.prices[-1] if self.bids.prices else None

    def best_ask(self) -> Decimal | None:
        return self.asks.prices[0] if self.asks.prices else None

    def reference_price(self, is_buy: bool) -> Decimal | None:
        """The price a taker would meet now: best opposite level, else the last trade."""
        best = self.best_ask() if is_buy else self.best_bid()
        return best if best is not None else self.last_price
