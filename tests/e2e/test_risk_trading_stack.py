"""The running stack behind tests/e2e/test_risk_trading.py: `argosy run` with config,
market-data, users, trading and risk and the embedded NATS, and the recorded Binance spot
BTCUSDT market (2024-08-08/09, /work/shared/data) published on the platform's own bus the
way the market-data service publishes it: the recorded REST depth snapshot as an
`md.book.*` book snapshot and the recorded trade stream as `md.trade.*` batches, in order.
(A module of its own only to keep each file short; it holds no tests.)
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

import httpx
import psutil
import pytest

from argosy.contracts import headers as h
from argosy.contracts.topics import market
from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.contracts.v1.market_data import book_snapshot_payload, trades_payload
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.bus.base import Bus, Envelope
from argosy.platform.bus.factory import create_bus
from argosy.platform.secrets import read_secret
from tests.support.platform import PlatformProcess
from tests.support.servers import SHARED_DATA

__all__ = ["ADMIN", "SPOT", "Stack", "stack", "until"]

SPOT = "BTC-USDT.binance"
PASSWORD = "correct horse battery staple"
WAIT_S = 90.0  # a restart or a burst of work on two shared cores
ADMIN = Principal("operator:e2e", frozenset({"risk:read", "risk:admin"}))
SERVICES = ["config", "market-data", "users", "trading", "risk"]


# -- the recorded market ---------------------------------------------------------------
def _recorded_book() -> dict[str, Any]:
    path = SHARED_DATA / "book" / "binance_spot_BTCUSDT_rest_depth_snapshots.jsonl"
    with path.open() as fh:
        line = json.loads(fh.readline())
    msg = line["msg"]
    return book_snapshot_payload(SPOT, msg["lastUpdateId"], line["recv_ts_ns"],
                                 msg["bids"][:50], msg["asks"][:50])


def _recorded_trades() -> list[dict[str, Any]]:
    """The recorded trade stream as the market-data service publishes trade ticks."""
    path = SHARED_DATA / "trades" / "binance_spot_BTCUSDT_trades.csv"
    with path.open() as fh:
        return [{"instrument_id": SPOT, "type": "trade", "price": r["price"],
                 "quantity": r["qty"],
                 "aggressor_side": "sell" if r["is_buyer_maker"] == "true" else "buy",
                 "trade_id": r["trade_id"], "ts_event_ns": int(r["ts_ms"]) * 1_000_000,
                 "ts_recv_ns": int(r["recv_ts_ns"])} for r in csv.DictReader(fh)]


class BusTap:
    """The platform's own NATS from the test: records `risk.alert.>` and publishes market
    frames with the platform's bus adapter (what market-data itself uses)."""

    def __init__(self, url: str) -> None:
        self.seen: list[Envelope] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.bus: Bus = self._run(self._connect(url))

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=30)

    async def _connect(self, url: str) -> Bus:
        bus = create_bus(url, source="e2e-market")
        await bus.connect()

        async def record(env: Envelope) -> None:
            self.seen.append(env)

        await bus.subscribe("risk.alert.>", record)
        return bus

    def publish(self, topic: str, payload: Any) -> None:
        self._run(self.bus.publish_json(topic, payload))

    def alerts(self, severity: str, account_id: str) -> list[dict[str, Any]]:
        return [e.json() for e in list(self.seen) if e.topic == f"risk.alert.{severity}"
                and e.json().get("account_id") == account_id]

    def close(self) -> None:
        self._run(self.bus.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class Market:
    """Walks the recorded trades forward in batches; the book snapshot is re-sent now and
    then so a restarted trading process has a book for its paper venue at once."""

    def __init__(self, tap: BusTap) -> None:
        self.tap, self.book, self.trades = tap, _recorded_book(), _recorded_trades()
        self._book_sent = 0.0

    def send_book(self) -> None:
        self.tap.publish(market("book", SPOT), self.book)
        self._book_sent = time.monotonic()

    def play(self, start: int, until: Callable[[], Any], *, batch: int = 40,
             within_s: float = WAIT_S) -> tuple[Any, int]:
        """Publish rows from `start` until `until()` is truthy; (its value, next row)."""
        deadline, row = time.monotonic() + within_s, start
        while time.monotonic() < deadline:
            if time.monotonic() - self._book_sent > 2.0:
                self.send_book()
            if row < len(self.trades):
                items = self.trades[row:row + batch]
                self.tap.publish(market("trade", SPOT), trades_payload(SPOT, items))
                row += len(items)
            value = _quiet(until)
            if value:
                return value, row
            time.sleep(0.25)
        raise AssertionError(f"not reached within {within_s}s (replayed up to row {row})")

    def price(self, row: int) -> Decimal:
        return Decimal(self.trades[row - 1]["price"])


# -- the platform ------------------------------------------------------------------------
def _quiet(check: Callable[[], Any]) -> Any:
    try:
        return check()
    except (httpx.TransportError, LookupError, psutil.Error, ValueError):  # restarting
        return None


def until(check: Callable[[], Any], within_s: float = WAIT_S, what: str = "") -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = _quiet(check)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what or 'condition'} not reached within {within_s}s")


