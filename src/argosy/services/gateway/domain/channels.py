"""The `/ws` protocol: client messages, channel names and the bus topics behind them.

One connection multiplexes public market streams and the user's private streams. A client
sends JSON `{"op": "subscribe" | "unsubscribe", "channel": ..., "account"?: ..., "id"?: ...}`,
`{"op": "auth", "token": ...}` and `{"op": "pong"}` (answering the server's pings), and
receives `{"op": "data", "channel", "account"?, "data"}` frames plus replies
(`subscribed`, `unsubscribed`, `authenticated`, `error`, `ping`, `pong`).

Names are checked strictly here because they become bus subjects: a `*` or `>` smuggled
into an instrument would otherwise subscribe to every market at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from argosy.contracts import topics
from argosy.kernel.errors import Invalid

__all__ = [
    "CLOSE_AUTH",
    "CLOSE_HEARTBEAT",
    "CLOSE_OVERLOADED",
    "CLOSE_PROTOCOL",
    "CLOSE_RATE",
    "CLOSE_SLOW_CONSUMER",
    "MAX_MESSAGE_BYTES",
    "PRIVATE_KINDS",
    "Channel",
    "Command",
    "parse_command",
    "resolve_channel",
]

# Close codes (4000-4999 are the application's, RFC 6455 §7.4.2)
CLOSE_PROTOCOL = 4400  # a message we cannot understand
CLOSE_AUTH = 4401  # no valid token, token expired, or session revoked
CLOSE_HEARTBEAT = 4408  # no pong within the heartbeat timeout
CLOSE_SLOW_CONSUMER = 4409  # the client reads slower than its streams arrive
CLOSE_RATE = 4429  # too many client messages
CLOSE_OVERLOADED = 1013  # RFC 6455 "try again later": too many connections

Op = Literal["subscribe", "unsubscribe", "auth", "ping", "pong"]
_OPS = ("subscribe", "unsubscribe", "auth", "ping", "pong")
MAX_MESSAGE_BYTES = 16_384

_INSTRUMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.[a-z0-9][a-z0-9_-]{0,31}$")
_INTERVAL = re.compile(r"^[1-9][0-9]{0,2}[smhdwM]$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # account and user ids as topic tokens
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MARKET_KINDS = ("trade", "book", "ticker")
#: private channel → (bus topic kind, permission)
PRIVATE_KINDS = {
    "orders": ("trading.order", "orders:read"),
    "fills": ("trading.fill", "orders:read"),
    "positions": ("trading.position", "orders:read"),
    "risk": ("risk.exposure", "risk:read"),  # exposure, PnL, drawdown, VaR (risk service)
}


@dataclass(frozen=True, slots=True)
class Command:
    op: Op
    channel: str | None = None
    account: str | None = None
    token: str | None = None
    id: str | None = None  # echoed in the reply so a client can match answers


@dataclass(frozen=True, slots=True)
class Channel:
    name: str  # as the client names it
    topic: str  # the bus subject
    permission: str
    account: str | None = None  # private trading channels: must be the user's account

    @property
    def key(self) -> str:
        """One bus subscription per key, shared by every client of the channel."""
        return self.topic


def parse_command(raw: str | bytes) -> Command:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Invalid("message too large", field="message")
    try:
        msg: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("message is not JSON", field="message") from None
    if not isinstance(msg, dict):
        raise Invalid("message is not a JSON object", field="message")
    op = msg.get("op")
    if op not in _OPS:
        raise Invalid(f"op must be one of {', '.join(_OPS)}", field="op")
    rid = msg.get("id")
    if rid is not None and (not isinstance(rid, str | int) or not _REQUEST_ID.match(str(rid))):
        raise Invalid("id must be a short string or number", field="id")
    fields: dict[str, str | None] = {}
    for name in ("channel", "account", "token"):
        value = msg.get(name)
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{name} must be a string", field=name)
        fields[name] = value
    if op in ("subscribe", "unsubscribe") and not fields["channel"]:
        raise Invalid("channel is required", field="channel")
    if op == "auth" and not fields["token"]:
        raise Invalid("token is required", field="token")
    return Command(op, fields["channel"], fields["account"], fields["token"],
                   None if rid is None else str(rid))


def resolve_channel(name: str, *, account: str | None, user_id: str | None) -> Channel:
    """The bus topic and permission behind a channel name; Invalid names what is wrong."""
    if name.startswith("market."):
        return _market(name)
    if name in PRIVATE_KINDS:
        kind, permission = PRIVATE_KINDS[name]
        if account is None or not _TOKEN.match(account):
            raise Invalid(f"channel {name} needs an account id", field="account")
        return Channel(name, f"{kind}.{account}", permission, account)
    if name == "notifications":
        if user_id is None or not _TOKEN.match(user_id):
            raise Invalid("notifications need an authenticated user", field="channel")
        return Channel(name, f"notification.inapp.{user_id}", "notifications:read")
    raise Invalid(f"unknown channel {name!r}", field="channel")


def _market(name: str) -> Channel:
    _, _, rest = name.partition(".")
    kind, _, tail = rest.partition(".")
    try:
        if kind in _MARKET_KINDS and _INSTRUMENT.match(tail):
            return Channel(name, topics.market(kind, tail), "market:read")
        if kind == "bar":
            interval, _, instrument = tail.partition(".")
            if _INTERVAL.match(interval) and _INSTRUMENT.match(instrument):
                return Channel(name, topics.market_bar(interval, instrument), "market:read")
    except ValueError:
        pass
    raise Invalid(
        f"unknown market channel {name!r}: market.trade|book|ticker.<SYMBOL.venue> or "
        "market.bar.<interval>.<SYMBOL.venue>", field="channel",
    )
