"""What the trading service publishes and consumes on the bus.

Published through the outbox, in the transaction that made the change:
`trading.order.<account>` (every transition), `trading.fill.<account>`,
`trading.position.<account>` and `trading.balance.<account>`. Message ids are derived from
what the event states (order + status + filled, fill id...), so an event written twice
by a retried use-case is dropped by the bus's de-duplication and consumers alike.

Consumed: `users.account.created` (durable group: opens the account and its paper
balance), `risk.rules.changed` (fan-out: reload the pre-trade rules) and the market data
streams `md.book.>` / `md.trade.>` (fan-out: marks and the paper venues' books).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.topics import trading
from argosy.contracts.v1.events import BalanceEvent, FillEvent, OrderEvent, PositionEvent
from argosy.kernel.money import Price
from argosy.platform.db.outbox import Outbox
from argosy.services.trading.models import BalanceRow, FillRow, OrderRow, PositionRow

__all__ = ["GROUP", "balance_event", "dstr", "fill_event", "order_event", "position_event"]

GROUP = "trading"


def dstr(value: Decimal) -> str:
    """Canonical decimal string: fixed point, no trailing zeros, "0" for zero."""
    return Price(value).to_str()


def _mid(key: str) -> str:
    """A stable message id from what the event states (the outbox keeps 64 characters)."""
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def _ms(ts_ns: int) -> int:
    return ts_ns // 1_000_000


async def order_event(outbox: Outbox, s: AsyncSession, o: OrderRow, ts_ns: int) -> None:
    payload = OrderEvent(
        org=o.org_id, user_id=o.user_id, at_ms=_ms(ts_ns), account_id=o.account_id,
        order_id=o.id, client_order_id=o.client_order_id, instrument=o.instrument,
        side=o.side,
        type=o.type, status=o.status, quantity=o.quantity, price=o.price,
        filled_quantity=o.filled_quantity, average_price=o.average_price, reason=o.reason)
    await outbox.add(s, trading("order", o.account_id), payload.model_dump(mode="json"),
                     msg_id=_mid(f"order:{o.id}:{o.status}:{o.filled_quantity}"))


async def fill_event(outbox: Outbox, s: AsyncSession, f: FillRow, user_id: str) -> None:
    payload = FillEvent(
        org=f.org_id, user_id=user_id, at_ms=_ms(f.ts_ns), account_id=f.account_id,
        order_id=f.order_id, fill_id=f.fill_id, instrument=f.instrument,
        side=f.side,
        price=f.price, quantity=f.quantity, fee=f.fee, fee_asset=f.fee_asset,
        liquidity=f.liquidity)
    await outbox.add(s, trading("fill", f.account_id), payload.model_dump(mode="json"),
                     msg_id=_mid(f"fill:{f.account_id}:{f.instrument}:{f.fill_id}"))


async def position_event(outbox: Outbox, s: AsyncSession, p: PositionRow, user_id: str,
                         ref: str, ts_ns: int, mark: str | None = None,
                         unrealized: str = "0", leverage: int | None = None,
                         liquidation: str | None = None) -> None:
    payload = PositionEvent(
        org=p.org_id, user_id=user_id, at_ms=_ms(ts_ns), account_id=p.account_id,
        instrument=p.instrument, quantity=p.quantity, average_entry=p.average_entry,
        realized_pnl=p.realized_pnl, unrealized_pnl=unrealized, fees_paid=p.fees_paid,
        mark_price=mark, leverage=leverage, liquidation_price=liquidation)
    await outbox.add(s, trading("position", p.account_id), payload.model_dump(mode="json"),
                     msg_id=_mid(f"position:{p.account_id}:{p.instrument}:{ref}"))


async def balance_event(outbox: Outbox, s: AsyncSession, b: BalanceRow, user_id: str,
                        ref: str, ts_ns: int, locked: Decimal = Decimal(0)) -> None:
    payload = BalanceEvent(
        org=b.org_id, user_id=user_id, at_ms=_ms(ts_ns), account_id=b.account_id,
        asset=b.asset, total=b.total, available=dstr(Decimal(b.total) - locked),
        locked=dstr(locked))
    await outbox.add(s, trading("balance", b.account_id), payload.model_dump(mode="json"),
                     msg_id=_mid(f"balance:{b.account_id}:{b.asset}:{ref}"))
