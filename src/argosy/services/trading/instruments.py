"""Instrument filters (tick, lot, min notional) from the market-data service, cached.

The venue's rules live with market data (it reads exchangeInfo); trading asks
`GET /api/v1/market/instruments` and keeps the answer `ttl_s`. An instrument not in the
answer is refreshed once before it is declared unknown (a newly listed symbol), and an
unreachable market-data service with nothing cached is `Unavailable`, never a guess.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from argosy.kernel.errors import ArgosyError, Invalid
from argosy.kernel.instruments import Instrument, InstrumentId, InstrumentKind
from argosy.kernel.money import Money, Price, Quantity

__all__ = ["InstrumentCatalog", "InstrumentFetch", "instrument_from_wire"]

log = structlog.get_logger("argosy.trading.instruments")

InstrumentFetch = Callable[[], Awaitable[list[Mapping[str, Any]]]]


def instrument_from_wire(row: Mapping[str, Any]) -> Instrument | None:
    """One market-data `Instrument` item; None when its filters are unknown (backfill-only
    instruments carry no trading rules, and an order on them cannot be validated)."""
    if not row.get("tick_size") or not row.get("lot_size"):
        return None
    quote = str(row["quote"])
    return Instrument(
        venue=str(row["venue"]), symbol=str(row["symbol"]), base=str(row["base"]), quote=quote,
        kind=InstrumentKind(row["kind"]), tick_size=Price(str(row["tick_size"])),
        lot_size=Quantity(str(row["lot_size"])), min_qty=Quantity(str(row.get("min_qty") or 0)),
        min_notional=Money(str(row.get("min_notional") or 0), quote),
        max_qty=Quantity(str(row["max_qty"])) if row.get("max_qty") else None,
    )


class InstrumentCatalog:
    def __init__(self, fetch: InstrumentFetch, ttl_s: float = 300.0) -> None:
        self._fetch, self._ttl_s = fetch, ttl_s
        self._by_id: dict[str, Instrument] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            rows = await self._fetch()
            found: dict[str, Instrument] = {}
            for row in rows:
                try:
                    instrument = instrument_from_wire(row)
                except (ArgosyError, KeyError, ValueError) as exc:
                    log.warning("instrument.unusable", row=row.get("instrument_id"),
                                error=str(exc))
                    continue
                if instrument is not None:
                    found[str(instrument.id)] = instrument
            self._by_id = found
            self._loaded_at = time.monotonic()

    def cached(self, instrument_id: str) -> Instrument | None:
        return self._by_id.get(instrument_id)

    def all(self) -> list[Instrument]:
        return list(self._by_id.values())

    async def get(self, instrument_id: str, field: str = "instrument") -> Instrument:
        canonical = str(InstrumentId.parse(instrument_id, field))
        stale = time.monotonic() - self._loaded_at > self._ttl_s
        if stale or canonical not in self._by_id:
            try:
                await self.refresh()
            except ArgosyError:
                if not self._by_id:
                    raise
                log.warning("instrument.refresh_failed_using_cache")
        found = self._by_id.get(canonical)
        if found is None:
            raise Invalid(f"unknown instrument {canonical}", field=field,
                          code="unknown_instrument")
        return found
