"""User-data streams on the fake exchange: listenKeys and the sockets that carry events.

As on Binance: POST (spot `/api/v3/userDataStream`, USD-M `/fapi/v1/listenKey`) returns the
account's key, the same one while it is valid; PUT extends it by `ttl_s` (60 minutes);
DELETE closes it and its sockets; an unknown key answers -1125. `<ws>/ws/<listenKey>`
streams the account's events; a socket on an unknown key is refused at the handshake. A
key not kept alive expires: its sockets get `listenKeyExpired` and are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay._rest import BinanceError
from argosy.venues.replay._ws import REPLAY_KEY

__all__ = ["KEY_PATTERN", "ListenKeys", "drain", "user_ws_handler"]

_ALPHABET = string.ascii_letters + string.digits
KEY_PATTERN = "[A-Za-z0-9]{60}"


@dataclass(slots=True)
class _Key:
    api_key: str
    market: BinanceMarket
    expires_at: float
    # one outbox per socket, drained by its handler in order; None closes the socket
    sockets: dict[web.WebSocketResponse, asyncio.Queue[str | None]] = field(
        default_factory=dict)


class ListenKeys:
    def __init__(self, ttl_s: float = 3600.0) -> None:
        self.ttl_s = ttl_s
        self.keys: dict[str, _Key] = {}
        # spot WebSocket API subscriptions: API key -> {socket outbox: subscriptionId}
        self.subscriptions: dict[str, dict[asyncio.Queue[str | None], int]] = {}
        self.sent = 0

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, v in self.keys.items() if v.expires_at <= now]:
            self.expire(key)

    def expire(self, key: str) -> None:
        entry = self.keys.pop(key, None)
        if entry is None:
            return
        event = orjson.dumps({"e": "listenKeyExpired", "E": int(time.time() * 1000),
                              "listenKey": key}).decode()
        for outbox in entry.sockets.values():
            outbox.put_nowait(event)
            outbox.put_nowait(None)

    def create(self, api_key: str, market: BinanceMarket) -> str:
        self._expire()
        for key, entry in self.keys.items():
            if entry.api_key == api_key and entry.market is market:
                entry.expires_at = time.monotonic() + self.ttl_s
                return key
        key = "".join(secrets.choice(_ALPHABET) for _ in range(60))
        self.keys[key] = _Key(api_key, market, time.monotonic() + self.ttl_s)
        return key

    def _find(self, api_key: str, market: BinanceMarket, key: str | None) -> str:
        self._expire()
        if key is None:  # USD-M: the API key names the stream
            key = next((k for k, v in self.keys.items()
                        if v.api_key == api_key and v.market is market), None)
        entry = self.keys.get(key or "")
        if entry is None or entry.api_key != api_key or entry.market is not market:
            raise BinanceError(400, -1125, "This listenKey does not exist.")
        assert key is not None
        return key

    def keep_alive(self, api_key: str, market: BinanceMarket, key: str | None) -> str:
        found = self._find(api_key, market, key)
        self.keys[found].expires_at = time.monotonic() + self.ttl_s
        return found

    def close(self, api_key: str, market: BinanceMarket, key: str | None) -> None:
        found = self._find(api_key, market, key)
        entry = self.keys.pop(found)
        for outbox in entry.sockets.values():
            outbox.put_nowait(None)

    def publish(self, api_keys: set[str], market: BinanceMarket, event: dict[str, Any]) -> None:
        self._expire()
        text = orjson.dumps(event).decode()
        for entry in self.keys.values():
            if entry.api_key in api_keys and entry.market is market:
                for ws, outbox in entry.sockets.items():
                    if not ws.closed:
                        self.sent += 1
                        outbox.put_nowait(text)
        if market is not BinanceMarket.SPOT:
            return
        for api_key in api_keys:
            for outbox, sub_id in self.subscriptions.get(api_key, {}).items():
                self.sent += 1
                outbox.put_nowait(f'{{"subscriptionId":{sub_id},"event":{text}}}')


async def drain(ws: web.WebSocketResponse, outbox: asyncio.Queue[str | None]) -> None:
    while (text := await outbox.get()) is not None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(text)
    await ws.close()


async def user_ws_handler(request: web.Request) -> web.StreamResponse:
    server = request.app[REPLAY_KEY]
    keys: ListenKeys = server.trading.listen_keys
    entry = keys.keys.get(request.match_info["key"])
    if entry is None:
        return web.json_response({"code": -1125, "msg": "This listenKey does not exist."},
                                 status=400)
    ws = web.WebSocketResponse(heartbeat=None, compress=False, timeout=1.0)
    await ws.prepare(request)
    outbox: asyncio.Queue[str | None] = asyncio.Queue()
    entry.sockets[ws] = outbox
    sender = asyncio.create_task(drain(ws, outbox))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.CLOSE:
                break
    finally:
        entry.sockets.pop(ws, None)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    return ws
