"""Order matching on the fake exchange: the replayed book takes, replayed trades fill.

A taking order (market, marketable limit, triggered stop) walks the opposite side of the
book the replay holds at that moment (the exchange's book, see timeline.Player), level by
level, within its limit price; the replayed book itself is not changed by our orders, since
the recording goes on as it happened. A resting limit order is filled, at its own price and
as maker, by each later replayed trade printed strictly through that price, up to the
trade's size (a trade exactly at the price says nothing about our place in the queue, so
it fills nothing: conservative). Stops, take-profits and trailing stops trigger on replayed
trade prices, then execute as market or limit orders. Binance's rejections keep their
codes: -2010 (insufficient balance, would take as maker, would trigger immediately),
-2019 / -2022 (USD-M margin, reduce-only), -5022 (USD-M post-only would take).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.book import OrderBook
from argosy.venues.replay._accounts import ZERO, TradingAccount
from argosy.venues.replay._rest import BinanceError

__all__ = ["FakeFill", "FakeOrder", "Matcher", "reject"]

_STOP_LIKE = {"STOP_LOSS", "STOP_LOSS_LIMIT", "STOP", "STOP_MARKET"}
_PROFIT_LIKE = {"TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "TAKE_PROFIT_MARKET"}
_MARKET_AFTER_TRIGGER = {"STOP_LOSS", "STOP_MARKET", "TAKE_PROFIT_MARKET",
                         "TRAILING_STOP_MARKET"}
_LIMIT_AFTER_TRIGGER = {"STOP_LOSS_LIMIT", "STOP", "TAKE_PROFIT_LIMIT"}
LIVE = ("NEW", "PARTIALLY_FILLED")


def reject(code: int, msg: str) -> BinanceError:
    return BinanceError(400, code, msg)


@dataclass(slots=True)
class FakeOrder:
    market: BinanceMarket
    symbol: str
    base: str
    quote: str
    order_id: int
    client_id: str
    account: str
    side: str  # BUY / SELL
    type: str  # as placed (Binance's name)
    tif: str
    qty: Decimal
    price: Decimal = ZERO
    stop_price: Decimal = ZERO
    trailing_delta: Decimal | None = None  # fraction, e.g. 0.005
    activation_price: Decimal = ZERO
    reduce_only: bool = False
    good_till_ms: int = 0
    status: str = "NEW"
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    created_ms: int = 0
    updated_ms: int = 0
    triggered: bool = True  # False for a stop waiting for its price
    extreme: Decimal = ZERO  # trailing: best price since activation (0: not active yet)
    lock_asset: str = ""
    lock_price: Decimal = ZERO  # spot buy: quote locked per unit

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed

    @property
    def buy(self) -> bool:
        return self.side == "BUY"

    @property
    def live(self) -> bool:
        return self.status in LIVE


@dataclass(frozen=True, slots=True)
class FakeFill:
    trade_id: int
    order: FakeOrder
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    realized: Decimal
    time_ms: int


Notify = Callable[[FakeOrder, str, FakeFill | None], None]  # order, execution type, fill


class Matcher:
    """Orders of every account on one fake exchange; `notify` reports each change."""

    def __init__(self, book_of: Callable[[BinanceMarket, str], OrderBook | None],
                 account_of: Callable[[str], TradingAccount],
                 fees: dict[BinanceMarket, tuple[Decimal, Decimal]],
                 now_ms: Callable[[], int], notify: Notify) -> None:
        self._book_of = book_of
        self._account_of = account_of
        self._fees = fees  # (maker, taker) rate per market
        self._now_ms = now_ms
        self._notify = notify
        self.resting: dict[tuple[BinanceMarket, str], list[FakeOrder]] = {}
        self.last_price: dict[tuple[BinanceMarket, str], Decimal] = {}
        self._trade_ids: dict[tuple[BinanceMarket, str], int] = {}

    # --- placing ------------------------------------------------------------------------

    def reference_price(self, market: BinanceMarket, symbol: str) -> Decimal | None:
        last = self.last_price.get((market, symbol))
        if last is not None:
            return last
        book = self._book_of(market, symbol)
        bid, ask = (book.best_bid(), book.best_ask()) if book else (None, None)
        if bid and ask:
            return (bid[0] + ask[0]) / 2
        return None

    def place(self, order: FakeOrder) -> None:
        """Accept or refuse (BinanceError) `order`; takes what it can at once."""
        account = self._account_of(order.account)
        if order.market is BinanceMarket.USDM:
            self._check_futures(order, account)
        if order.type in _STOP_LIKE | _PROFIT_LIKE or order.trailing_delta is not None:
            self._arm(order)
            self._rest(order)
            self._notify(order, "NEW", None)
            return
        if order.market is BinanceMarket.SPOT:
            self._lock_spot(order, account)
        self._execute(order, account, new=True)

    def _check_futures(self, order: FakeOrder, account: TradingAccount) -> None:
        position = account.position(order.symbol)
        if order.reduce_only and (position.amount == 0 or (position.amount > 0) == order.buy):
            raise reject(-2022, "ReduceOnly Order is rejected.")
        if order.reduce_only:
            return
        price = order.price or self.reference_price(order.market, order.symbol) or ZERO
        used = sum((abs(p.amount) * p.entry / p.leverage for p in account.positions.values()),
                   ZERO)
        margin = order.qty * price / position.leverage
        if margin > account.wallet["USDT"] - used:
            raise reject(-2019, "Margin is insufficient.")

    def _arm(self, order: FakeOrder) -> None:
        order.triggered = False
        price = self.reference_price(order.market, order.symbol)
        if order.trailing_delta is not None:
            if order.activation_price == 0 and price is not None:
                order.extreme = price  # active at once, from the current price
            return
        if price is not None and self._crossed(order, price):
            if order.market is BinanceMarket.USDM:
                raise reject(-2021, "Order would immediately trigger.")
            raise reject(-2010, "Stop price would trigger immediately.")

    def _crossed(self, order: FakeOrder, price: Decimal) -> bool:
        stop = order.stop_price
        if order.type in _STOP_LIKE:
            return price >= stop if order.buy else price <= stop
        return price <= stop if order.buy else price >= stop

    def _lock_spot(self, order: FakeOrder, account: TradingAccount) -> None:
        if not order.buy:
            order.lock_asset, order.lock_price = order.base, ZERO
            if not account.lock(order.base, order.qty):
                raise reject(-2010, "Account has insufficient balance for requested action.")
        elif order.price > 0:
            order.lock_asset, order.lock_price = order.quote, order.price
            if not account.lock(order.quote, order.price * order.qty):
                raise reject(-2010, "Account has insufficient balance for requested action.")

    def _walk(self, order: FakeOrder) -> list[tuple[Decimal, Decimal]]:
        book = self._book_of(order.market, order.symbol)
        if book is None:
            raise reject(-2010, "No order book for this symbol yet (replay).")
        levels = book.asks.top() if order.buy else book.bids.top()
        out, left = [], order.remaining
        for price, size in levels:
            if left <= 0:
                break
            if order.price > 0 and (price > order.price if order.buy else price < order.price):
                break
            take = min(left, size)
            out.append((price, take))
            left -= take
        return out

    def _execute(self, order: FakeOrder, account: TradingAccount, new: bool) -> None:
        takes = self._walk(order)
        post_only = order.type == "LIMIT_MAKER" or order.tif == "GTX"
        if post_only and takes:
            self._release(order, account)
            if order.market is BinanceMarket.SPOT:
                raise reject(-2010, "Order would immediately match and take.")
            raise reject(-5022, "Due to the order could not be executed as maker, the Post "
                                "Only order will be rejected.")
        taken = sum((q for _, q in takes), ZERO)
        if order.tif == "FOK" and taken < order.remaining:
            takes = []
        if order.market is BinanceMarket.SPOT and order.buy and order.lock_price == 0:
            cost = sum((p * q for p, q in takes), ZERO)
            if account.spot[order.quote].free < cost:
                raise reject(-2010, "Account has insufficient balance for requested action.")
        if order.reduce_only:
            cap = abs(account.position(order.symbol).amount)
            takes = _cap(takes, cap)
        if new:
            self._notify(order, "NEW", None)
        for price, qty in takes:
            self._fill(order, account, price, qty, maker=False)
        if order.remaining > 0 and (order.price == 0 or order.tif in ("IOC", "FOK")
                                    or (order.reduce_only and not takes)):
            self.finish(order, "EXPIRED")
        elif order.remaining > 0:
            self._rest(order)

    def _rest(self, order: FakeOrder) -> None:
        self.resting.setdefault((order.market, order.symbol), []).append(order)

    # --- fills and endings --------------------------------------------------------------

    def _fill(self, order: FakeOrder, account: TradingAccount, price: Decimal, qty: Decimal,
              maker: bool) -> None:
        key = (order.market, order.symbol)
        self._trade_ids[key] = trade_id = self._trade_ids.get(key, 1_000_000) + 1
        rate = self._fees[order.market][0 if maker else 1]
        realized = ZERO
        if order.market is BinanceMarket.SPOT:
            commission, asset = self._settle_spot(order, account, price, qty, rate)
        else:
            asset, commission = "USDT", price * qty * rate
            position = account.position(order.symbol)
            realized = position.apply(qty if order.buy else -qty, price)
            position.update_ms = self._now_ms()
            account.wallet["USDT"] += realized - commission
        order.executed += qty
        order.cum_quote += price * qty
        order.updated_ms = self._now_ms()
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        fill = FakeFill(trade_id, order, price, qty, commission, asset, maker, realized,
                        order.updated_ms)
        if order.status == "FILLED":
            self._unrest(order)
        self._notify(order, "TRADE", fill)

    def _settle_spot(self, order: FakeOrder, account: TradingAccount, price: Decimal,
                     qty: Decimal, rate: Decimal) -> tuple[Decimal, str]:
        base, quote = account.spot[order.base], account.spot[order.quote]
        if order.buy:
            if order.lock_price > 0:
                quote.locked -= order.lock_price * qty
                quote.free += (order.lock_price - price) * qty
            else:
                quote.free -= price * qty
            commission = qty * rate
            base.free += qty - commission
            return commission, order.base
        base.locked -= qty
        commission = price * qty * rate
        quote.free += price * qty - commission
        return commission, order.quote

    def _release(self, order: FakeOrder, account: TradingAccount) -> None:
        if order.market is not BinanceMarket.SPOT or not order.lock_asset:
            return
        per_unit = order.lock_price if order.lock_price > 0 else Decimal(1)
        account.unlock(order.lock_asset, per_unit * order.remaining)
        order.lock_asset = ""

    def _unrest(self, order: FakeOrder) -> None:
        orders = self.resting.get((order.market, order.symbol), [])
        if order in orders:
            orders.remove(order)

    def finish(self, order: FakeOrder, status: str) -> None:
        """End a live order (CANCELED, EXPIRED), giving back what it had locked."""
        self._release(order, self._account_of(order.account))
        self._unrest(order)
        order.status = status
        order.updated_ms = self._now_ms()
        self._notify(order, status, None)

    # --- the replayed tape --------------------------------------------------------------

    def on_trade(self, market: BinanceMarket, symbol: str, price: Decimal, qty: Decimal
                 ) -> None:
        key = (market, symbol)
        self.last_price[key] = price
        now = self._now_ms()
        orders = sorted(self.resting.get(key, ()), key=lambda o: (
            -o.price if o.buy else o.price, o.order_id))
        left = qty
        for order in orders:
            if not order.live:
                continue
            if order.good_till_ms and now >= order.good_till_ms:
                self.finish(order, "EXPIRED")
            elif not order.triggered:
                self._watch_trigger(order, price)
            elif left > 0 and (price < order.price if order.buy else price > order.price):
                take = min(left, order.remaining)
                left -= take
                self._fill(order, self._account_of(order.account), order.price, take,
                           maker=True)

    def _watch_trigger(self, order: FakeOrder, price: Decimal) -> None:
        if order.trailing_delta is not None:
            if order.extreme == 0:
                reached = price <= order.activation_price if order.buy else \
                    price >= order.activation_price
                if not reached:
                    return
                order.extreme = price
            order.extreme = min(order.extreme, price) if order.buy else max(order.extreme, price)
            bound = order.extreme * (1 + order.trailing_delta) if order.buy else \
                order.extreme * (1 - order.trailing_delta)
            if not (price >= bound if order.buy else price <= bound):
                return
        elif not self._crossed(order, price):
            return
        self._trigger(order)

    def _trigger(self, order: FakeOrder) -> None:
        account = self._account_of(order.account)
        self._unrest(order)
        order.triggered = True
        if order.type in _MARKET_AFTER_TRIGGER or order.trailing_delta is not None:
            order.price = ZERO
        try:
            if order.market is BinanceMarket.SPOT:
                self._lock_spot(order, account)
            self._execute(order, account, new=False)
        except BinanceError:
            self.finish(order, "EXPIRED")


def _cap(takes: list[tuple[Decimal, Decimal]], cap: Decimal) -> list[tuple[Decimal, Decimal]]:
    out = []
    for price, qty in takes:
        if cap <= 0:
            break
        out.append((price, min(qty, cap)))
        cap -= min(qty, cap)
    return out
