"""The gateway's API-key grant cache: a revocation event is final, even when it arrives
while the grant is being fetched (the users service answered just before revoking)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from argosy.kernel.errors import Unauthorized
from argosy.platform.clients.base import ServiceClient
from argosy.services.gateway.apikeys import ApiKeys

GRANT = {"key_id": "ak_1234", "secret": "s" * 32, "user_id": "u1", "org": "o1",
         "permissions": ["orders:read"]}


class SlowUsers:
    """Answers the grant once released, as a users service under load would."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def get_json(self, path: str, **_: Any) -> Any:
        self.asked.set()
        await self.release.wait()
        return GRANT


async def test_a_grant_fetched_across_its_revocation_is_not_kept() -> None:
    users = SlowUsers()
    keys = ApiKeys(cast(ServiceClient, users), None, grant_ttl_s=30)
    pending = asyncio.create_task(keys.grant("ak_1234"))
    await users.asked.wait()
    keys.revoke("ak_1234")  # users.api_key.revoked arrives mid-fetch
    users.release.set()
    with pytest.raises(Unauthorized, match="unknown API key"):
        await pending
    with pytest.raises(Unauthorized):  # and not later from the cache either
        await keys.grant("ak_1234")


async def test_a_grant_is_kept_until_revoked() -> None:
    users = SlowUsers()
    users.release.set()
    keys = ApiKeys(cast(ServiceClient, users), None, grant_ttl_s=30)
    assert (await keys.grant("ak_1234")).user_id == "u1"
    assert (await keys.grant("ak_1234")).user_id == "u1"
    assert keys.fetches == 1
    keys.revoke("ak_1234")
    with pytest.raises(Unauthorized):
        await keys.grant("ak_1234")
