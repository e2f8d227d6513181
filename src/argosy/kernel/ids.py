"""Unique ids that sort by creation time: ULIDs, optionally behind a type prefix.

A ULID is 48 bits of Unix milliseconds then 80 random bits, written as 26 Crockford base32
characters, so sorting the strings sorts by time and a database index on them stays
append-only. Within one generator the ids are strictly increasing even inside one
millisecond or when the wall clock steps back: the random part is incremented instead of
redrawn (the ULID "monotonic" variant). Prefixed ids (`ord_01J...`) say what they name in
logs and URLs; at 30 characters `ord_` ids also fit a Binance client order id.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import Final

from argosy.kernel.clock import NS_PER_MS, Clock, LiveClock
from argosy.kernel.errors import Invalid

__all__ = [
    "ULID_LENGTH",
    "IdGenerator",
    "check_id",
    "new_id",
    "new_ulid",
    "ulid_time_ms",
    "validate_client_order_id",
]

ULID_LENGTH: Final = 26
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE: Final = {c: i for i, c in enumerate(_ALPHABET)}
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,15}")
_CLIENT_ORDER_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_RANDOM_BITS: Final = 80
_RANDOM_LIMIT: Final = 1 << _RANDOM_BITS
_TIME_LIMIT: Final = 1 << 48


def _encode(number: int) -> str:
    chars = []
    for _ in range(ULID_LENGTH):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


class IdGenerator:
    """Monotonic ULID source; one per process is enough and it is thread-safe.

    `clock` lets a backtest stamp ids with simulated time; `random_bytes` lets a test make
    them reproducible.
    """

    __slots__ = ("_clock", "_last_ms", "_last_random", "_lock", "_random_bytes")

    def __init__(
        self,
        clock: Clock | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._clock: Clock = clock or LiveClock()
        self._random_bytes = random_bytes
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new_ulid(self) -> str:
        now_ms = self._clock.now_ns() // NS_PER_MS
        if not 0 <= now_ms < _TIME_LIMIT:
            raise Invalid(f"clock time {now_ms} ms cannot be stored in a ULID", field="clock")
        with self._lock:
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._last_random = int.from_bytes(self._random_bytes(10), "big")
            else:
                # Same millisecond or a clock step back: keep the last time, count up.
                self._last_random += 1
                if self._last_random >= _RANDOM_LIMIT:
                    self._last_ms += 1
                    self._last_random = int.from_bytes(self._random_bytes(10), "big")
            value = (self._last_ms << _RANDOM_BITS) | self._last_random
        return _encode(value)

    def new_id(self, prefix: str) -> str:
        return f"{_check_prefix(prefix)}_{self.new_ulid()}"


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or _PREFIX.fullmatch(prefix) is None:
        raise Invalid(
            f"id prefix must be 1-16 lower-case letters or digits, got {prefix!r}",
            field="prefix",
        )
    return prefix


_DEFAULT: Final = IdGenerator()


def new_ulid() -> str:
    """A ULID from the process-wide live-time generator."""
    return _DEFAULT.new_ulid()


def new_id(prefix: str) -> str:
    """`<prefix>_<ULID>` from the process-wide live-time generator, e.g. `ord_01J...`."""
    return _DEFAULT.new_id(prefix)


def ulid_time_ms(ulid: str) -> int:
    """The creation time (Unix ms) inside a ULID or prefixed id."""
    body = ulid.rpartition("_")[2] if isinstance(ulid, str) else ""
    if _ULID.fullmatch(body) is None:
        raise Invalid(f"not a ULID: {ulid!r}", field="id")
    number = 0
    for char in body[:10]:
        number = number * 32 + _DECODE[char]
    return number


def check_id(value: str, prefix: str, field: str = "id") -> str:
    """Return `value` if it is `<prefix>_<ULID>`; otherwise raise `Invalid` naming `field`."""
    expected = _check_prefix(prefix) + "_"
    if (
        not isinstance(value, str)
        or not value.startswith(expected)
        or _ULID.fullmatch(value[len(expected) :]) is None
    ):
        raise Invalid(
            f"{field} must look like {expected}<26-char ULID>, got {value!r}", field=field
        )
    return value


def validate_client_order_id(value: str, field: str = "client_order_id") -> str:
    """Binance's rule (`^[.A-Z:/a-z0-9_-]{1,36}$`), the strictest among supported venues."""
    if not isinstance(value, str) or _CLIENT_ORDER_ID.fullmatch(value) is None:
        raise Invalid(
            f"{field} must be 1-36 characters of letters, digits and . : / _ -, got {value!r}",
            field=field,
        )
    return value
