"""Issue #4, private WebSocket streams through the running gateway: a user subscribes to
their own account's orders, is refused another tenant's with a reason, receives what the
platform publishes on `trading.order.<account>` (published here on the platform's own
NATS, as the trading service will), and is disconnected when the session is revoked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from argosy.contracts import topics
from argosy.contracts.v1.events import OrderEvent
from tests.integration.gateway._live import Live, User, live_platform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def _ws_url(live: Live) -> str:
    return live.gateway.replace("http://", "ws://") + "/ws"


@pytest.fixture
def sockets() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def _open(live: Live, user: User, sockets: ExitStack, *,
          first_message: bool) -> ClientConnection:
    """Authenticated either way the gateway allows: `?token=` or a first `auth` message."""
    if first_message:
        ws = sockets.enter_context(connect(_ws_url(live), open_timeout=10))
        ws.send(json.dumps({"op": "auth", "token": user.access, "id": "a1"}))
    else:
        ws = sockets.enter_context(connect(f"{_ws_url(live)}?token={user.access}",
                                           open_timeout=10))
    hello = _next(ws)
    assert (hello["op"], hello["user"]) == ("authenticated", user.user_id), hello
    return ws


def _next(ws: ClientConnection, timeout_s: float = 5.0, skip_pings: bool = True) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if not (skip_pings and frame["op"] == "ping"):
            return frame


def _quiet(ws: ClientConnection, seconds: float) -> list[Any]:
    """Frames (other than pings) that arrive within `seconds`."""
    got: list[Any] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if frame["op"] != "ping":
            got.append(frame)
    return got


def _order(user: User, account: str, order_id: str) -> dict[str, Any]:
    return OrderEvent(org=user.org, user_id=user.user_id, at_ms=time.time_ns() // 1_000_000,
                      account_id=account, order_id=order_id, instrument="BTCUSDT.binance",
                      side="buy", type="limit", status="accepted", quantity="0.01",
                      price="50000").model_dump(mode="json")


def test_private_order_streams_are_the_owners_only(
    live: Live, sockets: ExitStack,
) -> None:
    alice, bob = live.register("127.0.0.71"), live.register("127.0.0.72")
    assert alice.account_id
    assert bob.account_id
    a = _open(live, alice, sockets, first_message=True)
    b = _open(live, bob, sockets, first_message=False)

    a.send(json.dumps({"op": "subscribe", "channel": "orders", "account": alice.account_id,
                       "id": 1}))
    assert _next(a) == {"op": "subscribed", "id": "1", "channel": "orders",
                        "account": alice.account_id}
    a.send(json.dumps({"op": "subscribe", "channel": "orders", "account": bob.account_id,
                       "id": 2}))
    refused = _next(a)
    assert refused == {"op": "error", "id": "2", "code": "forbidden", "field": "account",
                       "message": f"account {bob.account_id} is not yours"}
    b.send(json.dumps({"op": "subscribe", "channel": "orders", "account": bob.account_id}))
    assert _next(b)["op"] == "subscribed"

    mine = _order(alice, alice.account_id, "ord-alice-1")
    live.tap.publish_json(topics.trading("order", alice.account_id), mine)
    frame = _next(a)
    assert frame == {"op": "data", "channel": "orders", "account": alice.account_id,
                     "data": mine}
    theirs = _order(bob, bob.account_id, "ord-bob-1")
    live.tap.publish_json(topics.trading("order", bob.account_id), theirs)
    assert _next(b)["data"] == theirs
    assert _quiet(a, 0.5) == []  # nothing of Bob's reaches Alice's socket
    assert _quiet(b, 0.1) == []  # and Bob never saw Alice's order


def test_a_revoked_session_closes_its_sockets(
    live: Live, sockets: ExitStack,
) -> None:
    user = live.register("127.0.0.73")
    ws = _open(live, user, sockets, first_message=True)
    started = time.monotonic()
    assert live.call("POST", "/api/v1/auth/logout",
                     json={"refresh_token": user.refresh}).status_code == 204
    with pytest.raises(ConnectionClosed) as closed:
        _quiet(ws, 5.0)
    assert time.monotonic() - started < 5
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (  # type: ignore[union-attr]
        4401, "session revoked")


def test_a_socket_without_a_valid_token_is_closed_with_the_reason(
    live: Live, sockets: ExitStack,
) -> None:
    ws = sockets.enter_context(connect(f"{_ws_url(live)}?token=not.a.jwt", open_timeout=10))
    error = _next(ws)
    assert (error["op"], error["code"]) == ("error", "unauthorized")
    with pytest.raises(ConnectionClosed) as closed:
        _next(ws)
    assert closed.value.rcvd.code == 4401  # type: ignore[union-attr]
