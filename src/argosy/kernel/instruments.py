"""What can be traded where, and the venue's rules for a valid order.

`InstrumentId` is the one name every service, topic payload and database row uses for an
instrument: `BTC-USDT.binance` for spot, `BTC-USDT-PERP.binance` for a perpetual. The
venue-native symbol (`BTCUSDT`) only matters to the adapter that talks to the venue, so it
lives on `Instrument` and never in ids.

`Instrument.validate_order` rejects exactly what the venue would reject (off-tick price,
off-lot size, below minimum size or notional) before an order leaves the process, so a
strategy learns about it synchronously instead of through a venue error a round trip later.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from enum import StrEnum

from argosy.kernel.errors import Invalid
from argosy.kernel.money import Money, Price, Quantity, notional

__all__ = ["Instrument", "InstrumentId", "InstrumentKind"]

_ASSET = re.compile(r"[A-Z0-9]{1,20}")
_VENUE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SYMBOL = re.compile(r"[A-Za-z0-9._:/-]{1,40}")
_PERP_SUFFIX = "PERP"


class InstrumentKind(StrEnum):
    SPOT = "spot"
    PERP = "perp"


@dataclass(frozen=True, slots=True, order=True)
class InstrumentId:
    """Canonical instrument name; `str(id)` is the wire form and `parse` its inverse.

    An id never equals a plain string: compare `str(id)` or parse the string first.
    """

    base: str
    quote: str
    kind: InstrumentKind
    venue: str

    def __post_init__(self) -> None:
        for field, asset in (("base", self.base), ("quote", self.quote)):
            if not isinstance(asset, str) or _ASSET.fullmatch(asset) is None:
                raise Invalid(
                    f"{field} must be an upper-case asset code such as BTC, got {asset!r}",
                    field=field,
                )
        if not isinstance(self.kind, InstrumentKind):
            raise Invalid(f"kind must be spot or perp, got {self.kind!r}", field="kind")
        if not isinstance(self.venue, str) or _VENUE.fullmatch(self.venue) is None:
            raise Invalid(
                f"venue must be a lower-case name such as binance, got {self.venue!r}",
                field="venue",
            )

    @classmethod
    def parse(cls, text: str, field: str = "instrument_id") -> InstrumentId:
        """Read `BASE-QUOTE.venue` or `BASE-QUOTE-PERP.venue`; `field` names the input."""
        if not isinstance(text, str):
            raise Invalid(f"{field} must be a string, got {type(text).__name__}", field=field)
        symbol, dot, venue = text.rpartition(".")
        parts = symbol.split("-")
        if not dot or not symbol or len(parts) not in (2, 3):
            raise Invalid(
                f"{field} must look like BTC-USDT.binance or BTC-USDT-PERP.binance, "
                f"got {text[:60]!r}",
                field=field,
            )
        kind = InstrumentKind.SPOT
        if len(parts) == 3:
            if parts[2] != _PERP_SUFFIX:
                raise Invalid(
                    f"{field}: the only known suffix is -PERP, got {parts[2][:20]!r}",
                    field=field,
                )
            kind = InstrumentKind.PERP
        try:
            return cls(parts[0], parts[1], kind, venue)
        except Invalid as error:
            raise Invalid(f"{field}: {error.message}", field=field) from None

    @property
    def symbol(self) -> str:
        """The venue-independent part, e.g. `BTC-USDT-PERP`."""
        pair = f"{self.base}-{self.quote}"
        return f"{pair}-{_PERP_SUFFIX}" if self.kind is InstrumentKind.PERP else pair

    def __str__(self) -> str:
        return f"{self.symbol}.{self.venue}"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable instrument with the venue's filters (Binance PRICE_FILTER, LOT_SIZE...).

    `min_notional` is in the quote asset; `max_qty` is None when the venue sets no cap.
    """

    venue: str
    symbol: str
    base: str
    quote: str
    kind: InstrumentKind
    tick_size: Price
    lot_size: Quantity
    min_qty: Quantity
    min_notional: Money
    max_qty: Quantity | None = None

    def __post_init__(self) -> None:
        InstrumentId(self.base, self.quote, self.kind, self.venue)  # validates the names
        if not isinstance(self.symbol, str) or _SYMBOL.fullmatch(self.symbol) is None:
            raise Invalid(f"symbol is not a venue symbol: {self.symbol!r}", field="symbol")
        if not isinstance(self.tick_size, Price) or self.tick_size.value <= 0:
            raise Invalid("tick_size must be a positive Price", field="tick_size")
        if not isinstance(self.lot_size, Quantity) or self.lot_size.is_zero():
            raise Invalid("lot_size must be a positive Quantity", field="lot_size")
        if not isinstance(self.min_qty, Quantity):
            raise Invalid("min_qty must be a Quantity", field="min_qty")
        if not isinstance(self.min_notional, Money) or self.min_notional.currency != self.quote:
            raise Invalid(
                f"min_notional must be Money in the quote asset {self.quote}",
                field="min_notional",
            )
        if self.max_qty is not None and (
            not isinstance(self.max_qty, Quantity) or self.max_qty < self.min_qty
        ):
            raise Invalid("max_qty must be a Quantity not below min_qty", field="max_qty")

    @property
    def id(self) -> InstrumentId:
        return InstrumentId(self.base, self.quote, self.kind, self.venue)

    def round_price(self, price: Price, rounding: str = decimal.ROUND_HALF_EVEN) -> Price:
        """Snap to the tick; a passive buyer may prefer ROUND_DOWN and a seller ROUND_UP."""
        return price.quantize(self.tick_size, rounding)

    def round_qty(self, quantity: Quantity, rounding: str = decimal.ROUND_DOWN) -> Quantity:
        """Snap to the lot; rounding down never spends more than the caller meant."""
        return quantity.quantize(self.lot_size, rounding)

    def notional(self, price: Price, quantity: Quantity) -> Money:
        return notional(price, quantity, self.quote)

    def validate_quantity(self, quantity: Quantity) -> None:
        """The checks that need no price, for market orders."""
        if not isinstance(quantity, Quantity):
            raise Invalid("quantity must be a Quantity", field="quantity")
        if quantity.is_zero():
            raise Invalid("quantity must be positive", field="quantity", code="zero_quantity")
        if not quantity.is_multiple_of(self.lot_size):
            raise Invalid(
                f"quantity {quantity} is not a multiple of the lot size {self.lot_size}",
                field="quantity",
                code="off_lot",
                details={"lot_size": self.lot_size.to_str()},
            )
        if quantity < self.min_qty:
            raise Invalid(
                f"quantity {quantity} is below the minimum {self.min_qty}",
                field="quantity",
                code="below_min_qty",
                details={"min_qty": self.min_qty.to_str()},
            )
        if self.max_qty is not None and quantity > self.max_qty:
            raise Invalid(
                f"quantity {quantity} is above the maximum {self.max_qty}",
                field="quantity",
                code="above_max_qty",
                details={"max_qty": self.max_qty.to_str()},
            )

    def validate_order(self, price: Price, quantity: Quantity) -> None:
        """Raise `Invalid` naming `price` or `quantity` for what the venue would reject.

        A notional below the minimum names `quantity`: it is the size that has to grow.
        """
        if not isinstance(price, Price):
            raise Invalid("price must be a Price", field="price")
        if price.value <= 0:
            raise Invalid(f"price must be positive, got {price}", field="price")
        if not price.is_multiple_of(self.tick_size):
            raise Invalid(
                f"price {price} is not a multiple of the tick size {self.tick_size}",
                field="price",
                code="off_tick",
                details={"tick_size": self.tick_size.to_str()},
            )
        self.validate_quantity(quantity)
        value = self.notional(price, quantity)
        if value < self.min_notional:
            raise Invalid(
                f"order notional {value} is below the minimum {self.min_notional}",
                field="quantity",
                code="below_min_notional",
                details={"notional": value.to_str(), "min_notional": self.min_notional.to_str()},
            )
