"""Binance SIGNED requests: HMAC-SHA256 over the exact query string, and server time.

The signature covers the bytes that are sent, so the query is built once, in order, and
that same string is both signed and sent (re-encoding after signing would invalidate it).

Binance accepts a request only when `timestamp < serverTime + 1000` and
`serverTime - timestamp <= recvWindow`. A host clock that is off by seconds would fail
every call with -1021, so timestamps are never the raw local clock: `ServerClock` keeps the
offset to the server's clock, measured from `GET /time` at the midpoint of the round trip,
and is refreshed periodically and whenever the server answers -1021.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from argosy.kernel.clock import NS_PER_MS, NS_PER_SECOND, Clock

__all__ = ["Credentials", "ServerClock", "sign", "signed_query"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """An API key pair; held in memory only and never printed (repr hides the secret)."""

    api_key: str
    api_secret: str = field(repr=False)


def sign(secret: str, payload: str) -> str:
    """Lower-case hex HMAC-SHA256 of `payload` keyed by `secret`, as Binance expects."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_query(params: Iterable[tuple[str, str]], secret: str) -> str:
    """`params` url-encoded in the given order with `&signature=` appended."""
    query = urlencode(list(params))
    return f"{query}&signature={sign(secret, query)}"


class ServerClock:
    """The local clock corrected by the measured offset to the exchange's clock."""

    __slots__ = ("_clock", "max_age_ns", "offset_ms", "rtt_ms", "synced_at_ns")

    def __init__(self, clock: Clock, max_age_s: float = 300.0) -> None:
        self._clock = clock
        self.offset_ms = 0
        self.rtt_ms = 0
        self.synced_at_ns: int | None = None
        self.max_age_ns = int(max_age_s * NS_PER_SECOND)

    def local_ns(self) -> int:
        return self._clock.now_ns()

    def now_ms(self) -> int:
        """The exchange's current time as best known (what `timestamp` should carry)."""
        return self._clock.now_ns() // NS_PER_MS + self.offset_ms

    def now_ns(self) -> int:
        return self._clock.now_ns() + self.offset_ms * NS_PER_MS

    def needs_sync(self) -> bool:
        if self.synced_at_ns is None:
            return True
        return self._clock.now_ns() - self.synced_at_ns >= self.max_age_ns

    def update(self, server_ms: int, sent_ns: int, received_ns: int) -> None:
        """Record a `serverTime` read between `sent_ns` and `received_ns` (local clock).

        The server stamped its time somewhere inside the round trip; the midpoint is the
        best estimate, wrong by at most half the round trip.
        """
        midpoint_ms = (sent_ns + received_ns) // 2 // NS_PER_MS
        self.offset_ms = server_ms - midpoint_ms
        self.rtt_ms = max(0, (received_ns - sent_ns) // NS_PER_MS)
        self.synced_at_ns = received_ns

    def invalidate(self) -> None:
        self.synced_at_ns = None
