"""Properties over random order flow and market data: money ties out to the last digit.

Each example drives one venue with a random mix of orders (every type and time in force),
cancels, trades and book deltas, then checks:
- balances = starting balances + the effect of every fill, exactly (spot), and the
  perpetual wallet = start + realized PnL - fees with the position = signed fill sum;
- no balance is ever negative and the locked amounts are exactly what open orders hold;
- no fill is better than the book allowed: a taker never buys below the best ask (sells
  above the best bid) of the moment, and nobody gets a better price than their limit;
- the same inputs give byte-identical fills.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argosy.kernel.clock import SimClock
from argosy.kernel.errors import VenueRejected
from argosy.kernel.orders import Liquidity, OrderRequest, VenueFill
from argosy.venues.paper.venue import PaperVenue
from tests.unit.venues.paper._paper import PERP, SPOT, delta, order, trade, venue_factory

D = Decimal
KINDS = ["market", "limit", "limit", "post_only", "stop_market", "stop_limit", "take_profit",
         "trailing_stop"]
TIFS = ["gtc", "gtc", "ioc", "fok", "gtd"]

price_st = st.integers(9_600, 10_500).map(lambda c: f"{D(c) / 100}")
qty_st = st.integers(6, 300).map(lambda n: f"{D(n) / 100}")
submit_st = st.tuples(st.just("submit"), st.sampled_from(["buy", "sell"]),
                      st.sampled_from(KINDS), qty_st, price_st, st.sampled_from(TIFS),
                      st.booleans())
trade_st = st.tuples(st.just("trade"), price_st, qty_st, st.sampled_from(["buy", "sell"]))
delta_st = st.tuples(st.just("delta"), st.sampled_from(["buy", "sell"]), price_st,
                     st.integers(0, 400).map(lambda n: f"{D(n) / 100}"))
cancel_st = st.tuples(st.just("cancel"), st.integers(0, 50))
ops_st = st.lists(st.one_of(submit_st, submit_st, trade_st, delta_st, cancel_st),
                  min_size=10, max_size=80)


def _request(op: tuple[Any, ...], perp: bool, cid: str) -> OrderRequest:
    _, side, kind, qty, price, tif, reduce = op
    inst = PERP if perp else SPOT
    if perp:
        price = f"{D(price).quantize(D('0.1'))}"
        qty = f"{max(D(qty).quantize(D('0.001')), D('0.001'))}"
    kw: dict[str, Any] = {"inst": inst, "cid": cid}
    if kind in ("stop_market", "stop_limit", "take_profit"):
        kw["stop"] = price
    if kind == "trailing_stop":
        kw["trailing_bps"] = 50
    if tif == "gtd":
        kw["expire_at_ns"] = 1_000_000_000 + 5_000
    if perp and reduce:
        kw["reduce_only"] = True
    limit = price if kind in ("limit", "post_only", "stop_limit") else None
    if kind in ("market", "stop_market", "take_profit", "trailing_stop"):
        tif = "gtc" if tif in ("gtd",) else tif
    return order(side, kind, qty, limit, tif=tif, **kw)


def drive(ops: list[tuple[Any, ...]], perp: bool, latency: int = 0
          ) -> tuple[PaperVenue, list[str]]:
    clock = SimClock(1_000_000_000)
    venue = venue_factory(clock)(balances={"USDT": "20000", "BTC": "5"}, latency_ns=latency)
    inst = PERP if perp else SPOT
    asks = {D("101"): D(1), D("102"): D(2), D("103"): D(3)}
    bids = {D("100"): D(1), D("99"): D(2), D("98"): D(3)}
    violations: list[str] = []
    sent: list[OrderRequest] = []

    def check_taker(fills: tuple[VenueFill, ...] | list[VenueFill], best_ask: D | None,
                    best_bid: D | None) -> None:
        for f in fills:
            if f.liquidity is not Liquidity.TAKER:
                continue
            if f.side.value == "buy" and best_ask is not None and f.price.value < best_ask:
                violations.append(f"taker buy {f.price} below best ask {best_ask}")
            if f.side.value == "sell" and best_bid is not None and f.price.value > best_bid:
                violations.append(f"taker sell {f.price} above best bid {best_bid}")

    for step, op in enumerate(ops):
        ts = clock.now_ns() + 1
        clock.advance_to(ts)
        best_ask = min(asks) if asks else None
        best_bid = max(bids) if bids else None
        before = len(venue.all_fills())
        if op[0] == "submit":
            request = _request(op, perp, f"o{step}")
            try:
                venue.submit_now(request)
                sent.append(request)
            except VenueRejected:
                pass
        elif op[0] == "cancel" and sent:
            request = sent[op[1] % len(sent)]
            venue.cancel_now(request.instrument_id, request.client_order_id)
        elif op[0] == "trade":
            venue.on_trade(trade(op[1] if not perp else f"{D(op[1]).quantize(D('0.1'))}",
                                 op[2], op[3], ts, inst))
        elif op[0] == "delta":
            price = D(op[2]) if not perp else D(op[2]).quantize(D("0.1"))
            side = bids if op[1] == "buy" else asks
            if D(op[3]):
                side[price] = D(op[3])
            else:
                side.pop(price, None)
            venue.on_book_delta(delta(op[1], f"{price}", op[3], ts, inst))
        if op[0] == "submit":
            check_taker(venue.all_fills()[before:], best_ask, best_bid)
    return venue, violations


def _limits_respected(venue: PaperVenue) -> None:
    for f in venue.all_fills():
        o = venue._known(f.instrument_id, f.client_order_id)
        assert o is not None
        if o.price is not None:
            assert (f.price.value <= o.price) if o.is_buy else (f.price.value >= o.price)


def _locks_match(venue: PaperVenue) -> None:
    locked: dict[str, D] = {}
    for o in venue._orders.values():
        if o.is_open and o.lock and o.instrument.kind.value == "spot":
            asset = o.instrument.quote if o.is_buy else o.instrument.base
            locked[asset] = locked.get(asset, D(0)) + o.lock
    for asset, (free, held) in venue.balance_detail().items():
        assert free >= 0, f"{asset} free went negative: {free}"
        assert held == locked.get(asset, D(0))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_st)
def test_spot_balances_equal_start_plus_fills(ops: list[tuple[Any, ...]]) -> None:
    venue, violations = drive(ops, perp=False)
    assert violations == []
    expected = {"USDT": D(20000), "BTC": D(5)}
    for f in venue.all_fills():
        value = f.price.value * f.quantity.value
        if f.side.value == "buy":
            expected["BTC"] += f.quantity.value
            expected["USDT"] -= value + f.fee.value
        else:
            expected["BTC"] -= f.quantity.value
            expected["USDT"] += value - f.fee.value
    detail = venue.balance_detail()
    for asset, amount in expected.items():
        free, held = detail[asset]
        assert free + held == amount
    _locks_match(venue)
    _limits_respected(venue)
    for o in venue._orders.values():
        assert o.filled == sum((f.quantity.value for f in o.fills), D(0)) <= o.quantity


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_st)
def test_perp_wallet_and_position_tie_out(ops: list[tuple[Any, ...]]) -> None:
    venue, violations = drive(ops, perp=True)
    assert violations == []
    signed = sum(((f.quantity.value if f.side.value == "buy" else -f.quantity.value)
                  for f in venue.all_fills()), D(0))
    fees = sum((f.fee.value for f in venue.all_fills()), D(0))
    position = venue.position_detail(PERP.id)
    if position is None:
        assert venue.all_fills() == []
        return
    assert position.quantity == signed
    assert position.fees == fees
    assert venue.balance_detail()["USDT"][0] == D(20000) + position.realized_pnl - fees
    _limits_respected(venue)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_st, latency=st.sampled_from([0, 3]))
def test_same_inputs_same_fills_byte_for_byte(ops: list[tuple[Any, ...]], latency: int) -> None:
    first, _ = drive(ops, perp=False, latency=latency)
    second, _ = drive(ops, perp=False, latency=latency)
    assert [repr(f) for f in first.all_fills()] == [repr(f) for f in second.all_fills()]


bar_st = st.tuples(st.just("bar"), st.lists(price_st, min_size=4, max_size=4))
bar_ops_st = st.lists(st.one_of(submit_st, submit_st, bar_st, bar_st, cancel_st),
                      min_size=10, max_size=60)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=bar_ops_st, shrink=st.booleans())
def test_bar_mode_balances_tie_out(ops: list[tuple[Any, ...]], shrink: bool) -> None:
    from argosy.kernel.messages import Bar, Interval
    from argosy.kernel.money import Price, Quantity

    clock = SimClock(1_000_000_000)
    venue = venue_factory(clock)(balances={"USDT": "2000", "BTC": "5"}, book=False,
                                 shrink_market_buys=shrink)
    sent: list[OrderRequest] = []
    minute = 60_000_000_000
    for step, op in enumerate(ops):
        if op[0] == "bar":
            o, c = D(op[1][0]), D(op[1][1])
            high, low = max(o, c, D(op[1][2])), min(o, c, D(op[1][3]))
            start = clock.now_ns()
            venue.on_bar(Bar(SPOT.id, Interval.M1, Price(o), Price(high), Price(low),
                             Price(c), Quantity(1), start, start + minute))
            clock.advance(minute)
        elif op[0] == "submit":
            request = _request(op, False, f"o{step}")
            try:
                venue.submit_now(request)
                sent.append(request)
            except VenueRejected:
                pass
        elif sent:
            request = sent[op[1] % len(sent)]
            venue.cancel_now(request.instrument_id, request.client_order_id)
    expected = {"USDT": D(2000), "BTC": D(5)}
    for f in venue.all_fills():
        value = f.price.value * f.quantity.value
        sign = 1 if f.side.value == "buy" else -1
        expected["BTC"] += sign * f.quantity.value
        expected["USDT"] -= sign * value + f.fee.value
    detail = venue.balance_detail()
    for asset, amount in expected.items():
        assert sum(detail[asset]) == amount
    _locks_match(venue)
    _limits_respected(venue)
