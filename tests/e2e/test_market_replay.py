"""`argosy run` with no settings: a replay venue over ../shared/data starts beside the
services, market-data records BTC-USDT spot and perpetual from it, and trades, candles,
the ticker and the book appear over HTTP, from the real recordings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.binance_data import trade_rows
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

MARKET = frozenset({"market:read", "market:admin"})


def _until(check: Callable[[], Any], timeout_s: float, what: str, proc: PlatformProcess) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout_s}s\n{proc.service_log('market-data')[-3000:]}"
                         f"\n{proc.log()}")


@pytest.fixture
def market_platform(tmp_path: Path, shared_data: Path) -> Iterator[PlatformProcess]:
    proc = PlatformProcess(tmp_path / "var", services=["config", "market-data"],
                           env={"ARGOSY_MARKET_DATA_REPLAY_SPEED": "20"}).start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def test_platform_records_the_replayed_markets(market_platform: PlatformProcess) -> None:
    p = market_platform
    headers = p.headers(MARKET)

    def get(path: str, **params: Any) -> Any:
        try:
            response = p.request("GET", "market-data", f"/api/v1/market/{path}",
                                 params=params, headers=headers)
        except httpx.TimeoutException:  # a loaded machine: not yet, ask again
            return None
        return response.json() if response.status_code == 200 else None

    feeds = _until(lambda: (f := get("feeds")) and f["venues"].get("spot", {}).get("state")
                   == "connected" and f, 60, "the spot feed connected", p)
    assert feeds["binance_mode"] == "replay"
    assert "replay venue on http://127.0.0.1:" in p.log()
    recorded = {r["trade_id"] for r in trade_rows("binance_spot_BTCUSDT_trades.csv")}
    trades = _until(lambda: (t := get("trades", instrument="BTC-USDT.binance", limit=50))
                    and len(t["items"]) >= 20 and t, 60, "trades stored", p)
    assert {t["trade_id"] for t in trades["items"]} <= recorded  # real, recorded trades
    perp = _until(lambda: (t := get("trades", instrument="BTC-USDT-PERP.binance", limit=5))
                  and t["items"] and t, 60, "perpetual trades stored", p)
    assert perp["items"]
    candles = _until(lambda: (c := get("candles", instrument="BTC-USDT.binance",
                                       interval="1m", limit=10))
                     and any(x["final"] for x in c["items"]) and c, 90, "a closed 1m bar", p)
    closed = [c for c in candles["items"] if c["final"]]
    assert float(closed[0]["low"]) <= float(closed[0]["close"]) <= float(closed[0]["high"])
    assert 50_000 < float(closed[0]["close"]) < 70_000  # BTC in August 2024
    ticker = _until(lambda: get("ticker", instrument="BTC-USDT.binance"), 30, "a ticker", p)
    assert float(ticker["items"][0]["bid"]) < float(ticker["items"][0]["ask"])
    book = _until(lambda: get("book", instrument="BTC-USDT.binance", depth=5), 30, "a book", p)
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    subs = {s["instrument"]: s["state"]
            for s in _until(lambda: get("subscriptions"), 30, "subscriptions", p)["items"]}
    assert subs["BTC-USDT.binance"] == "recording"
    assert subs["ETH-USDT.binance"] == "unlisted"  # the recordings hold no ETH
    # the operator's list in the config service replaces the default one
    put = p.request("PUT", "config", "/api/v1/config/documents/market-data/instruments",
                    json={"content": {"instruments": ["BTC-USDT.binance"]},
                          "comment": "e2e: spot only"})
    assert put.status_code == 201, put.text

    def applied() -> list[dict[str, Any]] | None:
        page = get("subscriptions")
        items = {s["instrument"]: s for s in page["items"]} if page else {}
        perp = items.get("BTC-USDT-PERP.binance")
        done = perp is not None and not perp["active"] and items["BTC-USDT.binance"]["active"]
        return list(items.values()) if done else None

    subscriptions = _until(applied, 30, "the config document applied", p)
    assert [s["instrument"] for s in subscriptions if s["active"]] == ["BTC-USDT.binance"]
    perp = next(s for s in subscriptions if s["instrument"] == "BTC-USDT-PERP.binance")
    assert perp["changed_by"] == "config:v1"  # stopped by the document's first version
    replay = [c for c in psutil.Process(p.proc.pid).children()  # type: ignore[union-attr]
              if "replay" in c.cmdline()]
    assert len(replay) == 1
    assert p.stop() == 0
    assert not replay[0].is_running() or replay[0].status() == psutil.STATUS_ZOMBIE
