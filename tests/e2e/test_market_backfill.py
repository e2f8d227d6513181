"""`argosy backfill archive --service` while the platform runs: the embedded chdb store is
held by the market-data process, so the CLI hands the job to it over HTTP, follows it, and
the history is then served by the public API. The archive is Binance's monthly format
written from the real recorded XRPETH aggTrades and 1m klines in ../shared/data."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.market_data.test_backfill import klines
from tests.integration.market_data.test_backfill_cli import xrp_monthly
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

XRP = "XRP-ETH.binance"
XRP_1M = "ohlcv/binance_spot_XRPETH_1m.csv"


@pytest.fixture
def market_only(tmp_path: Path, shared_data: Path) -> Iterator[PlatformProcess]:
    proc = PlatformProcess(tmp_path / "var", services=["config", "market-data"],
                           env={"ARGOSY_MARKET_DATA_BINANCE_MODE": "off"}).start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def test_backfill_through_the_running_service(market_only: PlatformProcess,
                                               tmp_path: Path) -> None:
    p = market_only
    kline_zip, agg_zip = xrp_monthly(tmp_path)
    env = {**p.env, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "argosy", "backfill", "archive", XRP, "--service",
         str(kline_zip), str(agg_zip)],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 differences from the venue's klines" in done.stdout
    headers = p.headers(frozenset({"market:read"}))

    def get(path: str, **params: Any) -> Any:
        response = p.request("GET", "market-data", f"/api/v1/market/{path}", params=params,
                             headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    expected = klines(XRP_1M)
    bars: dict[int, tuple[str, ...]] = {}
    cursor = None
    while True:
        page = get("candles", instrument=XRP, interval="1m", start=str(min(expected)),
                   limit=1000, **({"cursor": cursor} if cursor else {}))
        bars |= {c["ts_open_ns"]: (c["open"], c["high"], c["low"], c["close"], c["volume"])
                 for c in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert bars == expected
    trades = get("trades", instrument=XRP, stream="aggTrade", limit=5)
    assert len(trades["items"]) == 5
    # without --service the CLI cannot open the store the service holds: a clear refusal
    refused = subprocess.run(
        [sys.executable, "-m", "argosy", "backfill", "archive", XRP, str(agg_zip)],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert refused.returncode != 0
    assert "--service" in refused.stdout, refused.stdout + refused.stderr
