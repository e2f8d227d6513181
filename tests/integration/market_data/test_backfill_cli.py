"""`argosy backfill` as an operator types it: the installed command (`python -m argosy`) in
its own process, from Binance's monthly archive zips and from REST (the replay venue).

The monthly zips are Binance's archive format (`XRPETH-aggTrades-2019-10.zip` holding the
CSV of the same name) written from the real recorded XRPETH aggTrades and 1m klines in
../shared/data: a format conversion of real data. Bars built from the trades must equal
the recorded klines, and the stored trades must equal the recording (count + checksum).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from argosy.kernel.money import Price, Quantity
from argosy.platform.settings import PlatformSettings
from tests.integration.market_data.conftest import XRP_1M, XRP_5M, XRP_AGG, MakeReplay, checksum
from tests.integration.market_data.test_backfill import XRP, _csv_rows, bars, klines, stored

pytestmark = pytest.mark.integration


def monthly_zip(out: Path, name: str, rows: list[list[str]]) -> Path:
    """One `<name>.zip` holding `<name>.csv` with no header, as data.binance.vision does."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path = out / f"{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.csv", text.getvalue())
    return path


def xrp_monthly(out: Path) -> tuple[Path, Path]:
    agg = [[r["agg_trade_id"], r["price"], r["qty"], r["first_trade_id"], r["last_trade_id"],
            r["ts_ms"], "True" if r["is_buyer_maker"] == "true" else "False",
            "True" if r["is_best_match"] == "true" else "False"] for r in _csv_rows(XRP_AGG)]
    kl = []
    for r in _csv_rows(XRP_1M):
        t = int(r["open_time_ms"])
        vals = [f"{Decimal(r[k]):.8f}" for k in ("open", "high", "low", "close", "volume")]
        kl.append([str(t), *vals, str(t + 59_999), "0", "0", "0", "0", "0"])
    months = {dt.datetime.fromtimestamp(int(r[5]) / 1000, dt.UTC).strftime("%Y-%m") for r in agg}
    assert months == {"2019-10"}  # one monthly file holds the whole recording
    return (monthly_zip(out, "XRPETH-1m-2019-10", kl),
            monthly_zip(out, "XRPETH-aggTrades-2019-10", agg))


def expected_agg() -> list[str]:
    return [f"{r['agg_trade_id']}|{Price(r['price']).to_str()}|{Quantity(r['qty']).to_str()}|"
            f"{'sell' if r['is_buyer_maker'] == 'true' else 'buy'}" for r in _csv_rows(XRP_AGG)]


async def argosy(data_dir: Path, *args: str) -> tuple[int, str]:
    """`python -m argosy <args>` with a clean ARGOSY_* environment; (exit code, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARGOSY_")}
    env |= {"ARGOSY_DATA_DIR": str(data_dir), "ARGOSY_MARKET_DATA_BINANCE_MODE": "off",
            "COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "argosy", *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(proc.communicate(), 240)
    return proc.returncode or 0, out.decode(errors="replace")


async def test_argosy_backfill_archive_monthly_zips(tmp_path: Path, shared_data: Path) -> None:
    data_dir = tmp_path / "var"
    kline_zip, agg_zip = xrp_monthly(tmp_path)
    code, out = await argosy(data_dir, "backfill", "archive", XRP, str(kline_zip), str(agg_zip))
    assert code == 0, out
    assert "done: " in out
    assert "0 differences from the venue's klines" in out
    platform = PlatformSettings(data_dir=data_dir, bus_url="memory://")
    got = await stored(platform, XRP, "aggTrade")
    want = expected_agg()
    assert len(got) == len(want) == 12477
    assert checksum(got) == checksum(want)
    assert await bars(platform, XRP, "1m") == klines(XRP_1M)
    assert await bars(platform, XRP, "1m", "exchange") == klines(XRP_1M)
    assert await bars(platform, XRP, "5m") == klines(XRP_5M)
    # the same file again: read, nothing new
    code, again = await argosy(data_dir, "backfill", "archive", XRP, str(agg_zip))
    assert code == 0, again
    assert "12477 rows read, 0 new" in again


async def test_argosy_backfill_rest_from_the_replay_venue(make_replay: MakeReplay,
                                                          tmp_path: Path) -> None:
    server = await make_replay([XRP_AGG, XRP_1M, XRP_5M])
    data_dir = tmp_path / "var"
    code, out = await argosy(data_dir, "backfill", "rest", XRP, "--kind", "aggTrades",
                             "--start", "2019-10-11", "--end", "2019-10-14",
                             "--rest-url", server.rest_url)
    assert code == 0, out
    assert "0 differences from the venue's klines" in out
    platform = PlatformSettings(data_dir=data_dir, bus_url="memory://")
    got = await stored(platform, XRP, "aggTrade")
    assert checksum(got) == checksum(expected_agg())
    assert await bars(platform, XRP, "1m") == klines(XRP_1M)


async def test_argosy_backfill_refuses_bad_input(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    code, out = await argosy(data_dir, "backfill", "rest", "BTC-USDT.binance", "--start",
                             "2024-08-09", "--end", "2024-08-08")
    assert code != 0
    assert "start must be before end" in out
    code, out = await argosy(data_dir, "backfill", "archive", "BTC-USDT.binance",
                             str(tmp_path / "BTCUSDT-trades-2024-08.zip"))
    assert code != 0
    assert "no such file" in out
    junk = tmp_path / "BTCUSDT-trades-2024-08.zip"
    with zipfile.ZipFile(junk, "w") as archive:
        archive.writestr("BTCUSDT-trades-2024-08.csv", "1,notaprice,1,1,1723161254000,True\n")
    code, out = await argosy(data_dir, "backfill", "archive", "BTC-USDT.binance", str(junk))
    assert code == 1
    assert "not a decimal" in out
