"""An L2 order book in Decimal, shared by every venue adapter: price -> size per side.

Each side is a dict (O(1) update of an existing level, which is most of the traffic) and an
ascending list of its prices kept with `bisect`, so the top of book and the first N levels
are slices rather than sorts. Prices and sizes stay `Decimal` from the wire string to the
consumer: a float book would make "61837.63" and "61837.630000001" two levels.

`apply_levels` is the hot path the benchmark measures (bench/market_book.py): it takes
already-parsed Decimals so the cost of parsing is measured separately.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TypeAlias

from argosy.kernel.messages import Side

__all__ = ["BookSide", "Level", "OrderBook", "apply_levels", "parse_levels"]

Level: TypeAlias = tuple[Decimal, Decimal]
_ZERO = Decimal(0)


def parse_levels(raw: Iterable[Sequence[str]]) -> list[Level]:
    """`[["61837.63", "0.5"], ...]` as Binance sends it, into Decimal pairs."""
    return [(Decimal(level[0]), Decimal(level[1])) for level in raw]


class BookSide:
    """One side; `_prices` is ascending for both sides (best bid is the last element)."""

    __slots__ = ("_levels", "_prices", "is_bid")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self._levels: dict[Decimal, Decimal] = {}
        self._prices: list[Decimal] = []

    def __len__(self) -> int:
        return len(self._levels)

    def get(self, price: Decimal) -> Decimal | None:
        return self._levels.get(price)

    def set(self, price: Decimal, qty: Decimal) -> None:
        levels = self._levels
        if qty == _ZERO:
            # Removing a level we never had is normal (Binance docs, step 9).
            if levels.pop(price, None) is not None:
                prices = self._prices
                del prices[bisect_left(prices, price)]
            return
        if price not in levels:
            insort(self._prices, price)
        levels[price] = qty

    def replace(self, levels: Iterable[Level]) -> None:
        self._levels = {price: qty for price, qty in levels if qty != _ZERO}
        self._prices = sorted(self._levels)

    def best(self) -> Level | None:
        if not self._prices:
            return None
        price = self._prices[-1] if self.is_bid else self._prices[0]
        return price, self._levels[price]

    def top(self, n: int | None = None) -> list[Level]:
        """Best first; all levels when `n` is None."""
        prices = self._prices[::-1] if self.is_bid else self._prices
        chosen = prices if n is None else prices[:n]
        return [(price, self._levels[price]) for price in chosen]

    def as_dict(self) -> dict[Decimal, Decimal]:
        return dict(self._levels)


def apply_levels(side: BookSide, levels: Iterable[Level]) -> None:
    """Set each (price, size) on `side`; a size of 0 removes the level.

    `BookSide.set` inlined: this loop is the book's hot path, and a method call per level
    costs as much as the dict update itself.
    """
    book, prices = side._levels, side._prices
    for price, qty in levels:
        if qty:  # a Decimal is falsy exactly when it is zero, whatever its exponent
            if price not in book:
                insort(prices, price)
            book[price] = qty
        elif book.pop(price, None) is not None:
            del prices[bisect_left(prices, price)]


class OrderBook:
    """Both sides of one symbol's book and the venue update id it reflects.

    A REST snapshot holds only the best N levels, so after `load` the book is complete
    between `bid_floor` and `ask_ceiling` (the snapshot's deepest levels); beyond them it
    knows only the levels that diffs have touched since.
    """

    __slots__ = ("ask_ceiling", "asks", "bid_floor", "bids", "last_update_id", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.last_update_id = 0
        self.bid_floor: Decimal | None = None
        self.ask_ceiling: Decimal | None = None

    def load(self, bids: Iterable[Level], asks: Iterable[Level], last_update_id: int) -> None:
        self.bids.replace(bids)
        self.asks.replace(asks)
        self.last_update_id = last_update_id
        self.bid_floor = self.bids._prices[0] if self.bids._prices else None
        self.ask_ceiling = self.asks._prices[-1] if self.asks._prices else None

    def apply(self, bids: Iterable[Level], asks: Iterable[Level], update_id: int) -> None:
        apply_levels(self.bids, bids)
        apply_levels(self.asks, asks)
        self.last_update_id = update_id

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks

    def best_bid(self) -> Level | None:
        return self.bids.best()

    def best_ask(self) -> Level | None:
        return self.asks.best()

    def depth(self, n: int | None = None) -> tuple[list[Level], list[Level]]:
        """The best `n` levels per side (bids descending, asks ascending)."""
        return self.bids.top(n), self.asks.top(n)

    def is_crossed(self) -> bool:
        """Best bid at or above best ask: never true of a correctly synced book."""
        bid, ask = self.bids.best(), self.asks.best()
        return bid is not None and ask is not None and bid[0] >= ask[0]

    def diff_to(self, other: OrderBook) -> list[tuple[Side, Decimal, Decimal]]:
        """Level updates that turn this book into `other` (size 0 = remove).

        Used after a resync: publishing the difference lets a consumer that only applies
        deltas converge on the new snapshot without a "clear" message.
        """
        changes: list[tuple[Side, Decimal, Decimal]] = []
        for side, mine, theirs in (
            (Side.BUY, self.bids._levels, other.bids._levels),
            (Side.SELL, self.asks._levels, other.asks._levels),
        ):
            changes.extend((side, price, _ZERO) for price in mine if price not in theirs)
            changes.extend(
                (side, price, qty) for price, qty in theirs.items() if mine.get(price) != qty
            )
        return changes

    def same_levels(self, other: OrderBook) -> bool:
        return self.bids._levels == other.bids._levels and self.asks._levels == other.asks._levels

    def copy(self) -> OrderBook:
        clone = OrderBook(self.symbol)
        clone.load(self.bids.top(), self.asks.top(), self.last_update_id)
        clone.bid_floor, clone.ask_ceiling = self.bid_floor, self.ask_ceiling
        return clone
