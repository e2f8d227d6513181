"""The replay server's WebSocket side: Binance's combined and raw stream endpoints.

Speaks what a Binance client relies on: `/stream?streams=a/b` (frames wrapped as
`{"stream", "data"}`) and `/ws/<stream>` (raw payloads); SUBSCRIBE, UNSUBSCRIBE,
LIST_SUBSCRIPTIONS, SET_PROPERTY and GET_PROPERTY with ids and `{"result", "id"}` answers;
Binance's limits enforced the way Binance enforces them: more incoming frames per second
than allowed (PING, PONG and JSON all count) or more streams than allowed closes the
connection; the server pings at the market's interval and drops a client whose pong does
not come back in time. A depth subscription at any speed receives the recorded diffs of
that symbol (the recordings hold one speed per symbol), labelled with the subscribed name.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, web

from argosy.kernel.errors import Invalid
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.streams import StreamKind, parse_stream

if TYPE_CHECKING:
    from argosy.venues.replay.server import ReplayServer

__all__ = ["REPLAY_KEY", "ReplayConnection", "RouteKey", "route_key", "ws_handler"]

RouteKey = tuple[Any, ...]
REPLAY_KEY: web.AppKey[ReplayServer] = web.AppKey("argosy_replay")
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


def route_key(market: BinanceMarket, stream: str) -> RouteKey:
    name = parse_stream(stream)
    if name.kind is StreamKind.DEPTH:
        return (market, name.symbol, "depth")
    return (market, stream)


class ReplayConnection:
    def __init__(
        self, server: ReplayServer, market: BinanceMarket, ws: web.WebSocketResponse,
        combined: bool, conn_id: int,
    ) -> None:
        self.server = server
        self.market = market
        self.ws = ws
        self.combined = combined
        self.id = conn_id
        self.routes: dict[RouteKey, str] = {}
        self.queue: asyncio.Queue[str] = asyncio.Queue(server.settings.queue_size)
        self.stalled = False
        self.incoming: deque[float] = deque()
        self.control_times: list[float] = []
        self.last_pong = time.monotonic()
        self.closed_reason = ""

    # --- outgoing -----------------------------------------------------------------------

    def frame_text(self, key: RouteKey, payload: str) -> str:
        if not self.combined:
            return payload
        return f'{{"stream":"{self.routes[key]}","data":{payload}}}'

    async def push(self, text: str) -> None:
        if self.stalled or self.ws.closed:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            await self.queue.put(text)  # backpressure: the replay waits for this reader

    async def send_loop(self) -> None:
        while True:
            text = await self.queue.get()
            if self.stalled:
                continue
            await self.ws.send_str(text)
            self.server.stats["frames_sent"] += 1

    async def ping_loop(self, interval: float, pong_within: float) -> None:
        while not self.ws.closed:
            await asyncio.sleep(interval)
            if self.stalled:
                continue
            if time.monotonic() - self.last_pong > pong_within:
                self.closed_reason = "pong timeout"
                await self.ws.close(code=1008, message=b"pong timeout")
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.ping(str(time.time_ns()).encode())

    # --- incoming -----------------------------------------------------------------------

    def count_incoming(self) -> bool:
        """Record one incoming frame; False when it breaks the per-second limit."""
        now = time.monotonic()
        self.incoming.append(now)
        while self.incoming and now - self.incoming[0] >= 1.0:
            self.incoming.popleft()
        return len(self.incoming) <= self.server.incoming_limit(self.market)

    async def answer(self, body: dict[str, Any]) -> None:
        await self.push(orjson.dumps(body).decode())

    async def control(self, text: str) -> None:
        self.control_times.append(time.monotonic())
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            await self.answer({"code": 3, "msg": f"Invalid JSON: {error}"})
            return
        if not isinstance(request, dict):
            await self.answer({"code": 2, "msg": "Invalid request: expected an object"})
            return
        request_id = request.get("id")
        valid_id = request_id is None or (
            isinstance(request_id, int) and not isinstance(request_id, bool) and request_id >= 0
        ) or (isinstance(request_id, str) and len(request_id) <= 36)
        if not valid_id:
            await self.answer(
                {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}
            )
            return
        method = request.get("method")
        if method not in _METHODS:
            await self.answer({"code": 2, "id": request_id, "msg":
                               f"Invalid request: unknown variant `{method}`, expected one of "
                               + ", ".join(f"`{m}`" for m in _METHODS)})
            return
        params = request.get("params", [])
        if not isinstance(params, list):
            await self.answer({"code": 2, "id": request_id,
                               "msg": "Invalid request: params must be a list"})
            return
        await self._method(str(method), params, request_id)

    async def _method(self, method: str, params: list[Any], request_id: Any) -> None:
        if method == "LIST_SUBSCRIPTIONS":
            await self.answer({"result": sorted(self.routes.values()), "id": request_id})
            return
        if method == "GET_PROPERTY":
            await self.answer({"result": self.combined, "id": request_id})
            return
        if method == "SET_PROPERTY":
            if len(params) != 2 or params[0] != "combined" or not isinstance(params[1], bool):
                await self.answer({"code": 0, "msg": "Unknown property", "id": request_id})
                return
            self.combined = params[1]
            await self.answer({"result": None, "id": request_id})
            return
        try:
            keys = [(route_key(self.market, str(s)), str(s)) for s in params]
        except Invalid:
            await self.answer({"code": 2, "msg": "Invalid request: invalid stream name",
                               "id": request_id})
            return
        if method == "SUBSCRIBE":
            added = {k: s for k, s in keys if k not in self.routes}
            if len(self.routes) + len(added) > self.server.stream_limit(self.market):
                await self.close("too many streams")
                return
            self.server.route(self, added)
        else:
            self.server.unroute(self, [k for k, _ in keys])
        await self.answer({"result": None, "id": request_id})

    async def close(self, reason: str) -> None:
        self.closed_reason = reason
        await self.ws.close(code=1008, message=reason.encode())


def _initial_streams(request: web.Request, combined: bool) -> list[str]:
    raw = request.query.get("streams", "") if combined else request.match_info.get("streams", "")
    return [s for s in raw.split("/") if s]


async def ws_handler(request: web.Request) -> web.StreamResponse:
    server: ReplayServer = request.app[REPLAY_KEY]
    market = BinanceMarket.USDM if request.path.startswith("/fstream") else BinanceMarket.SPOT
    combined = "/stream" in request.path
    names = _initial_streams(request, combined)
    keys: dict[RouteKey, str] = {}
    for name in names:
        try:
            keys[route_key(market, name)] = name
        except Invalid as error:
            if combined:
                return web.json_response({"code": -1100, "msg": error.message}, status=400)
            # /ws/<path> with a non-stream path (ccxt uses /ws/0, /ws/1...) simply carries
            # nothing until SUBSCRIBE, as on Binance.
    if len(keys) > server.stream_limit(market):
        return web.json_response(
            {"code": -1100, "msg": f"more than {server.stream_limit(market)} streams"},
            status=400,
        )
    ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20, compress=False,
                               timeout=1.0)  # close handshake: a stuck client costs 1 s
    await ws.prepare(request)
    conn = server.connect(market, ws, combined)
    server.route(conn, keys)
    sender = asyncio.create_task(conn.send_loop())
    interval, pong_within = server.ping_settings(market)
    pinger = asyncio.create_task(conn.ping_loop(interval, pong_within))
    try:
        async for msg in ws:
            if conn.stalled:
                continue
            if not conn.count_incoming():
                server.stats["rate_limit_disconnects"] += 1
                await conn.close("Too many requests")
                break
            if msg.type == WSMsgType.TEXT:
                await conn.control(msg.data)
            elif msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.PONG:
                conn.last_pong = time.monotonic()
    finally:
        server.disconnect(conn)
        for task in (sender, pinger):
            task.cancel()
        await asyncio.gather(sender, pinger, return_exceptions=True)
    return ws
