"""The instruments a deployment trades: tick, lot and minimums from the market-data service.

A live strategy must round its orders as the venue will (a backtest rounds to what the
recorded prices show), so deployments take the venue's filters from
`GET /api/v1/market/instruments`, cached; an instrument without filters cannot be traded.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument, InstrumentId, InstrumentKind
from argosy.kernel.money import Money, Price, Quantity

__all__ = ["InstrumentRows", "MarketInstruments"]

InstrumentRows = Callable[[], Awaitable[list[Mapping[str, Any]]]]


def _instrument(row: Mapping[str, Any]) -> Instrument | None:
    if not row.get("tick_size") or not row.get("lot_size"):
        return None
    quote = str(row["quote"])
    return Instrument(
        venue=str(row["venue"]), symbol=str(row["symbol"]), base=str(row["base"]), quote=quote,
        kind=InstrumentKind(row["kind"]), tick_size=Price(str(row["tick_size"])),
        lot_size=Quantity(str(row["lot_size"])), min_qty=Quantity(str(row.get("min_qty") or 0)),
        min_notional=Money(str(row.get("min_notional") or 0), quote),
        max_qty=Quantity(str(row["max_qty"])) if row.get("max_qty") else None)


class MarketInstruments:
    def __init__(self, fetch: InstrumentRows, ttl_s: float = 300.0) -> None:
        self._fetch, self._ttl_s = fetch, ttl_s
        self._by_id: dict[str, Instrument] = {}
        self._loaded = 0.0

    async def __call__(self, iid: InstrumentId) -> Instrument:
        key = str(iid)
        if key not in self._by_id or time.monotonic() - self._loaded > self._ttl_s:
            found: dict[str, Instrument] = {}
            for row in await self._fetch():
                instrument = _instrument(row)
                if instrument is not None:
                    found[str(row.get("instrument_id") or instrument.id)] = instrument
            self._by_id, self._loaded = found, time.monotonic()
        instrument = self._by_id.get(key)
        if instrument is None:
            raise Invalid(f"{key} is not a tradable instrument (no venue filters known)",
                          field="instruments")
        return instrument
