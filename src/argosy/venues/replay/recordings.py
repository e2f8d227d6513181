"""Recorded Binance data, loaded into what the replay server serves.

Understood inputs (the formats of ../shared/data, see its MANIFEST.md):
- `ws/*.jsonl[.gz]`: `{"recv_ts_ns", "msg"}` per line; `msg` is a verbatim combined-stream
  frame, or a REST depth snapshot the collector took (hftbacktest files embed one);
- `book/*_rest_depth_snapshots.jsonl`: `{"recv_ts_ns", "url"?, "msg"}` REST snapshots;
- `book/*_depth-{snap,update}_nautilus.csv`: nautilus rows, one per level; the update rows
  of one batch become one `depthUpdate` frame (the recorded U, u, pu and levels, unchanged);
- `trades/*_trades.csv` (hftbacktest `@trade` rows) and `trades/*_aggtrades.csv`;
- `ohlcv/binance_{spot,usdm}_<SYMBOL>_<interval>.csv` klines.
The market comes from the file name (`spot`, `usdm`); coin-M, Bittrex, FTX and Tardis files
are reported as skipped: the connector has no canonical ids for them yet.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from argosy.venues.binance.markets import BinanceMarket

__all__ = ["Frame", "MarketData", "Recording", "Snapshot", "load_recording"]

_CSV_NAME = re.compile(r"binance_(spot|usdm)_([A-Z0-9]+)_(?:(\w+?)_)?(trades|aggtrades|\w+)")
_OHLCV = re.compile(r"binance_(spot|usdm)_([A-Z0-9]+)_(\d+[smhdwM])\.csv")


@dataclass(slots=True)
class Frame:
    """One stream frame as recorded; `data` stays parsed for the book and the faults."""

    recv_ns: int
    market: BinanceMarket
    stream: str
    symbol: str
    event: str  # depthUpdate, trade, aggTrade, kline, bookTicker
    data: dict[str, Any]
    payload: str  # `data` serialized once, sent many times


@dataclass(slots=True)
class Snapshot:
    recv_ns: int
    market: BinanceMarket
    symbol: str
    msg: dict[str, Any]


@dataclass(slots=True)
class MarketData:
    trades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # REST trade rows
    trade_recv_ns: dict[str, list[int]] = field(default_factory=dict)
    agg_trades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    klines: dict[tuple[str, str], list[list[Any]]] = field(default_factory=dict)


@dataclass(slots=True)
class Recording:
    frames: list[Frame] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    data: dict[BinanceMarket, MarketData] = field(
        default_factory=lambda: {m: MarketData() for m in BinanceMarket}
    )
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def symbols(self, market: BinanceMarket) -> set[str]:
        found = {f.symbol for f in self.frames if f.market is market}
        found |= {s.symbol for s in self.snapshots if s.market is market}
        md = self.data[market]
        found |= set(md.trades) | set(md.agg_trades) | {s for s, _ in md.klines}
        return found

    def timeline_symbols(self, market: BinanceMarket) -> set[str]:
        return {f.symbol for f in self.frames if f.market is market}

    def start_ns(self) -> int:
        times = [self.frames[0].recv_ns] if self.frames else []
        times += [self.snapshots[0].recv_ns] if self.snapshots else []
        return min(times) if times else 0

    def truncated(self, seconds: float) -> Recording:
        """A copy holding the first `seconds` of the timeline (frames, snapshots, trades)."""
        until = self.start_ns() + int(seconds * 1e9)
        out = Recording(
            frames=[f for f in self.frames if f.recv_ns <= until],
            snapshots=[s for s in self.snapshots if s.recv_ns <= until],
            loaded=list(self.loaded),
            skipped=dict(self.skipped),
        )
        for market, md in self.data.items():
            copy = out.data[market]
            copy.agg_trades, copy.klines = dict(md.agg_trades), dict(md.klines)
            for symbol, recv in md.trade_recv_ns.items():
                keep = sum(1 for r in recv if r <= until)
                copy.trades[symbol] = md.trades[symbol][:keep]
                copy.trade_recv_ns[symbol] = recv[:keep]
        return out


def _market_of(name: str) -> BinanceMarket | None:
    lowered = name.lower()
    if "coinm" in lowered or "delivery" in lowered:
        return None
    if "usdm" in lowered or "futures" in lowered:
        return BinanceMarket.USDM
    if "spot" in lowered:
        return BinanceMarket.SPOT
    return None


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def _snapshot_symbol(row: dict[str, Any], fallback: str | None) -> str | None:
    url = row.get("url")
    if isinstance(url, str):
        query = parse_qs(urlsplit(url).query)
        if query.get("symbol"):
            return query["symbol"][0]
    symbol = row["msg"].get("symbol")
    return symbol if isinstance(symbol, str) else fallback


def _load_ws(path: Path, market: BinanceMarket, rec: Recording) -> None:
    pending: list[dict[str, Any]] = []
    symbols: set[str] = set()
    for row in _jsonl(path):
        msg = row["msg"]
        if "stream" in msg and isinstance(msg.get("data"), dict):
            data = msg["data"]
            symbol = str(data.get("s") or msg["stream"].split("@")[0].upper())
            symbols.add(symbol)
            event = str(data.get("e") or ("bookTicker" if "bookTicker" in msg["stream"] else ""))
            rec.frames.append(Frame(row["recv_ts_ns"], market, msg["stream"], symbol, event,
                                    data, orjson.dumps(data).decode()))
        elif "lastUpdateId" in msg:
            pending.append(row)
    only = next(iter(symbols)) if len(symbols) == 1 else None
    for row in pending:
        named = _snapshot_symbol(row, only)
        if named is not None:
            rec.snapshots.append(Snapshot(row["recv_ts_ns"], market, named, row["msg"]))


def _load_snapshots(path: Path, market: BinanceMarket, rec: Recording) -> None:
    match = _CSV_NAME.search(path.name)
    fallback = match.group(2) if match else None
    for row in _jsonl(path):
        symbol = _snapshot_symbol(row, fallback)
        if symbol is not None:
            rec.snapshots.append(Snapshot(row["recv_ts_ns"], market, symbol, row["msg"]))


def _load_nautilus(path: Path, market: BinanceMarket, rec: Recording) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    batches: dict[tuple[str, str, str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        key = (row["symbol"], row["timestamp"], row["first_update_id"], row["last_update_id"])
        batches[key].append(row)
    for (symbol, ts, first, last), levels in batches.items():
        bids = [[r["price"], r["qty"]] for r in levels if r["side"] == "b"]
        asks = [[r["price"], r["qty"]] for r in levels if r["side"] == "a"]
        recv_ns = int(ts) * 1_000_000
        if levels[0]["update_type"] == "snap":
            msg = {"lastUpdateId": int(last), "E": int(ts), "T": int(ts), "bids": bids,
                   "asks": asks}
            rec.snapshots.append(Snapshot(recv_ns, market, symbol, msg))
            continue
        data: dict[str, Any] = {"e": "depthUpdate", "E": int(ts), "T": int(ts), "s": symbol,
                                "U": int(first), "u": int(last), "b": bids, "a": asks}
        if levels[0]["pu"] not in ("", "-1"):
            data["pu"] = int(levels[0]["pu"])
        stream = f"{symbol.lower()}@depth@100ms"
        rec.frames.append(Frame(recv_ns, market, stream, symbol, "depthUpdate", data,
                                orjson.dumps(data).decode()))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _load_trades(path: Path, market: BinanceMarket, symbol: str, rec: Recording) -> None:
    rows, recv = [], []
    for r in _csv_rows(path):
        row: dict[str, Any] = {
            "id": int(r["trade_id"]), "price": r["price"], "qty": r["qty"],
            "time": int(r["ts_ms"]), "isBuyerMaker": r["is_buyer_maker"] == "true",
        }
        if market is BinanceMarket.SPOT:
            row["isBestMatch"] = True
        rows.append(row)
        recv.append(int(r["recv_ts_ns"]))
    rec.data[market].trades[symbol] = rows
    rec.data[market].trade_recv_ns[symbol] = recv


def _load_agg_trades(path: Path, market: BinanceMarket, symbol: str, rec: Recording) -> None:
    rows = []
    for r in _csv_rows(path):
        row: dict[str, Any] = {"a": int(r["agg_trade_id"]), "p": r["price"], "q": r["qty"],
                               "f": int(r["first_trade_id"]), "l": int(r["last_trade_id"]),
                               "T": int(r["ts_ms"]), "m": r["is_buyer_maker"] == "true"}
        if market is BinanceMarket.SPOT:
            row["M"] = r["is_best_match"] == "true"
        rows.append(row)
    rec.data[market].agg_trades[symbol] = rows


def _load_klines(path: Path, market: BinanceMarket, symbol: str, interval: str,
                 rec: Recording) -> None:
    rows = [[int(r["open_time_ms"]), r["open"], r["high"], r["low"], r["close"], r["volume"]]
            for r in _csv_rows(path)]
    rec.data[market].klines[(symbol, interval)] = rows


def _load_one(path: Path, rec: Recording) -> str | None:
    """Load `path`; a reason string when it is not something the server can serve."""
    name = path.name
    market = _market_of(name)
    if market is None or "binance" not in name.lower():
        return "not Binance spot or USD-M data"
    if name.endswith("_nautilus.csv"):
        _load_nautilus(path, market, rec)
    elif "rest_depth_snapshots" in name:
        _load_snapshots(path, market, rec)
    elif name.endswith((".jsonl", ".jsonl.gz")):
        _load_ws(path, market, rec)
    elif (kl := _OHLCV.search(name)) is not None:
        _load_klines(path, market, kl.group(2), kl.group(3), rec)
    elif name.endswith("_aggtrades.csv") and (m := _CSV_NAME.search(name)):
        _load_agg_trades(path, market, m.group(2), rec)
    elif name.endswith("_trades.csv") and (m := _CSV_NAME.search(name)):
        _load_trades(path, market, m.group(2), rec)
    else:
        return "unknown file kind (mark price klines, Tardis snapshots...)"
    return None


def load_recording(paths: Iterable[Path | str]) -> Recording:
    """Load files and directories (recursively); unusable files land in `skipped`."""
    rec = Recording()
    files: list[Path] = []
    for item in map(Path, paths):
        files.extend(sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir()
                     else [item])
    for path in files:
        if path.suffix == ".md":
            continue
        reason = _load_one(path, rec)
        if reason is None:
            rec.loaded.append(str(path))
        else:
            rec.skipped[str(path)] = reason
    rec.frames.sort(key=lambda f: f.recv_ns)
    rec.snapshots.sort(key=lambda s: s.recv_ns)
    return rec
