"""Every bus topic name in one place.

Topics are dotted subjects (`md.trade.binance.BTCUSDT`, `trading.fill.<account>`). Patterns
use NATS syntax: `*` matches one token, `>` matches one or more trailing tokens. Each top
level root is one stream (JetStream) with its own retention.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "STREAMS",
    "StreamSpec",
    "config_changed",
    "stream_for",
    "topic_matches",
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
