"""The upstream the gateway benchmark proxies to, and its direct baseline.

A bare FastAPI app on uvicorn (same loop and HTTP parser as the platform's services):
`GET /api/v1/orders` answers a small JSON list, `/.well-known/jwks.json` publishes the
benchmark's signing key (as the users service will), and `/ws` is a bare WebSocket server
pushing one message a second per connection: the baseline for the gateway's `/ws`.

    .venv/bin/python -m bench.gateway_upstream <port>    (JWKS from $BENCH_JWKS)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI(title="bench upstream")
_JWKS: dict[str, Any] = json.loads(os.environ.get("BENCH_JWKS", '{"keys": []}'))
_ORDERS = {"items": [{"id": f"o-{i}", "side": "buy", "qty": "0.1", "price": "100.5"}
                     for i in range(3)]}


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.get("/.well-known/jwks.json")
async def jwks() -> dict[str, Any]:
    return _JWKS


@app.get("/api/v1/orders")
async def orders() -> dict[str, Any]:
    return _ORDERS


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    """One message a second, each stamped with its send time (ns)."""
    await websocket.accept()
    sender = asyncio.create_task(_tick(websocket))
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()


async def _tick(websocket: WebSocket) -> None:
    while True:
        await asyncio.sleep(1.0)
        frame = {"op": "data", "data": {"ts": time.time_ns()}}
        await websocket.send_text(json.dumps(frame, separators=(",", ":")))


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False, loop="uvloop", http="httptools", ws_per_message_deflate=False,
                backlog=4096)
