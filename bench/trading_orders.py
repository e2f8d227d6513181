"""Trading service: order submit → paper venue ack, p50/p99 in-process, and orders/s, on
SQLite and on PostgreSQL when reachable; plus the built-in pre-trade checks in µs/order.

The service path is the real one: POST /api/v1/orders through the ASGI app, validation,
the order row committed (`new`), `submitted` committed, the paper venue's matching engine
over a recorded Binance BTCUSDT book, the answer applied with its outbox event. Resting
limit orders (acknowledged, not filled) keep the book and balances steady.

Baseline, same run: `PaperVenue.submit` called directly (matching without durability), so
the ratio is the price of "durable before it leaves".

    .venv/bin/python -m bench.trading_orders [--count 400] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from argosy.contracts.v1.risk import RuleSetOut
from argosy.kernel.clock import LiveClock
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderType
from argosy.kernel.pretrade import PreTradeEngine
from argosy.platform.settings import PlatformSettings
from argosy.services.trading.domain.checks import (
    OrderSpec,
    check_balance,
    check_shape,
    check_with_instrument,
    requirement,
)
from argosy.services.trading.domain.pretrade import KernelGate, OrderContext
from argosy.services.trading.instruments import instrument_from_wire
from argosy.venues.paper import PaperSettings, PaperVenue
from tests.integration.trading._harness import fast_settings, running
from tests.integration.trading._market import SPOT, book_of, instrument_rows
from tests.support.servers import POSTGRES_URL, reachable


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def _body(i: int) -> dict[str, Any]:
    # a resting bid well under the recorded best bid (61837.63), a different price each
    price = Decimal("50000") + Decimal(i % 5000) / 100
    return {"instrument": SPOT, "side": "buy", "type": "limit", "quantity": "0.0001",
            "price": str(price), "client_order_id": f"b{i}-{uuid.uuid4().hex[:6]}"}


async def _service(platform: PlatformSettings, count: int, concurrency: int
                   ) -> tuple[list[float], float]:
    async with running(platform, fast_settings()) as h:
        people = [await h.person(balance="1000000") for _ in range(concurrency)]
        await h.order(people[0], **_body(0))  # warm up: venue, book, caches
        lat: list[float] = []
        for i in range(count):
            t0 = time.perf_counter()
            out = await h.order(people[0], **_body(i + 1))
            lat.append((time.perf_counter() - t0) * 1e6)
            assert out["status"] == "accepted", out
        per = count // concurrency

        async def worker(k: int) -> None:
            for i in range(per):
                await h.order(people[k], **_body(10_000 + k * per + i))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        rate = per * concurrency / (time.perf_counter() - t0)
        return lat, rate


async def _baseline(count: int) -> list[float]:
    instrument = instrument_from_wire(instrument_rows()[0])
    assert instrument is not None
    venue = PaperVenue("bench", [instrument], LiveClock(),
                       PaperSettings(starting_balances={"USDT": Decimal(10**9)}))
    book = book_of(SPOT)
    venue.on_book_snapshot(InstrumentId.parse(SPOT),
                           [(Price(p), Quantity(q)) for p, q in book["bids"]],
                           [(Price(p), Quantity(q)) for p, q in book["asks"]], book["ts_ns"])
    lat = []
    for i in range(count):
        body = _body(i)
        request = OrderRequest(f"o{i}", InstrumentId.parse(SPOT), Side.BUY, OrderType.LIMIT,
                               Quantity(body["quantity"]), Price(body["price"]))
        t0 = time.perf_counter()
        await venue.submit(request)
        lat.append((time.perf_counter() - t0) * 1e6)
    return lat


def _checks_us(count: int) -> float:
    instrument = instrument_from_wire(instrument_rows()[0])
    assert instrument is not None
    spec = OrderSpec(Side.BUY, OrderType.LIMIT, Quantity("0.001"), Price("61000.01"))
    t0 = time.perf_counter()
    for _ in range(count):
        check_shape(spec, 0)
        check_with_instrument(spec, instrument, None)
        check_balance(requirement(spec, instrument, Decimal("61000.01"), 1), Decimal(10**6))
    return (time.perf_counter() - t0) * 1e6 / count


def _rules_us(count: int) -> float:
    """The kernel evaluator behind the service's seam, 50 rules loaded (a mix of kinds and
    scopes, of which a handful cover the order), per order, as `OrdersService` calls it."""
    instrument = instrument_from_wire(instrument_rows()[0])
    assert instrument is not None
    kinds = ["max_order_quantity", "max_order_notional", "max_position", "max_open_orders",
             "price_band_bps"]
    rules = []
    for i in range(50):
        # 0-4 global, 5-9 on the instrument, 10-14 on the account (these 15 cover the
        # order), the other 35 on other accounts
        scope: dict[str, str] = {}
        if 5 <= i < 10:
            scope["instrument"] = SPOT
        elif 10 <= i < 15:
            scope["account_id"] = "acc_bench"
        elif i >= 15:
            scope["account_id"] = f"acc_{i}"
        kind = kinds[i % len(kinds)]
        limit = "1000000" if kind != "max_open_orders" else "1000"
        rules.append({"id": f"r{i}", "kind": kind, "scope": scope, "limit": limit})
    wire = RuleSetOut.model_validate({"version": 1, "rules": rules})
    gate = KernelGate(PreTradeEngine(wire.to_ruleset()))
    spec = OrderSpec(Side.BUY, OrderType.LIMIT, Quantity("0.001"), Price("61000.01"))
    ctx = OrderContext("acc_bench", "org_bench", "usr_bench", instrument, spec,
                       Decimal("61000.01"), Decimal("61837.64"), Decimal(0), 3, time.time_ns())
    assert gate.check(ctx).allowed
    t0 = time.perf_counter()
    for _ in range(count):
        gate.check(ctx)
    return (time.perf_counter() - t0) * 1e6 / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    base = asyncio.run(_baseline(args.count))
    b50, b99 = _pct(base, 0.5), _pct(base, 0.99)
    print(f"baseline PaperVenue.submit:       p50 {b50:8.0f} µs  p99 {b99:8.0f} µs")
    print(f"built-in pre-trade checks:        {_checks_us(20_000):8.1f} µs/order")
    print(f"risk rules (50 loaded, kernel):   {_rules_us(20_000):8.1f} µs/order")
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", PlatformSettings(data_dir=Path(tmp) / "s", bus_url="memory://"))]
        if reachable("127.0.0.1", 5432):
            targets.append(("postgresql", PlatformSettings(
                data_dir=Path(tmp) / "p", bus_url="memory://", db_url=POSTGRES_URL,
                db_schema_prefix=f"bench{uuid.uuid4().hex[:6]}_")))
        for name, platform in targets:
            lat, rate = asyncio.run(_service(platform, args.count, args.concurrency))
            p50, p99 = _pct(lat, 0.5), _pct(lat, 0.99)
            print(f"{name:10s} submit → paper ack:  p50 {p50:8.0f} µs  p99 {p99:8.0f} µs  "
                  f"({p50 / b50:.0f}x / {p99 / b99:.0f}x baseline)  "
                  f"{rate:7.0f} orders/s at concurrency {args.concurrency}  "
                  f"(mean {statistics.fmean(lat):.0f} µs)")


if __name__ == "__main__":
    main()