class Stack:
    def __init__(self, proc: PlatformProcess, tap: BusTap) -> None:
        self.p, self.tap, self.market = proc, tap, Market(tap)
        self.auth = InternalAuth(read_secret(proc.data_dir / "secrets" / "internal.key"))

    def call(self, who: Principal, method: str, service: str, path: str,
             **kw: Any) -> httpx.Response:
        return httpx.request(method, f"{self.p.url(service)}{path}",
                             headers={h.IDENTITY: self.auth.mint(who)}, timeout=15, **kw)

    def trader(self, tag: str) -> tuple[Principal, str]:
        """A registered user, and their paper account once trading opened it."""
        r = httpx.post(f"{self.p.url('users')}/api/v1/auth/register", json={
            "email": f"{tag}-{time.time_ns()}@example.com", "password": PASSWORD,
            "locale": "en"}, timeout=15)
        assert r.status_code == 201, r.text
        me = Principal(f"user:{r.json()['user_id']}", BUILTIN_ROLES["trader"], r.json()["org"])

        def account() -> str | None:
            items = self.call(me, "GET", "trading", "/api/v1/balances").json()["items"]
            return next((b["account_id"] for b in items if b["asset"] == "USDT"), None)

        return me, until(account, what="the paper account opened")

    def order(self, who: Principal, **body: Any) -> httpx.Response:
        return self.call(who, "POST", "trading", "/api/v1/orders", json={"instrument": SPOT,
                                                                         **body})

    def position(self, who: Principal) -> Decimal:
        items = self.call(who, "GET", "trading", "/api/v1/positions").json()["items"]
        return sum((Decimal(p["quantity"]) for p in items if p["instrument"] == SPOT),
                   Decimal(0))

    def orders(self, who: Principal) -> list[dict[str, Any]]:
        return list(self.call(who, "GET", "trading", "/api/v1/orders").json()["items"])

    def put_rules(self, rules: list[dict[str, Any]]) -> int:
        r = self.call(ADMIN, "PUT", "risk", "/api/v1/risk/rules", json={"rules": rules})
        assert r.status_code == 200, r.text
        return int(r.json()["version"])

    def risk_sees(self, who: Principal, account: str, qty: Decimal) -> bool:
        out = self.call(who, "GET", "risk", "/api/v1/risk/exposure",
                        params={"scope": "account", "key": account}).json()
        return any(Decimal(p["quantity"]) == qty for p in out["positions"])

    def kill9(self, service: str) -> None:
        victim = self.p.service_pid(service)
        os.kill(victim, signal.SIGKILL)
        until(lambda: self.p.service_pid(service) != victim, what=f"{service} restarted")
        self.p.wait_ready(services=[service], timeout_s=WAIT_S * 2)

    def logs(self) -> str:
        return "\n".join(f"--- {s}\n{self.p.service_log(s)[-3000:]}" for s in ("risk", "trading"))


def _nats_url(proc: PlatformProcess) -> str:
    log = (proc.data_dir / "logs" / "nats.log").read_text()
    match = re.search(r"Listening for client connections on (127\.0\.0\.1:\d+)", log)
    assert match, log[-2000:]
    return f"nats://{match.group(1)}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Any) -> Iterator[Stack]:
    proc = PlatformProcess(tmp_path_factory.mktemp("risk-trading") / "var", services=SERVICES,
                           env={
        # the recordings stay the market-data service's source (instruments, books) but
        # barely move on their own: the test walks the recorded trades forward itself
        "ARGOSY_MARKET_DATA_REPLAY_SPEED": "0.001",
        "ARGOSY_RISK_FLUSH_S": "0.2",
        "ARGOSY_TRADING_POSITION_MARK_INTERVAL_S": "2",
    }).start()
    tap: BusTap | None = None
    try:
        proc.wait_ready(timeout_s=240)
        tap = BusTap(_nats_url(proc))
        stack = Stack(proc, tap)
        headers = proc.headers(frozenset({"market:read"}))

        def listed() -> bool:
            r = httpx.get(f"{proc.url('market-data')}/api/v1/market/instruments",
                          params={"limit": 500}, headers=headers, timeout=10)
            return any(i["instrument_id"] == SPOT and i.get("tick_size")
                       for i in r.json().get("items", []))

        until(listed, WAIT_S * 2, "market-data listed the recorded instruments")
        stack.market.send_book()
        yield stack
    finally:
        if tap is not None:
            tap.close()
        proc.stop()
