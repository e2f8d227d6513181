"""The fake exchange's spot WebSocket API, for the user data stream only.

Binance ended spot listenKeys on 2026-02-20: a spot client now subscribes on the WebSocket
API (`/ws-api/v3`) with `userDataStream.subscribe.signature`, whose params `apiKey` and
`timestamp` (and optional `recvWindow`) are signed as a query string of the params sorted
by name. Answers are `{"id", "status", "result"}` or `{"id", "status", "error": {"code",
"msg"}}`; events then arrive as `{"subscriptionId", "event"}`. Checks and codes are the REST
ones (-2015 unknown key, -1022 bad signature, -1021 timestamp).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from argosy.venues.replay._rest import BinanceError
from argosy.venues.replay._user_stream import drain
from argosy.venues.replay._ws import REPLAY_KEY

__all__ = ["ws_api_handler"]


def _signature_payload(params: dict[str, Any]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")


async def ws_api_handler(request: web.Request) -> web.StreamResponse:
    server = request.app[REPLAY_KEY]
    desk = server.trading
    ws = web.WebSocketResponse(heartbeat=None, compress=False, timeout=1.0)
    await ws.prepare(request)
    outbox: asyncio.Queue[str | None] = asyncio.Queue()
    sender = asyncio.create_task(drain(ws, outbox))
    subscribed: dict[str, int] = {}
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                call = orjson.loads(msg.data)
                answer = _answer(desk, call, outbox, subscribed)
            except BinanceError as error:
                answer = {"id": call.get("id"), "status": error.status,
                          "error": {"code": error.code, "msg": error.msg}}
            except (orjson.JSONDecodeError, AttributeError):
                answer = {"id": None, "status": 400,
                          "error": {"code": -1000, "msg": "Malformed request."}}
            outbox.put_nowait(orjson.dumps(answer).decode())
    finally:
        for api_key in subscribed:
            desk.listen_keys.subscriptions.get(api_key, {}).pop(outbox, None)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    return ws


def _answer(desk: Any, call: dict[str, Any], outbox: asyncio.Queue[str | None],
            subscribed: dict[str, int]) -> dict[str, Any]:
    method, params = call.get("method"), call.get("params") or {}
    if method == "userDataStream.subscribe.signature":
        key = desk.keys.get(str(params.get("apiKey", "")))
        if key is None:
            desk.stats["-2015"] += 1
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        expected = hmac.new(key.secret.encode(), _signature_payload(params).encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(params.get("signature", "")).lower()):
            desk.stats["-1022"] += 1
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        desk._check_timestamp({k: str(v) for k, v in params.items()})
        sub_id = subscribed.setdefault(key.key, len(subscribed))
        desk.listen_keys.subscriptions.setdefault(key.key, {})[outbox] = sub_id
        desk.stats["ws-api subscribe"] += 1
        return {"id": call.get("id"), "status": 200, "result": {"subscriptionId": sub_id}}
    if method == "userDataStream.unsubscribe":
        for api_key in list(subscribed):
            desk.listen_keys.subscriptions.get(api_key, {}).pop(outbox, None)
            del subscribed[api_key]
        return {"id": call.get("id"), "status": 200, "result": {}}
    raise BinanceError(400, -1000, f"Unknown method {method!r} (replay serves the user data "
                                   "stream methods only).")
