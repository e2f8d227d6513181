"""Pre-trade check cost per order, and fills/s the real-time risk consumer keeps up with.

Data: the recorded Binance spot BTCUSDT trades in ../shared/data (price, quantity, side of
every trade); each trade becomes one order (pre-trade) or one fill (consumer), spread over
200 accounts in 20 organisations, marks from the same trades.

- µs per order: `PreTradeEngine.check` with 10 and with 100 rules loaded. The 100-rule set
  is realistic (a handful of global/org rules, the rest scoped to particular accounts,
  users and instruments), and "100 covering" is the worst case where every rule applies.
  Baselines in the same run: the engine with no rules (the context's shared facts only),
  a hand-written inline `qty <= limit` (the cheapest possible check), and a naive linear
  scan over the same 100 rules (what the index avoids).
- fills/s: `RealTime.on_trading` on JSON fill envelopes (pydantic parse, book update,
  equity marks, breach check against drawdown and daily-loss rules), directly and through
  the in-memory bus with a consumer group; then the flush of the touched accounts to
  SQLite. Baseline: `orjson.loads` + `FillEvent.model_validate` of the same bytes.

    .venv/bin/python -m bench.risk_pretrade [--repeat 3] [--orders 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from argosy.contracts.v1.events import FillEvent
from argosy.kernel._pretrade_checks import CHECKS, Facts
from argosy.kernel.clock import LiveClock
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.pretrade import (
    OrderContext,
    PreTradeEngine,
    Rule,
    RuleKind,
    RuleSet,
    Scope,
)
from argosy.platform.bus.base import Envelope
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.db.engine import Database
from argosy.platform.db.outbox import Outbox
from argosy.services.risk.domain.book import RiskBook
from argosy.services.risk.service._context import Deps
from argosy.services.risk.service.protection import Protection
from argosy.services.risk.service.realtime import RealTime
from argosy.services.risk.service.rules import RulesService
from argosy.services.risk.settings import RiskSettings
from argosy.services.risk.store import RiskStore

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRADES = DATA / "trades" / "binance_spot_BTCUSDT_trades.csv"
MIGRATIONS = Path(__file__).resolve().parents[1] / "src/argosy/services/risk/migrations"
BTC = InstrumentId.parse("BTC-USDT.binance")
ACCOUNTS, ORGS = 200, 20
NUMERIC = [
    RuleKind.MAX_ORDER_QUANTITY, RuleKind.MAX_ORDER_NOTIONAL, RuleKind.PRICE_BAND_BPS,
    RuleKind.MAX_POSITION, RuleKind.MAX_GROSS_EXPOSURE, RuleKind.MAX_NET_EXPOSURE,
    RuleKind.MAX_LEVERAGE, RuleKind.MAX_OPEN_ORDERS, RuleKind.DAILY_LOSS_LIMIT,
    RuleKind.MAX_DRAWDOWN,
]  # fmt: skip
BIG = {RuleKind.PRICE_BAND_BPS: Decimal(500), RuleKind.MAX_LEVERAGE: Decimal(10),
       RuleKind.MAX_DRAWDOWN: Decimal("0.5"), RuleKind.MAX_OPEN_ORDERS: Decimal(50)}  # fmt: skip


def trades() -> list[tuple[Decimal, Decimal, str]]:
    with TRADES.open() as handle:
        return [
            (Decimal(r["price"]), Decimal(r["qty"]), "sell" if r["is_buyer_maker"] == "true"
             else "buy")
            for r in csv.DictReader(handle)
        ]  # fmt: skip


def _rule(i: int, kind: RuleKind, scope: Scope) -> Rule:
    return Rule(id=f"r{i}", kind=kind, scope=scope, limit=BIG.get(kind, Decimal(10**9)))


def rules_10() -> RuleSet:
    return RuleSet(1, tuple(_rule(i, k, Scope()) for i, k in enumerate(NUMERIC)))


def rules_100(all_cover: bool) -> RuleSet:
    rules = [_rule(i, k, Scope()) for i, k in enumerate(NUMERIC)]
    for i in range(10, 100):
        kind = NUMERIC[i % len(NUMERIC)]
        n = i // len(NUMERIC)
        if all_cover:
            scopes = [
                Scope(org="o0"),
                Scope(user_id="u0"),
                Scope(account_id="a0"),
                Scope(instrument=str(BTC)),
                Scope(org="o0", instrument=str(BTC)),
                Scope(account_id="a0", instrument=str(BTC)),
                Scope(user_id="u0", org="o0"),
                Scope(account_id="a0", org="o0"),
                Scope(account_id="a0", user_id="u0"),
            ]
            scope = scopes[n % len(scopes)]
        else:
            scope = [
                Scope(account_id=f"a{i}"),
                Scope(user_id=f"u{i}"),
                Scope(org=f"o{i}"),
                Scope(org=f"o{i}", instrument="ETH-USDT.binance"),
            ][i % 4]
        rules.append(_rule(i, kind, scope))
    return RuleSet(1, tuple(rules))


def contexts(data: list[tuple[Decimal, Decimal, str]], n: int) -> list[OrderContext]:
    out = []
    for price, qty, side in data[:n]:
        a = 0  # account a0: the one the "all covering" rules are scoped to
        out.append(OrderContext(
            org=f"o{a % ORGS}", user_id=f"u{a}", account_id=f"a{a}", strategy_id=None,
            instrument_id=BTC, side=Side(side), quantity=Quantity(qty), price=Price(price),
            mark_price=Price(price), now_ns=time.time_ns(), position_qty=Decimal("0.1"),
            open_orders=3, gross_exposure=Decimal(5000), net_exposure=Decimal(5000),
            equity=Decimal(100000), day_pnl=Decimal(-50), drawdown=Decimal("0.01"),
        ))  # fmt: skip
    return out


def _time(fn: Any, items: list[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - t)
    return best / len(items) * 1e6


def naive(ruleset: RuleSet) -> Any:
    def check(c: OrderContext) -> bool:
        f = Facts(c)
        inst = str(c.instrument_id)
        for r in ruleset.rules:
            s = r.scope
            if (
                s.org in (None, c.org)
                and s.user_id in (None, c.user_id)
                and s.account_id in (None, c.account_id)
                and s.strategy_id in (None, c.strategy_id)
                and s.instrument in (None, inst)
            ) and CHECKS[r.kind](r, f) is not None:
                return False
        return True

    return check


def bench_pretrade(ctxs: list[OrderContext], repeat: int) -> None:
    limit = Decimal(10**9)

    def inline(c: OrderContext) -> bool:
        return c.quantity.value <= limit

    empty = PreTradeEngine(RuleSet(0)).check
    base_inline = _time(inline, ctxs, repeat)
    base_empty = _time(empty, ctxs, repeat)
    print(f"baseline inline qty<=limit   {base_inline:8.3f} µs/order")
    print(f"baseline engine, 0 rules     {base_empty:8.3f} µs/order")
    for label, rs in (
        ("10 rules", rules_10()),
        ("100 rules", rules_100(False)),
        ("100 rules, all covering", rules_100(True)),
    ):
        engine = PreTradeEngine(rs)
        us = _time(engine.check, ctxs, repeat)
        applied = len(engine.check(ctxs[0]).evaluated)
        scan = _time(naive(rs), ctxs, repeat)
        print(
            f"{label:28s} {us:8.3f} µs/order ({applied} apply; x{us / base_empty:.1f} "
            f"the empty engine; naive linear scan {scan:.3f} µs, x{scan / us:.1f} slower)"
        )


def _deps(db: Database, bus: MemoryBus) -> Deps:
    rs = RuleSet(1, (
        Rule(id="dd", kind=RuleKind.MAX_DRAWDOWN, limit=Decimal("0.99")),
        Rule(id="dl", kind=RuleKind.DAILY_LOSS_LIMIT, limit=Decimal(10**12)),
    ))  # fmt: skip
    d = Deps(db=db, store=RiskStore(), outbox=Outbox(bus=bus), bus=bus, clock=LiveClock(),
             settings=RiskSettings(), objects=None)  # fmt: skip
    from argosy.contracts.v1.risk import ruleset_to_wire

    d.rules.replace(ruleset_to_wire(rs))
    return d


def fill_envelopes(data: list[tuple[Decimal, Decimal, str]]) -> list[Envelope]:
    out = []
    for i, (price, qty, side) in enumerate(data):
        a = i % ACCOUNTS
        body = {"org": f"o{a % ORGS}", "user_id": f"u{a}", "at_ms": i, "account_id": f"a{a}",
                "order_id": f"o{i}", "fill_id": f"f{i}", "instrument": str(BTC), "side": side,
                "price": str(price), "quantity": str(qty), "fee": "0", "fee_asset": "USDT",
                "liquidity": "taker"}  # fmt: skip
        out.append(Envelope(topic=f"trading.fill.a{a}", data=orjson.dumps(body), msg_id=str(i)))
    return out


async def bench_consumer(data: list[tuple[Decimal, Decimal, str]], repeat: int) -> None:
    envs = fill_envelopes(data)
    best_parse = min(_once(lambda: [FillEvent.model_validate(orjson.loads(e.data))
                                    for e in envs]) for _ in range(repeat))  # fmt: skip
    print(f"baseline parse only          {len(envs) / best_parse:10,.0f} fills/s")
    with tempfile.TemporaryDirectory() as tmp:
        bus = MemoryBus(source="risk")
        await bus.connect()
        db = Database(f"sqlite+aiosqlite:///{tmp}/risk.sqlite3", service="risk", data_dir=Path(tmp))
        await db.connect(MIGRATIONS)
        best_direct, best_bus, flush_s, flushed = float("inf"), float("inf"), 0.0, 0
        for _ in range(repeat):
            deps = _deps(db, bus)
            book = RiskBook()
            protection = Protection(deps, book, RulesService(deps), None)
            rt = RealTime(deps, book, protection)
            t = time.perf_counter()
            for e in envs:
                await rt.on_trading(e)
            best_direct = min(best_direct, time.perf_counter() - t)
            t = time.perf_counter()
            flushed = await rt.flush()
            flush_s = time.perf_counter() - t
            rt2 = RealTime(deps, RiskBook(), protection)
            done = asyncio.Event()

            async def handle(
                env: Envelope, rt2: RealTime = rt2, done: asyncio.Event = done
            ) -> None:
                await rt2.on_trading(env)
                if rt2.events == len(envs):
                    done.set()

            sub = await bus.subscribe("trading.fill.*", handle, group="risk")
            t = time.perf_counter()
            for e in envs:
                await bus.publish(e.topic, e.data)
            await done.wait()
            best_bus = min(best_bus, time.perf_counter() - t)
            await sub.stop()
        print(
            f"consumer, direct             {len(envs) / best_direct:10,.0f} fills/s "
            f"(x{best_parse / best_direct:.2f} of parse-only throughput)"
        )
        print(f"consumer, via in-memory bus  {len(envs) / best_bus:10,.0f} fills/s")
        print(f"flush of {flushed} accounts to SQLite {flush_s * 1000:8.1f} ms")
        await db.close()
        await bus.close()


def _once(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--orders", type=int, default=20000)
    args = parser.parse_args()
    data = trades()
    print(f"{len(data)} recorded trades from {TRADES.name}")
    bench_pretrade(contexts(data, args.orders), args.repeat)
    asyncio.run(bench_consumer(data, args.repeat))


if __name__ == "__main__":
    main()
