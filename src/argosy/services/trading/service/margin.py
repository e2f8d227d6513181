"""USD-M perpetual margin per position, and the leverage setting behind it.

Margin is cross: every perpetual of an account that settles in the same quote asset is
backed by that asset's wallet balance (which already holds realized PnL and fees, see
domain/ledger.py). A position's liquidation price treats the account's other positions as
fixed at their marks: their unrealized PnL adds to its margin, their maintenance takes
from it (Binance's cross formula for one position at a time). The numbers are shown, not
enforced: the paper venue does not force-liquidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.v1.trading import LeverageIn, LeverageOut
from argosy.kernel.errors import Conflict, Invalid, VenueRejected
from argosy.kernel.instruments import Instrument, InstrumentId, InstrumentKind
from argosy.services.trading.domain.ledger import (
    initial_margin,
    liquidation_price,
    maintenance_margin,
)
from argosy.services.trading.events import position_event
from argosy.services.trading.models import PositionRow
from argosy.services.trading.service._accounts import owned_account
from argosy.services.trading.service._context import Caller, Deps
from argosy.services.trading.venues import VenueHandle

log = structlog.get_logger(__name__)

__all__ = ["LeverageService", "Margin", "account_margins", "margins", "restore_leverage"]


@dataclass(frozen=True, slots=True)
class Margin:
    leverage: int
    initial: Decimal | None
    maintenance: Decimal | None
    liquidation: Decimal | None


def margins(rows: list[PositionRow], instruments: dict[str, Instrument],
            marks: dict[str, Decimal | None], wallets: dict[str, Decimal],
            default_leverage: int, rate: Decimal) -> dict[str, Margin]:
    """Per perpetual position (instrument id) of ONE account: leverage, margins and the
    cross-margin liquidation price. Spot and unknown instruments are left out."""
    open_: dict[str, tuple[Instrument, Decimal, Decimal, Decimal]] = {}
    out: dict[str, Margin] = {}
    for r in rows:
        inst = instruments.get(r.instrument)
        if inst is None or inst.kind is InstrumentKind.SPOT:
            continue
        lev = r.leverage or default_leverage
        qty = Decimal(r.quantity)
        if qty == 0 or r.average_entry is None:
            out[r.instrument] = Margin(lev, None, None, None)
            continue
        entry = Decimal(r.average_entry)
        price = marks.get(r.instrument) or entry
        open_[r.instrument] = (inst, qty, entry, price)
        out[r.instrument] = Margin(lev, initial_margin(qty, price, lev),
                                   maintenance_margin(qty, price, rate), None)
    for key, (inst, qty, entry, _) in open_.items():
        backing = wallets.get(inst.quote, Decimal(0))
        for other, (o_inst, o_qty, o_entry, o_price) in open_.items():
            if other != key and o_inst.quote == inst.quote:
                backing += o_qty * (o_price - o_entry) - maintenance_margin(o_qty, o_price,
                                                                            rate)
        m = out[key]
        out[key] = Margin(m.leverage, m.initial, m.maintenance,
                          liquidation_price(qty, entry, backing, rate))
    return out


async def account_margins(d: Deps, s: AsyncSession, account_id: str,
                          org: str) -> dict[str, Margin]:
    """`margins` for one account from its stored positions and balances."""
    rows = await d.store.positions(s, [account_id], org)
    known = {r.instrument: d.instruments.cached(r.instrument) for r in rows}
    wallets = {b.asset: Decimal(b.total) for b in await d.store.balances(s, [account_id], org)}
    return margins(rows, {k: v for k, v in known.items() if v is not None},
                   {r.instrument: d.marks.mark(r.instrument) for r in rows}, wallets,
                   d.settings.perp_leverage, d.settings.perp_maintenance_rate)


def _paper_setter(handle: VenueHandle | None) -> Any:
    return getattr(handle.venue, "set_leverage", None) if handle and handle.ephemeral \
        else None


def _apply_to_paper(d: Deps, account_id: str, instrument: Instrument, leverage: int) -> None:
    """Tell the account's paper venue, so its own margin check agrees with ours. Inside
    the transaction: a venue refusal rolls the stored setting back. Exchange accounts keep
    the exchange's leverage (setting it there is not implemented)."""
    setter = _paper_setter(d.venues.known(account_id))
    if setter is not None:
        setter(instrument.id, leverage)


async def restore_leverage(d: Deps, account: Any, handle: VenueHandle) -> None:
    """A paper venue just built (first use, or after a restart) gets the stored leverages
    before any order reaches it. One it refuses (a position already open there) is logged
    and left: the venue then checks margin at its own leverage."""
    setter = _paper_setter(handle)
    if setter is None:
        return
    async with d.db.read() as s:
        rows = await d.store.positions(s, [account.id], account.org_id)
    for r in rows:
        if r.leverage is not None:
            try:
                setter(InstrumentId.parse(r.instrument), r.leverage)
            except VenueRejected as exc:
                log.warning("leverage.not_restored", account=account.id,
                            instrument=r.instrument, error=str(exc))


class LeverageService:
    def __init__(self, d: Deps) -> None:
        self.d = d

    async def set(self, c: Caller, instrument_id: str, body: LeverageIn) -> LeverageOut:
        """Store the leverage of one perpetual in one account. Refused while the position
        is open, as the paper venue and exchanges refuse lowering it under a position."""
        c.require("orders:write")
        d = self.d
        instrument = await d.instruments.get(instrument_id)
        if instrument.kind is InstrumentKind.SPOT:
            raise Invalid("leverage applies to perpetuals only", field="instrument",
                          code="not_a_perpetual")
        key = str(instrument.id)
        async with d.db.transaction() as s:
            account = await owned_account(d, s, c, body.account_id)
            row = await d.store.position(s, account.id, key)
            if row is not None and Decimal(row.quantity) != 0:
                raise Conflict("leverage cannot change while the position is open",
                               field="leverage", code="position_open")
            now = d.now()
            if row is None:
                row = PositionRow(account_id=account.id, instrument=key, org_id=account.org_id,
                                  quantity="0", realized_pnl="0", fees_paid="0",
                                  updated_ns=now)
                s.add(row)
            row.leverage = body.leverage
            row.updated_ns = now
            _apply_to_paper(d, account.id, instrument, body.leverage)
            await s.flush()
            await position_event(d.outbox, s, row, account.user_id, f"leverage:{now}", now,
                                 leverage=body.leverage)
        return LeverageOut(account_id=account.id, instrument=key, leverage=body.leverage)
