"""Which trading accounts a user owns, for private WebSocket channels.

Asked of the users service through its public route `GET /api/v1/accounts`, with an
identity token minted for the user (exactly what the user would see), and kept for a
short while per user: a subscription burst at connect time costs one call, not one per
channel. Accepted answers: a list of accounts, or `{"items": [...]}`; each account an
object with `id` (or `account_id`) and optionally `sub_accounts` of the same shape.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from argosy.contracts import headers as h
from argosy.kernel.errors import Unavailable
from argosy.platform.auth.internal import Principal
from argosy.services.gateway.authn import IdentityMinter
from argosy.services.gateway.upstreams import Upstreams

__all__ = ["AccountDirectory", "account_ids"]

_MAX_USERS = 10_000
_RECHECK_MISS_S = 2.0


def account_ids(body: Any) -> set[str]:
    items: Iterable[Any] = ()
    if isinstance(body, list):
        items = body
    elif isinstance(body, dict):
        items = body.get("items") or body.get("accounts") or ()
    out: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        ident = item.get("id", item.get("account_id"))
        if isinstance(ident, str | int):
            out.add(str(ident))
        out |= account_ids(item.get("sub_accounts") or [])
    return out


class AccountDirectory:
    def __init__(
        self, upstreams: Upstreams, minter: IdentityMinter, *, ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._upstreams, self._minter, self._ttl, self._clock = upstreams, minter, ttl_s, clock
        self._known: OrderedDict[str, tuple[set[str], float]] = OrderedDict()
        self.fetches = 0

    async def owns(self, principal: Principal, account: str) -> bool:
        now = self._clock()
        hit = self._known.get(principal.subject)
        # an account created a moment ago is not in an older list: ask again, rarely
        if hit is not None and hit[1] > now and (
            account in hit[0] or hit[1] - self._ttl > now - _RECHECK_MISS_S
        ):
            return account in hit[0]
        return account in await self._fetch(principal)

    async def _fetch(self, principal: Principal) -> set[str]:
        self.fetches += 1
        status, body = await self._upstreams.get_json(
            "users", "/api/v1/accounts", {h.IDENTITY: self._minter.token(principal)}
        )
        if status != 200:
            raise Unavailable(f"users answered {status} for the account list",
                              dependency="users", details={"service": "users"})
        accounts = account_ids(body)
        if self._ttl > 0:
            self._known[principal.subject] = (accounts, self._clock() + self._ttl)
            if len(self._known) > _MAX_USERS:
                self._known.popitem(last=False)
        return accounts
