"""Every bus topic name in one place.

Topics are dotted subjects (`md.trade.binance.BTCUSDT`, `trading.fill.<account>`). Patterns
use NATS syntax: `*` matches one token, `>` matches one or more trailing tokens. Each top
level root is one stream (JetStream) with its own retention.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ANALYTICS_REPORT_READY",
    "RISK_RULES_CHANGED",
    "STRATEGY_DEPLOYMENT_STOPPED",
    "STREAMS",
    "USERS_EVENTS",
    "StreamSpec",
    "config_changed",
    "market",
    "market_alarm",
    "market_bar",
    "notification_inapp",
    "risk_alert",
    "risk_exposure",
    "strategy_signal",
    "stream_for",
    "topic_matches",
    "trading",
    "validate_pattern",
    "validate_topic",
]


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    root: str  # first token of every subject in this stream
    max_age_s: int  # how long messages are kept for late or recovering consumers


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("ARGOSY_CONFIG", "config", 7 * 86400),
    StreamSpec("ARGOSY_USERS", "users", 7 * 86400),
    StreamSpec("ARGOSY_MD", "md", 3600),
    StreamSpec("ARGOSY_TRADING", "trading", 7 * 86400),
    StreamSpec("ARGOSY_STRATEGY", "strategy", 7 * 86400),
    StreamSpec("ARGOSY_RISK", "risk", 7 * 86400),
    StreamSpec("ARGOSY_NOTIFICATION", "notification", 7 * 86400),
    StreamSpec("ARGOSY_ANALYTICS", "analytics", 7 * 86400),
    StreamSpec("ARGOSY_PLATFORM", "platform", 86400),
)
_BY_ROOT = {s.root: s for s in STREAMS}


def config_changed(service: str) -> str:
    """Published by the config service after a document of `service` changed."""
    return f"config.changed.{service}"


#: users service events (payloads in contracts/v1/ of the users service)
USERS_EVENTS = {
    "email_verification": "users.email.verification_requested",
    "password_reset": "users.password.reset_requested",
    "new_device_login": "users.login.new_device",
    "kyc_changed": "users.kyc.changed",
    "session_revoked": "users.session.revoked",
    "api_key_revoked": "users.api_key.revoked",
    "roles_changed": "users.roles.changed",
    "account_created": "users.account.created",
    "registration_repeated": "users.registration.repeated",
}


def _instrument_tokens(instrument_id: str) -> tuple[str, str]:
    """`BTC-USDT-PERP.binance` → ("binance", "BTC-USDT-PERP"): dots cannot be in a token."""
    symbol, _, venue = instrument_id.rpartition(".")
    if not symbol or not venue:
        raise ValueError(f"not a canonical instrument id: {instrument_id!r}")
    return venue, symbol


def market(kind: str, instrument_id: str) -> str:
    """`md.trade.binance.BTC-USDT`, `md.book...`, `md.ticker...` for one instrument."""
    if kind not in ("trade", "book", "ticker"):
        raise ValueError(f"unknown market data kind {kind!r}")
    venue, symbol = _instrument_tokens(instrument_id)
    return f"md.{kind}.{venue}.{symbol}"


def market_bar(interval: str, instrument_id: str) -> str:
    venue, symbol = _instrument_tokens(instrument_id)
    return f"md.bar.{interval}.{venue}.{symbol}"


def trading(kind: str, account_id: str) -> str:
    """`trading.order.<account>`, `trading.fill.<account>`, `trading.position.<account>`."""
    if kind not in ("order", "fill", "position", "balance"):
        raise ValueError(f"unknown trading event kind {kind!r}")
    return f"trading.{kind}.{account_id}"


def risk_alert(severity: str) -> str:
    """`risk.alert.info|warning|critical` (kill switches are critical alerts)."""
    if severity not in ("info", "warning", "critical"):
        raise ValueError(f"unknown severity {severity!r}")
    return f"risk.alert.{severity}"


def risk_exposure(account_id: str) -> str:
    """`risk.exposure.<account>`: an account's exposure, PnL, drawdown and VaR after a
    change (throttled by the risk service); the gateway forwards it on `/ws` channel `risk`."""
    if not account_id or any(c in account_id for c in ".*> "):
        raise ValueError(f"not an account id: {account_id!r}")
    return f"risk.exposure.{account_id}"


STRATEGY_DEPLOYMENT_STOPPED = "strategy.deployment.stopped"


def strategy_signal(deployment_id: str) -> str:
    """`strategy.signal.<deployment>`: the signals one live deployment publishes."""
    if not deployment_id or "." in deployment_id or "*" in deployment_id or ">" in deployment_id:
        raise ValueError(f"not a deployment id: {deployment_id!r}")
    return f"strategy.signal.{deployment_id}"

# The risk service's compiled rule set (or kill-switch state) changed; trading reloads it.
RISK_RULES_CHANGED = "risk.rules.changed"
ANALYTICS_REPORT_READY = "analytics.report.ready"


def notification_inapp(user_id: str) -> str:
    """A user's private in-app stream; the gateway forwards it on `/ws`."""
    return f"notification.inapp.{user_id}"


def market_alarm(venue: str) -> str:
    """Stale feed, sequence gap, crossed book... on one venue's connection."""
    return f"md.alarm.{venue}"


def stream_for(topic: str) -> StreamSpec:
    """The stream that stores `topic`; unknown roots are a programming error."""
    root = topic.split(".", 1)[0]
    try:
        return _BY_ROOT[root]
    except KeyError:
        raise ValueError(f"topic {topic!r} has no stream; roots: {sorted(_BY_ROOT)}") from None


def validate_topic(topic: str) -> None:
    """At least `<root>.<kind>`, dotted non-empty tokens, no wildcards, a known root."""
    tokens = topic.split(".")
    if len(tokens) < 2 or any(not t or t in ("*", ">") or " " in t for t in tokens):
        raise ValueError(
            f"invalid topic {topic!r}: at least two dotted, non-empty tokens, no wildcards"
        )
    stream_for(topic)


def validate_pattern(pattern: str) -> None:
    tokens = pattern.split(".")
    if not pattern or any(not t or " " in t for t in tokens):
        raise ValueError(f"invalid pattern {pattern!r}")
    if ">" in tokens[:-1]:
        raise ValueError(f"invalid pattern {pattern!r}: '>' only as the last token")
    if tokens[0] not in ("*", ">"):
        stream_for(pattern)  # a literal root must be a known one, or nothing would ever match


def topic_matches(pattern: str, topic: str) -> bool:
    """NATS subject matching: `*` is one token, a trailing `>` is one or more tokens."""
    p, t = pattern.split("."), topic.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(t) > i
        if i >= len(t) or (tok != "*" and tok != t[i]):
            return False
    return len(p) == len(t)
