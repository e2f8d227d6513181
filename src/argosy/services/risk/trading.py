"""Calls to the trading service when risk must act: cancel all orders, close a position.

The trading API acts for a user (the account's owner), so the risk service calls it with an
internal identity token for that user, minted with the platform's internal secret exactly
as the gateway does for a verified user, carrying only `orders:read` and `orders:write`.
Each close is a market order for the opposite side whose `client_order_id` is derived
from the reason (breach or stop) and the instrument: a retry after a timeout or a restart
asks for the same order, and the trading engine's idempotency turns it into one. It is
flagged reduce-only on perpetuals; the trading API refuses the flag on spot (a spot sell
can only sell what the balance holds), where the pre-trade rules and an engaged kill
switch still see the order as reducing, because it shrinks the long position.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import httpx

from argosy.kernel.errors import Conflict
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.clients.base import ServiceClient
from argosy.services.risk.domain.book import Owner

__all__ = ["CloseNotFilled", "TradingGateway", "close_order_id", "is_perpetual"]

_PERMISSIONS = frozenset({"orders:read", "orders:write"})
_UNFILLED_FINAL = frozenset({"rejected", "expired", "cancelled"})


class CloseNotFilled(Exception):
    """The trading service stored the close but it ended without any fill."""


def is_perpetual(instrument: str) -> bool:
    """`BTC-USDT-PERP.binance`: the canonical id names perpetuals with a -PERP symbol."""
    return instrument.split(".", 1)[0].endswith("-PERP")


def close_order_id(reason: str, account_id: str, instrument: str) -> str:
    digest = hashlib.sha256(f"{reason}|{account_id}|{instrument}".encode()).hexdigest()
    return f"rk-{digest[:28]}"


class TradingGateway:
    def __init__(
        self,
        base_url: str,
        auth: InternalAuth,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url, self._auth = base_url, auth
        self._timeout_s, self._transport = timeout_s, transport
        self._clients: dict[Owner, ServiceClient] = {}

    def _client(self, owner: Owner) -> ServiceClient:
        client = self._clients.get(owner)
        if client is None:
            principal = Principal(f"user:{owner.user_id}", _PERMISSIONS, org=owner.org)
            client = ServiceClient(
                "trading", self._base_url, auth=self._auth, caller=principal,
                timeout_s=self._timeout_s, transport=self._transport,
            )  # fmt: skip
            if len(self._clients) > 1000:
                self._clients.clear()
            self._clients[owner] = client
        return client

    async def cancel_all(self, owner: Owner, account_id: str) -> Any:
        return await self._client(owner).post_json(
            "/api/v1/orders/cancel-all", {"account_id": account_id}
        )

    async def close(
        self,
        owner: Owner,
        account_id: str,
        instrument: str,
        position_qty: Decimal,
        reason: str,
        attempt: int = 0,
    ) -> str:
        """Send the market order that flattens the position; its client id.

        The trading API answers a close the venue refused (no market data, a filter...)
        with the stored order in a final state and nothing filled, not with an error:
        that raises `CloseNotFilled`, so the action is retried, and the caller's next
        `attempt` derives a new client order id (the same one would only return the
        same refused order).
        """
        key = reason if attempt == 0 else f"{reason}#{attempt}"
        client_order_id = close_order_id(key, account_id, instrument)
        body = {
            "account_id": account_id,
            "instrument": instrument,
            "side": "sell" if position_qty > 0 else "buy",
            "type": "market",
            "quantity": format(abs(position_qty).normalize(), "f"),
            "reduce_only": is_perpetual(instrument),
            "client_order_id": client_order_id,
        }
        try:
            out = await self._client(owner).post_json("/api/v1/orders", body)
        except Conflict:  # this client order id was accepted before: the close is in flight
            return client_order_id
        status = out.get("status") if isinstance(out, dict) else None
        if status in _UNFILLED_FINAL and not Decimal(str(out.get("filled_quantity") or 0)):
            raise CloseNotFilled(
                f"close {client_order_id} of {instrument} ended {status}: {out.get('reason')}"
            )
        return client_order_id

    async def close_all(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
