"""Trading service: order submit → paper venue ack, p50/p99 in-process, and orders/s, on
SQLite and on PostgreSQL when reachable; plus the built-in pre-trade checks in µs/order.

The service path is the real one: POST /api/v1/orders through the ASGI app, validation,
the order row committed (`new`), `submitted` committed, the paper venue's matching engine
over a recorded Binance BTCUSDT book, the answer applied with its outbox event. Resting
limit orders (acknowledged, not filled) keep the book and balances steady.

Baseline, same run: `PaperVenue.submit` called directly (matching without durability), so
the ratio is the price of "durable before it leaves".

Through the gateway (`--gateway`, on by default): `argosy run` with config, market-data,
users, trading and gateway as real processes on 127.0.0.1 (SQLite, embedded NATS), the
gateway's rate limits raised the way an operator would (bench/gateway_overhead.py); a
user registers and logs in through the gateway, then POST /api/v1/orders goes through
the gateway with the bearer token (JWT verified, identity minted, rate limits, proxied),
one at a time. The same orders straight to the trading process (internal identity
header) split the gateway hop from the process and TCP cost. The ratio is against the
in-process SQLite p50/p99 of the same run.

    .venv/bin/python -m bench.trading_orders [--count 400] [--concurrency 8]
                                             [--gateway-count 200] [--no-gateway]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from argosy.contracts import headers as hdr
from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.contracts.v1.risk import RuleSetOut
from argosy.kernel.clock import LiveClock
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderType
from argosy.kernel.pretrade import PreTradeEngine
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
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
from bench.gateway_overhead import raise_limits
from tests.integration.trading._harness import fast_settings, running
from tests.integration.trading._market import SPOT, book_of, instrument_rows
from tests.support.platform import PlatformProcess
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


STACK = ["config", "market-data", "users", "trading", "gateway"]
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throwaway bench user)


async def _timed(http: httpx.AsyncClient, url: str, headers: dict[str, str], count: int,
                 first: int) -> list[float]:
    lat: list[float] = []
    for i in range(count):
        t0 = time.perf_counter()
        r = await http.post(url, json=_body(first + i), headers=headers)
        lat.append((time.perf_counter() - t0) * 1e6)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "accepted", r.text
    return lat


async def _through_gateway(proc: PlatformProcess, count: int
                           ) -> tuple[list[float], list[float]]:
    """(through the gateway, straight to trading) latencies in µs, one order at a time."""
    gw, trading = proc.url("gateway"), proc.url("trading")
    await raise_limits(proc.url("config"), gw, proc.token())
    async with httpx.AsyncClient(timeout=30) as http:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        r = await http.post(f"{gw}/api/v1/auth/register",
                            json={"email": email, "password": PASSWORD, "locale": "en"})
        assert r.status_code == 201, r.text
        me = Principal(f"user:{r.json()['user_id']}", BUILTIN_ROLES["trader"], r.json()["org"])
        r = await http.post(f"{gw}/api/v1/auth/login",
                            json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        bearer = {"authorization": f"Bearer {r.json()['access_token']}"}
        deadline = time.monotonic() + 120
        while True:  # the paper account opens and the book arrives asynchronously
            r = await http.post(f"{gw}{_ORDERS}", json=_body(0), headers=bearer)
            if r.status_code == 201 and r.json()["status"] == "accepted":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no accepted order through the gateway: {r.text}")
            await asyncio.sleep(0.5)
        await _timed(http, f"{gw}{_ORDERS}", bearer, 20, 1)  # warm connections
        via = await _timed(http, f"{gw}{_ORDERS}", bearer, count, 100)
        # the account's open-order cap (500): start the direct run from an empty book
        r = await http.post(f"{gw}{_ORDERS}/cancel-all", json={}, headers=bearer)
        assert r.status_code == 200, r.text
        auth = InternalAuth(read_secret(proc.data_dir / "secrets" / "internal.key"))
        internal = {hdr.IDENTITY: auth.mint(me)}
        direct = await _timed(http, f"{trading}{_ORDERS}", internal, count, 100 + count)
    return via, direct


_ORDERS = "/api/v1/orders"


def _gateway_run(count: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = PlatformProcess(Path(tmp) / "var", services=STACK,
                               env={"ARGOSY_LOG_LEVEL": "warning"}).start()
        try:
            proc.wait_ready(timeout_s=300)
            return asyncio.run(_through_gateway(proc, count))
        finally:
            with contextlib.suppress(Exception):
                proc.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--gateway-count", type=int, default=200)
    parser.add_argument("--no-gateway", dest="gateway", action="store_false")
    args = parser.parse_args()
    base = asyncio.run(_baseline(args.count))
    b50, b99 = _pct(base, 0.5), _pct(base, 0.99)
    print(f"baseline PaperVenue.submit:       p50 {b50:8.0f} µs  p99 {b99:8.0f} µs")
    print(f"built-in pre-trade checks:        {_checks_us(20_000):8.1f} µs/order")
    print(f"risk rules (50 loaded, kernel):   {_rules_us(20_000):8.1f} µs/order")
    in50 = in99 = float("nan")
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
            if name == "sqlite":
                in50, in99 = p50, p99
    if args.gateway:
        via, direct = _gateway_run(args.gateway_count)
        for label, values in (("processes, direct to trading", direct),
                              ("processes, through gateway", via)):
            p50, p99 = _pct(values, 0.5), _pct(values, 0.99)
            print(f"{label:30s} p50 {p50:8.0f} µs  p99 {p99:8.0f} µs  "
                  f"({p50 / in50:.1f}x / {p99 / in99:.1f}x in-process sqlite)")


if __name__ == "__main__":
    main()
