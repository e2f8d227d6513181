"""Which connector serves a canonical instrument, and under which venue symbol.

Binance spot and USD-M perpetuals go to the native connector (`venues/binance`), whose
symbol is base + quote (`BTC-USDT.binance` -> spot `BTCUSDT`, `BTC-USDT-PERP.binance` ->
USD-M `BTCUSDT`); every other venue goes through ccxt, whose unified symbols are
`BASE/QUOTE` (spot) and `BASE/QUOTE:QUOTE` (linear perpetual).
"""

from __future__ import annotations

from dataclasses import dataclass

from argosy.kernel.instruments import InstrumentId, InstrumentKind

__all__ = ["BINANCE", "Route", "route"]

BINANCE = "binance"


@dataclass(frozen=True, slots=True)
class Route:
    instrument_id: InstrumentId
    venue: str
    market: str  # "spot" | "usdm" on Binance; "spot" | "swap" through ccxt
    symbol: str  # the venue's (Binance) or ccxt's unified symbol
    native: bool  # True: venues/binance; False: venues/ccxt_venue

    @property
    def key(self) -> str:
        return str(self.instrument_id)


def route(instrument_id: InstrumentId) -> Route:
    iid = instrument_id
    perp = iid.kind is InstrumentKind.PERP
    if iid.venue == BINANCE:
        return Route(iid, iid.venue, "usdm" if perp else "spot", f"{iid.base}{iid.quote}", True)
    unified = f"{iid.base}/{iid.quote}" + (f":{iid.quote}" if perp else "")
    return Route(iid, iid.venue, "swap" if perp else "spot", unified, False)
