"""exchangeInfo -> kernel `Instrument`s, plus what the kernel type does not hold (status).

Spot symbols become `InstrumentKind.SPOT`; USD-M symbols with `contractType == PERPETUAL`
become `PERP`. Dated futures (BTCUSDT_250627) have no canonical id yet, so they are skipped
and reported with the reason, as is any symbol whose filters cannot make a valid
Instrument (a zero tick size on a delisted pair, for example): one odd symbol must not stop
a refresh of the other two thousand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.money import Money, Price, Quantity
from argosy.venues.binance.markets import BinanceMarket, spec

__all__ = ["ExchangeInfo", "VenueInstrument", "parse_exchange_info", "weight_limit_of"]

VENUE = "binance"


@dataclass(frozen=True, slots=True)
class VenueInstrument:
    """An instrument as Binance lists it; `status` is TRADING, BREAK, HALT, SETTLING..."""

    market: BinanceMarket
    symbol: str
    status: str
    instrument: Instrument

    @property
    def id(self) -> InstrumentId:
        return self.instrument.id

    @property
    def trading(self) -> bool:
        return self.status == "TRADING"


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    market: BinanceMarket
    instruments: list[VenueInstrument]
    skipped: dict[str, str] = field(default_factory=dict)  # symbol -> reason
    weight_limit_per_minute: int | None = None
    server_time_ms: int | None = None

    def by_symbol(self) -> dict[str, VenueInstrument]:
        return {vi.symbol: vi for vi in self.instruments}


def weight_limit_of(data: Mapping[str, Any]) -> int | None:
    """REQUEST_WEIGHT per minute from the `rateLimits` array, if present."""
    for limit in data.get("rateLimits") or []:
        if (
            isinstance(limit, dict)
            and limit.get("rateLimitType") == "REQUEST_WEIGHT"
            and limit.get("interval") == "MINUTE"
            and isinstance(limit.get("limit"), int)
        ):
            minutes = limit.get("intervalNum", 1)
            if isinstance(minutes, int) and minutes > 0:
                return int(limit["limit"] // minutes)
    return None


def _filters(symbol: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        f["filterType"]: f
        for f in symbol.get("filters") or []
        if isinstance(f, dict) and isinstance(f.get("filterType"), str)
    }


def _instrument(raw: Mapping[str, Any], market: BinanceMarket) -> VenueInstrument:
    filters = _filters(raw)
    price_filter, lot = filters.get("PRICE_FILTER"), filters.get("LOT_SIZE")
    if price_filter is None or lot is None:
        raise Invalid("PRICE_FILTER or LOT_SIZE missing", field="filters")
    quote = str(raw.get("quoteAsset", ""))
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    min_notional = notional.get("minNotional", notional.get("notional", "0"))
    max_qty = lot.get("maxQty")
    instrument = Instrument(
        venue=VENUE,
        symbol=str(raw["symbol"]),
        base=str(raw.get("baseAsset", "")),
        quote=quote,
        kind=spec(market).instrument_kind,
        tick_size=Price(str(price_filter.get("tickSize"))),
        lot_size=Quantity(str(lot.get("stepSize"))),
        min_qty=Quantity(str(lot.get("minQty"))),
        min_notional=Money(str(min_notional), quote),
        max_qty=Quantity(str(max_qty)) if max_qty not in (None, "0", "0.00000000") else None,
    )
    status = raw.get("status", raw.get("contractStatus", ""))
    return VenueInstrument(market, instrument.symbol, str(status), instrument)


def parse_exchange_info(data: Mapping[str, Any], market: BinanceMarket) -> ExchangeInfo:
    market = BinanceMarket(market)
    instruments: list[VenueInstrument] = []
    skipped: dict[str, str] = {}
    for raw in data.get("symbols") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("symbol"), str):
            continue
        name = raw["symbol"]
        if market is BinanceMarket.USDM and raw.get("contractType") != "PERPETUAL":
            skipped[name] = f"contractType {raw.get('contractType')!r} has no canonical id"
            continue
        try:
            instruments.append(_instrument(raw, market))
        except (Invalid, KeyError) as error:
            skipped[name] = error.message if isinstance(error, Invalid) else str(error)
    server_time = data.get("serverTime")
    return ExchangeInfo(
        market=market,
        instruments=instruments,
        skipped=skipped,
        weight_limit_per_minute=weight_limit_of(data),
        server_time_ms=server_time if isinstance(server_time, int) else None,
    )
