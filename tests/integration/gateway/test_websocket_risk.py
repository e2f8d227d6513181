"""`/ws` channel `risk`: an account's exposure stream, the user's own accounts only."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.gateway.test_websocket import recv, serve, subscribe

__all__ = ["serve"]  # the fixture, shared with the main /ws tests


async def test_risk_channel_needs_permission_and_ownership(serve: Any) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    async with serve() as gw:
        gw.h.stack.users.accounts[user] = ["acc-1"]
        async with await gw.client(gw.token(sub=user)) as ws:
            assert (await subscribe(ws, "risk", account="acc-1"))["op"] == "subscribed"
            refused = await subscribe(ws, "risk", account="acc-2")
            assert (refused["op"], refused["code"]) == ("error", "forbidden")
            await gw.bus.publish_json("risk.exposure.acc-2", {"gross": "theirs"})
            await gw.bus.publish_json("risk.exposure.acc-1", {"account_id": "acc-1", "gross": "5"})
            assert await recv(ws) == {"op": "data", "channel": "risk", "account": "acc-1",
                                      "data": {"account_id": "acc-1", "gross": "5"}}  # fmt: skip
        async with await gw.client(gw.token(sub=user, perms=["orders:read"])) as ws:
            denied = await subscribe(ws, "risk", account="acc-1")
            assert (denied["op"], denied["code"]) == ("error", "forbidden")
