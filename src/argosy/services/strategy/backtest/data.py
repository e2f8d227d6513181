"""The recorded market data a backtest can run on, and readers for it.

The catalog scans a data directory laid out as ../shared/data (see its MANIFEST.md):
`ohlcv/<exchange>_<market>_<SYMBOL>_<interval>.csv` (bar mode),
`trades/<exchange>_<market>_<SYMBOL>_{trades,aggtrades}.csv` (trade mode) and
`ws/binance_<market>_<SYMBOL>_<yyyymmdd>.jsonl.gz` recordings that start with a REST depth
snapshot (L2 book mode, read by the paper venue's own `recorded_binance_events`).

Why our own reader and not the market-data service's loaders: services never import each
other, and a backtest must not depend on another process being up to read a local file.

A dataset is matched by base, quote and venue; the kind in the requested id decides the
account semantics (`BTC-USD.ftx`: cash, long only; `BTC-USD-PERP.ftx`: signed positions
with margin) over the same prices. Instrument filters are not in the files: the tick is
the finest price step the file uses, the lot 1e-12 (the peers' quantity floor).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

from argosy.kernel.clock import ms_to_ns, ns_to_iso
from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.instruments import Instrument, InstrumentId, InstrumentKind
from argosy.kernel.messages import Bar, Interval, Side, TradeTick
from argosy.kernel.money import Money, Price, Quantity
from argosy.venues.paper.recorded import RecordedEvent, recorded_binance_events

__all__ = ["Catalog", "Dataset", "Mode", "instrument_for", "read_bars", "read_events",
           "read_trades"]

Mode = Literal["bar", "trade", "book"]
LOT = Quantity("0.000000000001")
_NAME = re.compile(r"(?P<ex>[a-z]+)_(?P<market>[a-z]+)_(?P<sym>[A-Za-z0-9_-]+?)_(?P<tail>[^_]+)")
_QUOTES = ("USDT", "BUSD", "USDC", "USD", "BTC", "ETH", "BNB")
_PERP_MARKETS = ("perp", "usdm", "coinm")


@dataclass(frozen=True)
class Dataset:
    """One recorded file: its instrument (as listed), mode and interval (bars only)."""

    instrument_id: InstrumentId
    mode: Mode
    interval: Interval | None
    path: Path

    def describe(self) -> dict[str, str | None]:
        return {"instrument_id": str(self.instrument_id), "mode": self.mode,
                "interval": self.interval.value if self.interval else None,
                "file": self.path.name}


def _split(symbol: str, market: str) -> tuple[str, str, InstrumentKind] | None:
    sym = symbol.upper().replace("_PERP", "").replace("-PERP", "")
    kind = InstrumentKind.PERP if market in _PERP_MARKETS or symbol != sym \
        else InstrumentKind.SPOT
    if sym.isalpha() and symbol.upper().endswith("-PERP"):  # FTX: BTC-PERP is USD-margined
        return sym, "USD", kind
    for quote in _QUOTES:
        if sym.endswith(quote) and len(sym) > len(quote):
            return sym[:-len(quote)], quote, kind
    return None


def _tail_fits(mode: Mode, exchange: str, tail: str) -> bool:
    if mode == "trade":
        return tail in ("trades", "aggtrades")
    return exchange == "binance" and tail.isdigit()


def _parse(path: Path, mode: Mode) -> Dataset | None:
    stem = path.name.split(".")[0]
    match = _NAME.fullmatch(stem)
    if match is None:
        return None
    parts = _split(match["sym"], match["market"])
    if parts is None:
        return None
    base, quote, kind = parts
    interval: Interval | None = None
    tail = match["tail"]
    if mode == "bar":
        try:
            interval = Interval(tail)
        except ValueError:
            return None
    elif not _tail_fits(mode, match["ex"], tail):
        return None
    try:
        iid = InstrumentId(base, quote, kind, match["ex"])
    except Invalid:
        return None
    return Dataset(iid, mode, interval, path)


class Catalog:
    """Every usable file under `root`, found by instrument, mode and interval."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datasets: list[Dataset] = []
        for folder, mode in (("ohlcv", "bar"), ("trades", "trade"), ("ws", "book")):
            for path in sorted((root / folder).glob("*")) if (root / folder).is_dir() else ():
                found = _parse(path, mode)  # type: ignore[arg-type]
                if found is not None and (mode != "book" or _has_snapshot(path)):
                    self.datasets.append(found)

    def find(self, instrument_id: InstrumentId, mode: Mode, interval: Interval | None
             ) -> Dataset:
        usable = [d for d in self.datasets if d.mode == mode
                  and (mode != "bar" or d.interval == interval)
                  and (d.instrument_id.base, d.instrument_id.quote, d.instrument_id.venue)
                  == (instrument_id.base, instrument_id.quote, instrument_id.venue)]
        exact = [d for d in usable if d.instrument_id == instrument_id]
        if exact or usable:
            return (exact or usable)[0]
        what = f"{mode} data" + (f" at {interval.value}" if interval and mode == "bar" else "")
        raise NotFound(f"no recorded {what} for {instrument_id}; available: "
                       f"{sorted({str(d.instrument_id) for d in self.datasets if d.mode == mode})}",
                       field="instruments")


@cache
def _has_snapshot(path: Path) -> bool:
    """A book recording must hold a REST depth snapshot near its start (the collector takes
    one when the stream starts; a later day's file has none and cannot seed a book)."""
    import gzip
    from itertools import islice

    with gzip.open(path, "rt") as lines:
        return any('"lastUpdateId"' in line for line in islice(lines, 5000))


