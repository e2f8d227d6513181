"""`risk.exposure.<account>`: fills make exposure events through the outbox, throttled per
account (the last value wins) and silent while the numbers stay the same."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from argosy.contracts.topics import market, risk_exposure, trading
from argosy.contracts.v1.events import RiskExposure
from tests.integration.risk.conftest import RiskHarness
from tests.integration.risk.test_realtime import BTC, ETH, ORG, USER, fill, quote

ACC = "acc_stream"


@pytest.fixture
def risk_overrides() -> dict[str, Any]:
    return {"exposure_publish_s": 0.4}


def _events(h: RiskHarness) -> list[dict[str, Any]]:
    return h.topics(risk_exposure(ACC))


async def test_fills_stream_throttled_exposure(risk_any_db: RiskHarness) -> None:
    h = risk_any_db
    balance = {"org": ORG, "user_id": USER, "at_ms": 1, "account_id": ACC, "asset": "USDT",
               "total": "10000", "available": "10000"}  # fmt: skip
    await h.publish(trading("balance", ACC), balance)
    for n in range(5):  # a burst: one event per interval, not one per fill
        await h.publish(trading("fill", ACC), fill(ACC, BTC, "buy", "0.1", "100", 10 + n))
    await h.until(lambda: h.state.realtime.events >= 6)
    await h.until(lambda: any(e["gross"] == "50" for e in _events(h)))
    assert len(_events(h)) <= 2  # the burst straddles at most one interval boundary
    last = RiskExposure.model_validate(_events(h)[-1])
    assert (last.org, last.user_id, last.account_id) == (ORG, USER, ACC)
    assert (last.gross, last.net, last.realized, last.unrealized) == ("50", "50", "0", "0")
    assert last.drawdown == "0"
    assert last.leverage == "0.005"  # 50 / 10000
    assert last.var is None
    assert last.es is None
    seen = len(_events(h))
    # nothing changed, or only an instrument the account does not hold: no event
    await h.publish(market("ticker", ETH), quote(ETH, "9", "11"))
    await h.until(lambda: h.state.realtime.book.mark(ETH) is not None)
    await asyncio.sleep(1.0)
    assert len(_events(h)) == seen
    # a mark on the held instrument moves the unrealized PnL: one more event
    await h.publish(market("ticker", BTC), quote(BTC, "119", "121"))
    await h.until(lambda: len(_events(h)) == seen + 1)
    moved = _events(h)[-1]
    assert (moved["gross"], moved["unrealized"]) == ("60", "10")
    assert h.state.stream.published == seen + 1
