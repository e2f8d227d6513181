"""Rows of Binance's public data archive (data.binance.vision), read exactly as published.

File names: `<SYMBOL>-trades-YYYY-MM[-DD].csv`, `<SYMBOL>-aggTrades-...`, `<SYMBOL>-<interval>-...`
inside a zip of the same name. Columns (binance-public-data README):
- trades, spot: id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch (no header);
  USD-M: id, price, qty, quote_qty, time, is_buyer_maker (recent files have a header);
- aggTrades: aggId, price, qty, firstId, lastId, time, isBuyerMaker[, isBestMatch];
- klines: open time, open, high, low, close, volume, close time, quote volume, trades,
  taker base, taker quote, ignore.
Spot booleans are `True`/`False`, futures `true`/`false`. Spot files from 2025 carry
microsecond times; the unit is told apart by magnitude (ms times are < 1e14 until 5138).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from argosy.kernel.clock import NS_PER_MS, NS_PER_US
from argosy.kernel.errors import Invalid

__all__ = [
    "ArchiveKind",
    "ArchiveName",
    "ArchiveTrade",
    "kline_rows",
    "parse_name",
    "trade_rows",
]

_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]+)-(?P<kind>trades|aggTrades|\d+[smhdw]|1mo)-"
    r"(?P<period>\d{4}-\d{2}(?:-\d{2})?)\.(?:zip|csv)$")


class ArchiveKind:
    TRADES = "trades"
    AGG_TRADES = "aggTrades"


@dataclass(frozen=True, slots=True)
class ArchiveName:
    symbol: str
    kind: str  # "trades", "aggTrades" or a kline interval ("1m")
    period: str

    @property
    def is_klines(self) -> bool:
        return self.kind not in (ArchiveKind.TRADES, ArchiveKind.AGG_TRADES)


def parse_name(name: str) -> ArchiveName:
    match = _NAME.match(name)
    if match is None:
        raise Invalid(
            f"{name!r} is not a Binance archive file name (<SYMBOL>-trades-2024-08-08.zip, "
            "-aggTrades-, -1m-...)", field="path")
    return ArchiveName(match["symbol"], match["kind"], match["period"])


@dataclass(frozen=True, slots=True)
class ArchiveTrade:
    trade_id: int
    price: Decimal
    qty: Decimal
    ts_ns: int
    buyer_maker: bool


def _ns(value: str) -> int:
    number = int(value)
    return number * NS_PER_US if number >= 10**14 else number * NS_PER_MS


def _bool(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise Invalid(f"{where}: expected True/False, got {value[:20]!r}", field="path")
    return lowered == "true"


def _decimal(value: str, where: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{where}: not a decimal: {value[:30]!r}", field="path") from None
    if not number.is_finite() or number < 0:
        raise Invalid(f"{where}: not a finite non-negative decimal", field="path")
    return number


def _is_header(row: Sequence[str]) -> bool:
    return bool(row) and not row[0].strip().lstrip("-").isdigit()


def trade_rows(rows: Iterable[Sequence[str]], kind: str) -> Iterator[ArchiveTrade]:
    """trades or aggTrades rows -> trades (the agg id stands for the trade id)."""
    time_col, maker_col = (4, 5) if kind == ArchiveKind.TRADES else (5, 6)
    for number, row in enumerate(rows, 1):
        if number == 1 and _is_header(row):
            continue
        where = f"row {number}"
        if len(row) <= maker_col:
            raise Invalid(f"{where}: {len(row)} columns, a {kind} row has at least "
                          f"{maker_col + 1}", field="path")
        try:
            ident, ts = int(row[0]), _ns(row[time_col])
        except ValueError:
            raise Invalid(f"{where}: id and time must be integers", field="path") from None
        yield ArchiveTrade(ident, _decimal(row[1], where), _decimal(row[2], where), ts,
                           _bool(row[maker_col], where))


def kline_rows(rows: Iterable[Sequence[str]]) -> Iterator[tuple[int, tuple[Decimal, ...]]]:
    """(open time ns, (open, high, low, close, volume)) per kline row."""
    for number, row in enumerate(rows, 1):
        if number == 1 and _is_header(row):
            continue
        where = f"row {number}"
        if len(row) < 6:
            raise Invalid(f"{where}: a kline row has at least 6 columns", field="path")
        try:
            open_ns = _ns(row[0])
        except ValueError:
            raise Invalid(f"{where}: open time must be an integer", field="path") from None
        yield open_ns, tuple(_decimal(v, where) for v in row[1:6])
