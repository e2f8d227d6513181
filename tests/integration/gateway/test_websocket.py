"""`/ws` on a real uvicorn server: auth, channels, fan-out, slow consumers, heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from argosy.contracts.topics import USERS_EVENTS
from argosy.platform.bus.base import Bus
from argosy.services.gateway.serving import uvicorn_options
from tests.integration.gateway.conftest import GatewayFactory, Harness
from tests.support.servers import free_port

TRADE = "market.trade.BTC-USDT.binance"
TRADE_TOPIC = "md.trade.binance.BTC-USDT"


class Served:
    def __init__(self, harness: Harness, port: int) -> None:
        self.h, self.port = harness, port

    @property
    def bus(self) -> Bus:
        return self.h.parts.runtime.bus

    def url(self, token: str | None = None) -> str:
        base = f"ws://127.0.0.1:{self.port}/ws"
        return base if token is None else f"{base}?token={token}"

    def token(self, **claims: Any) -> str:
        return self.h.stack.key.token(**claims)

    async def client(self, token: str | None = None, **kw: Any) -> ClientConnection:
        ws = await connect(self.url(token if token is not None else self.token()), **kw)
        assert (await recv(ws))["op"] == "authenticated"
        return ws


async def recv(ws: ClientConnection, within_s: float = 5.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), within_s))
    return msg


async def close_frame(ws: ClientConnection, within_s: float = 10.0) -> Close:
    """Read (and discard) until the server closes; its close frame."""
    async with asyncio.timeout(within_s):
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.recv()
    assert ws.close_code is not None, "the server did not send a close frame"
    return Close(ws.close_code, ws.close_reason or "")


async def subscribe(ws: ClientConnection, channel: str, **extra: str) -> dict[str, Any]:
    await ws.send(json.dumps({"op": "subscribe", "channel": channel, "id": "s1", **extra}))
    return await recv(ws)


@pytest.fixture
def serve(make_gateway: GatewayFactory) -> Callable[..., contextlib.AbstractAsyncContextManager[
        Served]]:
    @contextlib.asynccontextmanager
    async def run(**settings: Any) -> AsyncIterator[Served]:
        async with make_gateway(**settings) as harness:
            port = free_port()
            # the harness already ran the lifespan; uvicorn only serves requests here
            config = uvicorn.Config(harness.app, host="127.0.0.1", port=port, log_config=None,
                                    access_log=False, lifespan="off",
                                    **uvicorn_options(harness.app))
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.01)
            try:
                yield Served(harness, port)
            finally:
                server.should_exit = True
                await asyncio.wait_for(task, 15)

    return run


async def test_market_stream_with_token_in_query(serve: Any) -> None:
    async with serve() as gw, await gw.client() as ws:
        reply = await subscribe(ws, TRADE)
        assert reply == {"op": "subscribed", "channel": TRADE, "account": None, "id": "s1"}
        await gw.bus.publish_json(TRADE_TOPIC, {"price": "100.5", "qty": "0.1"})
        frame = await recv(ws)
        assert frame == {"op": "data", "channel": TRADE,
                         "data": {"price": "100.5", "qty": "0.1"}}
        await ws.send(json.dumps({"op": "unsubscribe", "channel": TRADE}))
        assert (await recv(ws))["op"] == "unsubscribed"
        await gw.bus.publish_json(TRADE_TOPIC, {"price": "1"})
        await ws.send(json.dumps({"op": "ping", "id": 9}))
        assert await recv(ws) == {"op": "pong", "id": "9"}  # and no trade in between


async def test_auth_by_first_message_and_refusals(serve: Any) -> None:
    async with serve(ws_auth_timeout_s=0.3) as gw:
        async with connect(gw.url()) as ws:
            await ws.send(json.dumps({"op": "auth", "token": gw.token(), "id": "a"}))
            assert (await recv(ws))["op"] == "authenticated"
            assert (await subscribe(ws, TRADE))["op"] == "subscribed"
        for url, first in ((gw.url(), None), (gw.url("bogus"), None),
                           (gw.url(), {"op": "subscribe", "channel": TRADE})):
            async with connect(url) as ws:
                if first:
                    await ws.send(json.dumps(first))
                assert (await close_frame(ws)).code == 4401


async def test_private_channels_need_permission_and_ownership(serve: Any) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    async with serve() as gw:
        gw.h.stack.users.accounts[user] = ["acc-1"]
        async with await gw.client(gw.token(sub=user)) as ws:
            assert (await subscribe(ws, "orders", account="acc-1"))["op"] == "subscribed"
            refused = await subscribe(ws, "fills", account="acc-2")
            assert (refused["op"], refused["code"]) == ("error", "forbidden")
            assert (await subscribe(ws, "notifications"))["op"] == "subscribed"
            await gw.bus.publish_json("trading.order.acc-2", {"id": "theirs"})
            await gw.bus.publish_json("trading.order.acc-1", {"id": "o-1"})
            assert await recv(ws) == {"op": "data", "channel": "orders", "account": "acc-1",
                                      "data": {"id": "o-1"}}
            await gw.bus.publish_json(f"notification.inapp.{user}", {"text": "hi"})
            assert (await recv(ws))["data"] == {"text": "hi"}
            bad = await subscribe(ws, "market.trade.*.binance")
            assert (bad["op"], bad["field"]) == ("error", "channel")
        assert gw.h.stack.users.calls["accounts"] >= 1
        async with await gw.client(gw.token(sub=user, perms=["orders:read"])) as ws:
            denied = await subscribe(ws, TRADE)
            assert (denied["op"], denied["code"]) == ("error", "forbidden")


async def test_slow_consumer_is_dropped_while_a_fast_one_keeps_up(serve: Any) -> None:
    async with serve(ws_queue_size=32) as gw:
        fast = await gw.client()
        # reads nothing, through a small receive buffer (no autotuning): its socket fills up
        tiny = socket.create_connection(("127.0.0.1", gw.port))
        tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65_536)
        slow = await gw.client(max_queue=1, sock=tiny)
        for ws in (fast, slow):
            assert (await subscribe(ws, TRADE))["op"] == "subscribed"
        payload = secrets.token_urlsafe(48_000)  # 64 KB that compression cannot shrink
        received = 0

        async def read_fast() -> None:
            nonlocal received
            while received < 400:
                frame = await recv(fast)
                assert frame["data"]["n"] == received
                received += 1

        reader = asyncio.create_task(read_fast())
        for n in range(400):
            await gw.bus.publish_json(TRADE_TOPIC, {"n": n, "pad": payload})
            await asyncio.sleep(0.003)
        await asyncio.wait_for(reader, 20)
        assert received == 400
        metrics = (await gw.h.client.get("/metrics")).text
        assert 'argosy_gateway_ws_dropped_total{reason="slow_consumer"} 1.0' in metrics
        closed = await close_frame(slow)
        assert (closed.code, closed.reason.startswith("slow consumer")) == (4409, True)
        await fast.send(json.dumps({"op": "ping"}))
        assert (await recv(fast))["op"] == "pong"  # the fast one is still connected
        await fast.close()


async def test_one_bus_subscription_for_a_hundred_clients(serve: Any) -> None:
    async with serve() as gw:
        calls: list[str] = []
        real = gw.bus.subscribe

        async def counting(pattern: str, *args: Any, **kw: Any) -> Any:
            calls.append(pattern)
            return await real(pattern, *args, **kw)

        gw.bus.subscribe = counting  # type: ignore[method-assign]
        token = gw.token()
        clients = await asyncio.gather(*(gw.client(token) for _ in range(100)))
        replies = await asyncio.gather(*(subscribe(ws, TRADE) for ws in clients))
        assert all(r["op"] == "subscribed" for r in replies)
        assert calls.count(TRADE_TOPIC) == 1
        assert gw.h.parts.hub.channels() == {TRADE_TOPIC: 100}
        await gw.bus.publish_json(TRADE_TOPIC, {"px": 1})
        frames = await asyncio.gather(*(recv(ws) for ws in clients))
        assert all(f["data"] == {"px": 1} for f in frames)
        await asyncio.gather(*(ws.close() for ws in clients))
        for _ in range(200):
            if not gw.h.parts.hub.channels():
                break
            await asyncio.sleep(0.01)
        assert gw.h.parts.hub.channels() == {}  # the last one out released it


async def test_heartbeat_drops_a_silent_client(serve: Any) -> None:
    async with serve(ws_ping_interval_s=0.2, ws_ping_timeout_s=0.3) as gw:
        silent = await gw.client()
        polite = await gw.client()

        async def answer() -> int:
            pings = 0
            while pings < 4:
                msg = await recv(polite)
                if msg["op"] == "ping":
                    pings += 1
                    await polite.send(json.dumps({"op": "pong"}))
            return pings

        assert await asyncio.wait_for(answer(), 5) == 4
        assert (await recv(silent))["op"] == "ping"
        assert (await close_frame(silent, 3)).code == 4408
        await polite.close()


async def test_revoked_session_and_expired_token_close_the_connection(serve: Any) -> None:
    async with serve() as gw:
        await gw.h.parts.events.subscribed.wait()
        revoked = await gw.client(gw.token(sid="s-ws-revoke"))
        expiring = await gw.client(gw.token(sid="s-ws-exp", exp=int(time.time()) + 1))
        await gw.bus.publish_json(USERS_EVENTS["session_revoked"], {"sid": "s-ws-revoke"})
        for ws, reason in ((revoked, "session revoked"), (expiring, "token expired")):
            closed = await close_frame(ws, 4)
            assert (closed.code, closed.reason.startswith(reason)) == (4401, True)
