"""Every Binance failure lands in the group that says what to do next."""

from __future__ import annotations

import httpx
import pytest

from argosy.kernel.clock import SimClock
from argosy.kernel.errors import VenueReconcile, VenueRejected, VenueRetry
from argosy.venues.binance._signed import SignedClient
from argosy.venues.binance._signing import Credentials, ServerClock
from argosy.venues.binance.markets import BinanceMarket


def _client() -> SignedClient:
    clock = ServerClock(SimClock(1_700_000_000 * 10**9))
    return SignedClient(BinanceMarket.SPOT, Credentials("k", "s"), "http://127.0.0.1:9",
                        clock, http=httpx.AsyncClient())


def _answer(status: int, code: int | None = None, retry_after: str | None = None
            ) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    if code is None:
        return httpx.Response(status, text="<html>bad gateway</html>", headers=headers)
    return httpx.Response(status, json={"code": code, "msg": "m"}, headers=headers)


@pytest.mark.parametrize(("answer", "mutating", "group", "venue_code"), [
    (_answer(503), True, VenueReconcile, "503"),
    (_answer(502), False, VenueRetry, "502"),
    (_answer(500, -1006), True, VenueReconcile, "-1006"),
    (_answer(408, -1007), True, VenueReconcile, "-1007"),
    (_answer(429, -1003, "7"), True, VenueRetry, "-1003"),
    (_answer(418, -1003, "120"), False, VenueRetry, "-1003"),
    (_answer(429, -1015, "3"), True, VenueRetry, "-1015"),
    (_answer(403), True, VenueRetry, "403"),
    (_answer(409, -2021), True, VenueReconcile, "-2021"),
    (_answer(400, -2010), True, VenueRejected, "-2010"),
    (_answer(400, -1013), True, VenueRejected, "-1013"),
    (_answer(400, -1111), True, VenueRejected, "-1111"),
    (_answer(400, -2011), True, VenueRejected, "-2011"),
    (_answer(400, -1022), False, VenueRejected, "-1022"),
    (_answer(401, -2015), False, VenueRejected, "-2015"),
])
async def test_error_groups(answer: httpx.Response, mutating: bool, group: type,
                            venue_code: str) -> None:
    client = _client()
    error = client._error(answer, mutating)
    assert type(error) is group
    assert error.venue_code == venue_code
    assert error.details["status"] == answer.status_code
    await client.aclose()


async def test_rate_limits_carry_retry_after_and_block_the_right_budget() -> None:
    client = _client()
    now = client._budget_now()
    error = client._error(_answer(429, -1015, "3"), True)
    assert error.details["retry_after"] == 3.0
    assert not client.weight.banned(now)  # an order-rate limit blocks new orders only
    assert client.orders.wait_s(now) == 3.0
    error = client._error(_answer(418, -1003, "120"), False)
    assert error.details["retry_after"] == 120.0
    assert client.weight.banned(now)
    assert client.banned_for_s() == 120.0
    await client.aclose()
