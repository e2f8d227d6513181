"""Argon2id password hashes, computed off the event loop.

A hash at OWASP parameters costs tens of milliseconds of CPU; run inline it would stall
every other request of the process, so it runs in a worker thread. Unknown emails are
answered after a hash of the same cost, so response time does not reveal who has an account.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Passwords"]


class Passwords:
    def __init__(self, *, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
            hash_len=32, salt_len=16, type=Type.ID,
        )
        self._dummy = self._hasher.hash("argosy: no such user, same cost")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches; with no stored hash a dummy is checked (timing)."""
        return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when `stored` was made with other (e.g. weaker, older) parameters."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    @property
    def parameters(self) -> dict[str, int]:
        p = self._hasher
        return {"memory_kib": p.memory_cost, "time_cost": p.time_cost,
                "parallelism": p.parallelism}