def instrument_for(dataset: Dataset, wanted: InstrumentId) -> Instrument:
    """The instrument a run trades: the requested kind over the dataset's prices."""
    decimals = 0
    with dataset.path.open("rb") if dataset.mode != "book" else _nothing() as handle:
        for n, line in enumerate(handle):
            if n > 2000:
                break
            for cell in line.decode().split(",")[1:5]:
                if "." in cell and cell.replace(".", "").isdigit():
                    decimals = max(decimals, len(cell.split(".")[1].rstrip("0")))
    if dataset.mode == "book":
        decimals = 2 if wanted.quote.startswith("USD") else 8
    tick = Price(Decimal(1).scaleb(-min(decimals, 18)))
    return Instrument(wanted.venue, f"{wanted.base}{wanted.quote}", wanted.base, wanted.quote,
                      wanted.kind, tick, LOT, LOT, Money("0", wanted.quote))


class _nothing:  # noqa: N801  (a context manager standing in for a file)
    def __enter__(self) -> list[bytes]:
        return []

    def __exit__(self, *_: object) -> None:
        return None


def _in(ts: int, start_ns: int | None, end_ns: int | None) -> bool:
    return (start_ns is None or ts >= start_ns) and (end_ns is None or ts < end_ns)


def read_bars(dataset: Dataset, instrument_id: InstrumentId, start_ns: int | None = None,
              end_ns: int | None = None) -> list[Bar]:
    """The file's bars with open time in [start, end); inconsistent rows are skipped."""
    assert dataset.interval is not None
    step = dataset.interval.ns
    out: list[Bar] = []
    zero = Quantity(0)
    with dataset.path.open(newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)
        for ts_ms, o, h, lo, c, v in rows:
            ts = ms_to_ns(int(ts_ms))
            if not _in(ts, start_ns, end_ns):
                continue
            try:
                out.append(Bar(instrument_id, dataset.interval, Price(o), Price(h), Price(lo),
                               Price(c), Quantity(v) if v else zero, ts, ts + step))
            except Invalid:
                continue
    return out


def read_trades(dataset: Dataset, instrument_id: InstrumentId, start_ns: int | None = None,
                end_ns: int | None = None) -> Iterator[TradeTick]:
    """Trades with receive time (trade time when not recorded) in [start, end)."""
    with dataset.path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            ts_event = ms_to_ns(int(row["ts_ms"]))
            recv = row.get("recv_ts_ns")
            ts = int(recv) if recv else ts_event
            if not _in(ts, start_ns, end_ns):
                continue
            side = Side.SELL if row["is_buyer_maker"] == "true" else Side.BUY
            yield TradeTick(instrument_id, Price(row["price"]), Quantity(row["qty"]), side,
                            row.get("trade_id") or row.get("agg_trade_id") or "", ts_event, ts)


def read_events(dataset: Dataset, instrument_id: InstrumentId, start_ns: int | None = None,
                end_ns: int | None = None) -> list[RecordedEvent]:
    """Snapshot, depth deltas and trades received before `end`. Events before `start` are
    kept: the book is only right after every delta since the snapshot (the engine feeds
    them to the venue, not to the strategy)."""
    events = recorded_binance_events(dataset.path, instrument_id)
    return [e for n, e in enumerate(events)
            if n == 0 or _in(getattr(e, "ts_recv_ns", 0), None, end_ns)]


def no_data(instrument_id: InstrumentId, start_ns: int | None, end_ns: int | None,
            dataset: Dataset) -> Invalid:
    """The 4xx for a range without data, naming the instrument and the range."""
    lo = ns_to_iso(start_ns) if start_ns is not None else "the beginning"
    hi = ns_to_iso(end_ns) if end_ns is not None else "the end"
    return Invalid(f"no {dataset.mode} data for {instrument_id} between {lo} and {hi} "
                   f"(file {dataset.path.name})", field="start", code="no_data",
                   details={"instrument_id": str(instrument_id), "start": lo, "end": hi})


@cache
def bounds(dataset: Dataset) -> tuple[int, int]:
    """(first, last) event time of a file, read from its ends (book: its whole stream)."""
    if dataset.mode == "book":
        import gzip

        first = last = 0
        with gzip.open(dataset.path, "rt") as lines:
            for line in lines:
                stamp = int(line[14:33]) if line.startswith('{"recv_ts_ns":') else 0
                first = first or stamp
                last = stamp or last
        return first, last
    with dataset.path.open("rb") as handle:
        header = handle.readline().decode().strip().split(",")
        first_row = handle.readline().decode().strip().split(",")
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        last_row = handle.read().decode().strip().splitlines()[-1].split(",")
    column = header.index("recv_ts_ns") if "recv_ts_ns" in header else 0

    def ts(row: list[str]) -> int:
        return int(row[column]) if column else ms_to_ns(int(row[0]))

    return ts(first_row), ts(last_row)


def check_range(catalog: Catalog, instrument_id: InstrumentId, mode: Mode,
                interval: Interval | None, start_ns: int | None, end_ns: int | None) -> None:
    """Refuse, before queueing, a run whose range holds no data for an instrument."""
    dataset = catalog.find(instrument_id, mode, interval)
    first, last = bounds(dataset)
    if (end_ns is not None and end_ns <= first) or (start_ns is not None and start_ns > last):
        error = no_data(instrument_id, start_ns, end_ns, dataset)
        error.details["available"] = f"{ns_to_iso(first)} .. {ns_to_iso(last)}"
        error.message += f"; the recording covers {ns_to_iso(first)} .. {ns_to_iso(last)}"
        raise error
