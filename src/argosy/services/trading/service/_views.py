"""Rows to API shapes."""

from __future__ import annotations

from argosy.contracts.v1.trading import FillOut, OrderOut, TransitionOut
from argosy.services.trading.models import FillRow, OrderRow, TransitionRow

__all__ = ["fill_out", "order_out"]


def order_out(r: OrderRow, transitions: list[TransitionRow] | None = None) -> OrderOut:
    return OrderOut(
        id=r.id, account_id=r.account_id, client_order_id=r.client_order_id,
        instrument=r.instrument, side=r.side, type=r.type, quantity=r.quantity, price=r.price,
        stop_price=r.stop_price, trailing_bps=r.trailing_bps, time_in_force=r.time_in_force,
        expire_at=r.expire_at_ns, reduce_only=r.reduce_only, status=r.status,
        filled_quantity=r.filled_quantity, average_price=r.average_price,
        venue_order_id=r.venue_order_id, reason=r.reason, created_ns=r.created_ns,
        updated_ns=r.updated_ns, parent_algo_id=r.parent_algo_id,
        transitions=None if transitions is None else [
            TransitionOut(from_status=t.from_status, to_status=t.to_status,
                          filled_quantity=t.filled_quantity, source=t.source, reason=t.reason,
                          ts_ns=t.ts_ns) for t in transitions])


def fill_out(f: FillRow) -> FillOut:
    return FillOut(account_id=f.account_id, order_id=f.order_id, fill_id=f.fill_id,
                   instrument=f.instrument, side=f.side, price=f.price, quantity=f.quantity,
                   fee=f.fee, fee_asset=f.fee_asset, liquidity=f.liquidity, ts_ns=f.ts_ns)
