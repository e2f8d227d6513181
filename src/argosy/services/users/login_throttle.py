"""Failed-login counters in the shared cache, per account and per client address.

The cache is Redis in a deployment, so every instance sees the same counts; the counter
is an atomic INCR, so concurrent failures are never lost. Keys hold a hash of the email,
never the email itself. The arithmetic is domain/throttle.py.
"""

from __future__ import annotations

import hashlib

from argosy.kernel.clock import Clock
from argosy.kernel.errors import RateLimited
from argosy.platform.cache.base import Cache
from argosy.services.users.domain.throttle import ThrottlePolicy, ThrottleState, stale, wait_for

__all__ = ["LoginThrottle"]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, cache: Cache, clock: Clock, *, account: ThrottlePolicy,
                 ip: ThrottlePolicy) -> None:
        self._cache, self._clock = cache, clock
        self._policies = {"acct": account, "ip": ip}

    def _keys(self, email: str, ip: str) -> list[tuple[str, str]]:
        return [("acct", f"login:acct:{_digest(email)}"), ("ip", f"login:ip:{_digest(ip)}")]

    async def _state(self, key: str) -> ThrottleState | None:
        count, last = await self._cache.get(key + ":n"), await self._cache.get(key + ":t")
        if count is None or last is None:
            return None
        return ThrottleState(int(count), int(last))

    async def check(self, email: str, ip: str) -> None:
        """Raise RateLimited (code `account_locked` or `login_delayed`) while throttled."""
        now = self._clock.now_ns()
        for kind, key in self._keys(email, ip):
            wait = wait_for(await self._state(key), now, self._policies[kind])
            if wait.seconds > 0:
                what = "this account" if kind == "acct" else "this address"
                if wait.locked:
                    raise RateLimited(
                        f"too many failed logins: {what} is locked for {wait.seconds:.0f} s",
                        retry_after=wait.seconds, code="account_locked",
                        details={"scope": kind, "retry_after_s": wait.seconds},
                    )
                raise RateLimited(
                    f"too many failed logins from {what}: wait {wait.seconds:.1f} s",
                    retry_after=wait.seconds, code="login_delayed",
                    details={"scope": kind, "retry_after_s": wait.seconds},
                )

    async def failed(self, email: str, ip: str) -> None:
        now = self._clock.now_ns()
        for kind, key in self._keys(email, ip):
            policy = self._policies[kind]
            state = await self._state(key)
            if state is not None and stale(state, now, policy):
                await self._cache.delete(key + ":n")
            ttl = max(policy.window_s, policy.lock_s) + 60
            await self._cache.set(key + ":t", str(now).encode(), ttl=ttl)
            await self._cache.incr(key + ":n", ttl=ttl)

    async def succeeded(self, email: str) -> None:
        """A good password clears the account's count (not the address's: it may be shared
        by an attacker who also knows one account)."""
        key = self._keys(email, "")[0][1]
        await self._cache.delete(key + ":n")
        await self._cache.delete(key + ":t")
