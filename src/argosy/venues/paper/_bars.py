"""Bar mode: matching when the only market data is OHLCV bars (backtests on klines).

The documented fill rule, chosen to match the peers in ../shared/bench-peers (backtrader
with cheat-on-open, vectorbt with shifted signals):
- a market order (and an IOC/FOK limit) submitted while bar t is the latest fills at the
  OPEN of bar t+1, as taker, with unlimited liquidity (slippage and taker fee apply);
- within a bar the price is assumed to travel open -> nearer extreme -> other extreme ->
  close (O-H-L-C when the high is nearer the open, else O-L-H-C), continuously;
- a resting limit fills completely when the path reaches its price: at the open when the
  bar opens through it (a gap gives the better open price), else at its own price, as maker;
- a stop triggers when the path reaches its stop: a market stop fills at the open on a gap,
  else at the stop price (taker); a stop-limit then behaves as a limit from that point.
Bar volume does not cap fills (the peers assume unlimited liquidity too). With
`PaperSettings.shrink_market_buys`, a market buy the balance cannot pay at the open fills
the affordable size and cancels the rest (the peers' all-in orders are sized at the fill).
"""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.orders import Liquidity, OrderStatus
from argosy.venues.paper._book import Market, OwnSide
from argosy.venues.paper._engine import Engine
from argosy.venues.paper._order import LiveOrder
from argosy.venues.paper._triggers import trigger_level

__all__ = ["fill_parked", "run_bar"]


def run_bar(engine: Engine, m: Market, open_: Decimal, high: Decimal, low: Decimal,
            close: Decimal, ts_open: int, ts_close: int) -> None:
    m.has_bars = True
    path = (open_, high, low, close) if high - open_ <= open_ - low else \
        (open_, low, high, close)
    for index, price in enumerate(path):
        at_open = index == 0
        ts = ts_open if at_open else ts_close
        if at_open and m.parked:
            fill_parked(engine, m, price, ts)
        if m.triggers:
            _triggers(engine, m, price, at_open, ts)
        if m.own_bids and m.own_bids.prices[-1] >= price:
            _sweep(engine, m, m.own_bids, True, price, at_open, ts)
        if m.own_asks and m.own_asks.prices[0] <= price:
            _sweep(engine, m, m.own_asks, False, price, at_open, ts)
        m.last_price = price


def _taker(engine: Engine, m: Market, o: LiveOrder, price: Decimal, ts: int) -> None:
    """Fill the whole (reduce-only capped) rest at `price` plus slippage, or end the order."""
    start = len(o.fills)
    qty = engine.cap(m, o, o.remaining)
    if not qty:
        engine.finish(o, OrderStatus.CANCELLED, "reduce-only: no opposite position to reduce",
                      ts, start)
        return
    fill_price = engine.slipped(m, price, o.is_buy)
    reason = "reduce-only: rest exceeds the position"
    if not engine.affordable(m, o, [(fill_price, qty)]):
        if engine.shrink_market_buys and o.is_buy and o.is_market and not m.is_perp:
            qty = engine.affordable_qty(m, o, fill_price, qty)
            reason = "shrunk to the size the balance pays at this price"
        if not qty or qty < m.instrument.min_qty.value or qty == o.remaining:
            engine.finish(o, OrderStatus.EXPIRED, "insufficient balance at execution", ts,
                          start)
            return
    engine.fill(m, o, fill_price, qty, Liquidity.TAKER, ts)
    if o.is_open:  # capped by reduce-only or by the balance: the rest cannot trade
        engine.finish(o, OrderStatus.CANCELLED, reason, ts, start)
    else:
        engine.report(o, ts, start)


def fill_parked(engine: Engine, m: Market, open_: Decimal, ts: int) -> None:
    """Waiting market / IOC / FOK orders meet `open_`: a bar's open, or in trade mode (no
    book, no bars) the next trade's price."""
    parked, m.parked = m.parked, []
    for o in parked:
        if not o.is_open:
            continue
        limit = o.price
        if o.is_market or limit is None or (open_ <= limit if o.is_buy else open_ >= limit):
            _taker(engine, m, o, open_, ts)
        else:
            engine.finish(o, OrderStatus.EXPIRED, f"{o.tif.value}: limit not reached",
                          ts, len(o.fills))


def _triggers(engine: Engine, m: Market, price: Decimal, at_open: bool, ts: int) -> None:
    for o in list(m.triggers):
        level = trigger_level(o, price) if o.is_open else None
        if level is None:
            continue
        m.triggers.remove(o)
        o.triggered = True
        reached = price if at_open else level
        if o.is_market:
            _taker(engine, m, o, reached, ts)
            continue
        limit = o.price
        assert limit is not None
        if reached <= limit if o.is_buy else reached >= limit:
            _taker(engine, m, o, reached, ts)
        else:
            engine.rest(m, o)
            engine.report(o, ts, len(o.fills))


def _sweep(engine: Engine, m: Market, own: OwnSide, is_bid: bool, price: Decimal,
           at_open: bool, ts: int) -> None:
    """Every own order the path reached fills completely (open price on a gap)."""
    prices = own.prices
    while prices:
        level = prices[-1] if is_bid else prices[0]
        if level < price if is_bid else level > price:
            return
        for o in list(own.by_price[level]):
            engine.maker_fill(m, o, price if at_open else level, o.remaining, ts)
