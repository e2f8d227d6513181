"""Backfills: `argosy backfill` from REST (the replay venue) and from Binance archive zips,
and the admin API. The zips are written here in Binance's exact archive CSV format from the
real recorded trades and klines in ../shared/data: a format conversion of real data.

Where a recording has both trades and klines (XRPETH: aggTrades and 1m/5m klines, both
from freqtrade's Binance test data), the bars built from the trades must equal the klines.
The BTCUSDT recordings have no klines; their bars are checked against an independent
computation from the raw trades (test_ingest_replay.py, and here for the archive path).
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from argosy.cli import market_cmd
from argosy.kernel.money import Price, Quantity
from argosy.platform.settings import PlatformSettings
from argosy.services.market_data.offline import open_storage
from argosy.services.market_data.settings import MarketDataSettings
from tests.integration.market_data.conftest import (
    SPOT,
    SPOT_TRADES,
    SPOT_WS,
    XRP_1M,
    XRP_5M,
    XRP_AGG,
    MakeMarket,
    MakeReplay,
    checksum,
    eventually,
    recorded_trades,
)
from tests.integration.market_data.test_ingest_replay import independent_bars
from tests.support.servers import SHARED_DATA

pytestmark = pytest.mark.integration

XRP = "XRP-ETH.binance"


def _csv_rows(name: str) -> list[dict[str, str]]:
    with (SHARED_DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _day(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d")


def write_zips(out: Path, prefix: str, rows: list[tuple[int, list[str]]],
               header: list[str] | None = None) -> list[Path]:
    """One `<prefix>-<day>.zip` per UTC day holding `<prefix>-<day>.csv`, as Binance does."""
    by_day: dict[str, list[list[str]]] = defaultdict(list)
    for ms, row in rows:
        by_day[_day(ms)].append(row)
    paths = []
    for day, day_rows in sorted(by_day.items()):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(day_rows)
        path = out / f"{prefix}-{day}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{prefix}-{day}.csv", text.getvalue())
        paths.append(path)
    return paths


def spot_trade_zips(out: Path) -> list[Path]:
    """Spot `trades`: id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch; no header."""
    rows = [(int(r["ts_ms"]), [r["trade_id"], r["price"], r["qty"],
                               f"{Decimal(r['price']) * Decimal(r['qty']):.8f}", r["ts_ms"],
                               "True" if r["is_buyer_maker"] == "true" else "False", "True"])
            for r in _csv_rows(SPOT_TRADES)]
    return write_zips(out, "BTCUSDT-trades", rows)


def usdm_trade_zips(out: Path) -> list[Path]:
    """USD-M `trades`: header id,price,qty,quote_qty,time,is_buyer_maker; lower-case bools."""
    rows = [(int(r["ts_ms"]), [r["trade_id"], r["price"], r["qty"],
                               f"{Decimal(r['price']) * Decimal(r['qty']):.8f}", r["ts_ms"],
                               r["is_buyer_maker"]])
            for r in _csv_rows("trades/binance_usdm_BTCUSDT_trades.csv")]
    return write_zips(out, "BTCUSDT-trades", rows,
                      ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker"])


def xrp_agg_zips(out: Path) -> list[Path]:
    """Spot `aggTrades`: aggId, price, qty, firstId, lastId, time, isBuyerMaker, isBestMatch."""
    rows = [(int(r["ts_ms"]), [r["agg_trade_id"], r["price"], r["qty"], r["first_trade_id"],
                               r["last_trade_id"], r["ts_ms"],
                               "True" if r["is_buyer_maker"] == "true" else "False",
                               "True" if r["is_best_match"] == "true" else "False"])
            for r in _csv_rows(XRP_AGG)]
    return write_zips(out, "XRPETH-aggTrades", rows)


def xrp_kline_zips(out: Path) -> list[Path]:
    """Spot 1m `klines`: 12 columns; the recorded float64 values written with 8 decimals."""
    rows = []
    for r in _csv_rows(XRP_1M):
        t = int(r["open_time_ms"])
        vals = [f"{Decimal(r[k]):.8f}" for k in ("open", "high", "low", "close", "volume")]
        rows.append((t, [str(t), *vals, str(t + 59_999), "0", "0", "0", "0", "0"]))
    return write_zips(out, "XRPETH-1m", rows)


def klines(name: str) -> dict[int, tuple[str, ...]]:
    return {int(r["open_time_ms"]) * 1_000_000: (
        *(Price(Decimal(r[k])).to_str() for k in ("open", "high", "low", "close")),
        Quantity(Decimal(r["volume"])).to_str()) for r in _csv_rows(name)}


async def bars(platform: PlatformSettings, key: str, interval: str, source: str = "trades"
               ) -> dict[int, tuple[str, ...]]:
    async with open_storage(platform, MarketDataSettings(), None) as st:
        result = await st.tsdb.query(
            "SELECT ts_open, open, high, low, close, volume FROM bars FINAL WHERE instrument = "
            "{i:String} AND interval = {iv:String} AND source = {s:String}",
            {"i": key, "iv": interval, "s": source})
    return {int(t): (Price(o).to_str(), Price(h).to_str(), Price(lo).to_str(),
                     Price(c).to_str(), Quantity(v).to_str()) for t, o, h, lo, c, v in result.rows}


async def stored(platform: PlatformSettings, key: str, stream: str) -> list[str]:
    async with open_storage(platform, MarketDataSettings(), None) as st:
        result = await st.tsdb.query(
            "SELECT trade_id, price, qty, side FROM trades FINAL WHERE instrument = {i:String} "
            "AND stream = {s:String} ORDER BY ts, seq", {"i": key, "s": stream})
    return [f"{t}|{Price(p).to_str()}|{Quantity(q).to_str()}|{s}" for t, p, q, s in result.rows]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ARGOSY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ARGOSY_MARKET_DATA_BINANCE_MODE", "off")
    runner = CliRunner()

    async def invoke(*args: str) -> Any:
        result = await asyncio.to_thread(runner.invoke, market_cmd.app, list(args))
        assert result.exit_code == 0, result.output
        return result

    return invoke


def _platform(tmp_path: Path) -> PlatformSettings:
    return PlatformSettings(data_dir=tmp_path / "var", bus_url="memory://")


async def test_cli_rest_aggtrades_build_bars_equal_to_the_recorded_klines(
    make_replay: MakeReplay, cli: Any, tmp_path: Path
) -> None:
    server = await make_replay([XRP_AGG, XRP_1M, XRP_5M])
    result = await cli("rest", XRP, "--kind", "aggTrades", "--start", "2019-10-11",
                       "--end", "2019-10-14", "--rest-url", server.rest_url)
    assert "0 differences from the venue's klines" in result.output
    platform = _platform(tmp_path)
    expected = [f"{r['agg_trade_id']}|{Price(r['price']).to_str()}|"
                f"{Quantity(r['qty']).to_str()}|"
                f"{'sell' if r['is_buyer_maker'] == 'true' else 'buy'}"
                for r in _csv_rows(XRP_AGG)]
    got = await stored(platform, XRP, "aggTrade")
    assert len(got) == len(expected) == 12477
    assert checksum(got) == checksum(expected)
    for interval, name, count in (("1m", XRP_1M, 2469), ("5m", XRP_5M, 706)):
        mine = await bars(platform, XRP, interval)
        assert len(mine) == count
        assert mine == klines(name)


async def test_cli_archive_zips_of_trades_aggtrades_and_klines(cli: Any, tmp_path: Path,
                                                               shared_data: Path) -> None:
    out = tmp_path / "archive"
    out.mkdir()
    spot = spot_trade_zips(out)
    assert [p.name for p in spot] == ["BTCUSDT-trades-2024-08-08.zip",
                                      "BTCUSDT-trades-2024-08-09.zip"]
    await cli("archive", SPOT, *map(str, spot))
    (out / "usdm").mkdir()
    await cli("archive", "BTC-USDT-PERP.binance", *map(str, usdm_trade_zips(out / "usdm")))
    result = await cli("archive", XRP, *map(str, xrp_kline_zips(out)),
                       *map(str, xrp_agg_zips(out)))
    assert "0 differences from the venue's klines" in result.output
    platform = _platform(tmp_path)
    got = await stored(platform, SPOT, "trade")
    assert len(got) == 19904
    assert checksum(got) == checksum(recorded_trades("binance_spot_BTCUSDT_trades.csv"))
    perp = await stored(platform, "BTC-USDT-PERP.binance", "trade")
    assert checksum(perp) == checksum(recorded_trades("binance_usdm_BTCUSDT_trades.csv"))
    mine = await bars(platform, SPOT, "1m")
    theirs = independent_bars("binance_spot_BTCUSDT_trades.csv", 1 << 62, 60 * 10**9)
    assert mine == {t: v[:5] for t, v in theirs.items()}  # archives hold every minute
    assert await bars(platform, XRP, "1m") == klines(XRP_1M)
    assert await bars(platform, XRP, "1m", "exchange") == klines(XRP_1M)
    # a second import of the same file adds nothing
    again = await cli("archive", SPOT, str(spot[0]))
    assert ", 0 new" in again.output


async def test_cli_refuses_bad_input(cli: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    for args, needle in (
        (["rest", "BTC-USDT.binance", "--kind", "klines"], "needs start and end"),
        (["rest", "BTCUSDT", "--start", "2024-08-08"], "instrument"),
        (["rest", "BTC-USDT.binance", "--start", "2024-08-09", "--end", "2024-08-08"],
         "start must be before end"),
        (["archive", "BTC-USDT.binance", str(tmp_path / "nope.zip")], "no such file"),
    ):
        result = await asyncio.to_thread(runner.invoke, market_cmd.app, args)
        assert result.exit_code != 0
        assert needle in result.output, result.output
    wrong = tmp_path / "ETHUSDT-trades-2024-08-08.zip"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr("ETHUSDT-trades-2024-08-08.csv", "1,2,3,4,5,True,True\n")
    result = await asyncio.to_thread(runner.invoke, market_cmd.app,
                                     ["archive", "BTC-USDT.binance", str(wrong)])
    assert result.exit_code == 1
    assert "holds ETHUSDT, not BTCUSDT" in result.output


async def test_api_backfill_of_trades_by_time_and_by_id(make_replay: MakeReplay,
                                                        make_market: MakeMarket) -> None:
    server = await make_replay([SPOT_WS, SPOT_TRADES], seconds=200, speed=None)
    server.play()
    await server.wait_finished()  # the venue's history now holds the whole window
    rows = [r for r in _csv_rows(SPOT_TRADES) if int(r["recv_ts_ns"]) <= server.player.now_ns]
    start_ms, end_ms = 1723161300000, 1723161360000  # 23:55:00 .. 23:56:00
    window = [r for r in rows if start_ms <= int(r["ts_ms"]) < end_ms]
    async with make_market(server, instruments=()) as market:
        bad = await market.client.post("/api/v1/market/backfill", json={
            "instrument": SPOT, "kind": "klines"}, headers=market.headers())
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "start"
        reader = await market.client.post(
            "/api/v1/market/backfill", json={"instrument": SPOT, "start": "x"},
            headers=market.headers(frozenset({"market:read"})))
        assert reader.status_code == 403
        started = await market.client.post("/api/v1/market/backfill", json={
            "instrument": SPOT, "start": str(start_ms * 10**6), "end": str(end_ms * 10**6)},
            headers=market.headers())
        assert started.status_code == 202
        job_id = started.json()["id"]

        async def done() -> bool:
            job = (await market.get(f"/api/v1/market/backfill/{job_id}")).json()
            return bool(job["status"] != "running")

        await eventually(done, 30)
        job = (await market.get(f"/api/v1/market/backfill/{job_id}")).json()
        assert job["status"] == "done", job
        assert job["rows"] == len(window) > 100
        page = (await market.get("/api/v1/market/trades", instrument=SPOT,
                                 start=str(start_ms * 10**6), limit=10_000)).json()
        assert [t["trade_id"] for t in page["items"]] == [r["trade_id"] for r in window]
        first, last = int(rows[0]["trade_id"]), int(rows[0]["trade_id"]) + 49
        by_id = await market.client.post("/api/v1/market/backfill", json={
            "instrument": SPOT, "from_id": first, "to_id": last}, headers=market.headers())
        await eventually(lambda: market.svc.job(by_id.json()["id"]), 10)

        async def finished() -> bool:
            job = await market.svc.job(by_id.json()["id"])
            return job is not None and job["status"] == "done"

        await eventually(finished, 30)
        ids = await market.svc.history.stored_ids(SPOT, "trade", first, last)
        assert ids == set(range(first, last + 1))
