"""The risk service's calls to the trading API, in the shapes the real trading service
accepts (checked end to end in tests/e2e/test_risk_trading.py): reduce-only only on
perpetuals, and a close the venue refused is retried under a new client order id."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from argosy.platform.auth.internal import InternalAuth
from argosy.services.risk.domain.book import Owner
from argosy.services.risk.trading import CloseNotFilled, TradingGateway, close_order_id

OWNER = Owner("org_g", "usr_g")


def _gateway(answers: list[httpx.Response], seen: list[dict[str, Any]]) -> TradingGateway:
    auth = InternalAuth(b"k" * 32)

    def handle(request: httpx.Request) -> httpx.Response:
        principal = auth.verify(request.headers.get("x-argosy-identity"))
        assert principal.subject == "user:usr_g"
        seen.append(json.loads(request.content))
        return answers.pop(0)

    return TradingGateway("http://trading", auth, transport=httpx.MockTransport(handle))


def _order(status: str, filled: str = "0") -> httpx.Response:
    return httpx.Response(201, json={"id": "ord_1", "status": status, "filled_quantity": filled,
                                     "reason": "no market data"})


@pytest.mark.parametrize(("instrument", "reduce_only"), [
    ("BTC-USDT.binance", False),  # the trading API refuses reduce_only on spot
    ("BTC-USDT-PERP.binance", True),
])
async def test_close_shape(instrument: str, reduce_only: bool) -> None:
    seen: list[dict[str, Any]] = []
    gateway = _gateway([_order("filled", "0.5")], seen)
    ref = await gateway.close(OWNER, "acc_g", instrument, Decimal("0.50"), "stop:stp_1")
    assert seen == [{"account_id": "acc_g", "instrument": instrument, "side": "sell",
                     "type": "market", "quantity": "0.5", "reduce_only": reduce_only,
                     "client_order_id": ref}]
    assert ref == close_order_id("stop:stp_1", "acc_g", instrument)
    await gateway.close_all()


async def test_refused_close_raises_and_the_next_attempt_is_a_new_order() -> None:
    seen: list[dict[str, Any]] = []
    conflict = httpx.Response(409, json={"error": {"code": "conflict", "message": "used"}})
    gateway = _gateway([_order("rejected"), _order("filled", "2"), conflict], seen)
    with pytest.raises(CloseNotFilled, match="rejected"):
        await gateway.close(OWNER, "acc_g", "BTC-USDT.binance", Decimal(-2), "breach:x")
    ref = await gateway.close(OWNER, "acc_g", "BTC-USDT.binance", Decimal(-2), "breach:x", 1)
    assert seen[0]["side"] == seen[1]["side"] == "buy"
    assert seen[0]["client_order_id"] != seen[1]["client_order_id"] == ref
    # the same attempt again: trading answers 409 (in flight), which is not an error
    again = await gateway.close(OWNER, "acc_g", "BTC-USDT.binance", Decimal(-1), "breach:x", 1)
    assert again == ref
    await gateway.close_all()
