"""How dotted Argosy topics map onto Kafka topics, and how headers travel.

Kafka topics are heavy (files, partitions, metadata), so only a topic's first two tokens
name one: `trading.fill.acc1` goes to `argosy.trading.fill`, keyed by the full topic so
each topic keeps its order inside one partition. The full topic rides in a header and
subscribers filter on it with NATS pattern rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from argosy.contracts import headers as h

__all__ = [
    "DEFAULT_PREFIX",
    "TOPIC_HEADER",
    "KafkaRoute",
    "bootstrap_servers",
    "decode_headers",
    "encode_headers",
    "kafka_topic",
    "route_for",
]

DEFAULT_PREFIX = "argosy"
TOPIC_HEADER = "x-argosy-topic"
_LEGAL = re.compile(r"[A-Za-z0-9_-]+")  # Kafka also allows '.', which we use as separator
_ANY_WORD = r"[^.]+"


def bootstrap_servers(url: str) -> str:
    """`kafka://h1:9092,h2:9092` -> `h1:9092,h2:9092` (port 9092 when left out)."""
    netloc = urlsplit(url).netloc
    hosts = [part.strip() for part in netloc.split(",") if part.strip()]
    if not hosts:
        raise ValueError(f"no broker in {url!r}; expected kafka://host:port[,host2:port]")
    return ",".join(host if ":" in host.rsplit("]", 1)[-1] else f"{host}:9092" for host in hosts)


def kafka_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The Kafka topic that stores `topic`: the prefix and its first two tokens."""
    head = topic.split(".")[:2]
    for token in head:
        if not _LEGAL.fullmatch(token):
            raise ValueError(
                f"topic {topic!r}: the first two tokens name a Kafka topic and may hold only "
                "letters, digits, - and _"
            )
    return ".".join([prefix, *head])


@dataclass(frozen=True, slots=True)
class KafkaRoute:
    """The Kafka topics a pattern can match: a fixed one, or a regex when the head is wild."""

    topics: tuple[str, ...] = ()
    regex: str | None = None

    @property
    def anchored(self) -> str:
        """The regex for aiokafka, which uses `re.match` (anchored at the start only)."""
        if self.regex is None:
            raise ValueError("a route with fixed topics has no regex")
        return f"^{self.regex}$"

    def matches(self, name: str) -> bool:
        if self.regex is not None:
            return re.fullmatch(self.regex, name) is not None
        return name in self.topics


def route_for(pattern: str, prefix: str = DEFAULT_PREFIX) -> KafkaRoute:
    tokens = pattern.split(".")
    head = tokens[:2]
    if not any(t in ("*", ">") for t in head):
        return KafkaRoute(topics=(kafka_topic(pattern, prefix),))
    base = re.escape(prefix)
    if head[0] == ">":  # one or two head tokens
        return KafkaRoute(regex=rf"{base}\.{_ANY_WORD}(?:\.{_ANY_WORD})?")
    parts = [_ANY_WORD if t in ("*", ">") else re.escape(t) for t in head]
    return KafkaRoute(regex=r"\.".join([base, *parts]))


def encode_headers(topic: str, headers: Mapping[str, str]) -> list[tuple[str, bytes]]:
    return [(TOPIC_HEADER, topic.encode()), *((k, v.encode()) for k, v in headers.items())]


def decode_headers(
    raw: Iterable[tuple[str, bytes]], key: bytes | None
) -> tuple[str, dict[str, str], str]:
    """(full topic, the message's headers, message id) of one record."""
    hdrs = {k: v.decode(errors="replace") for k, v in raw}
    topic = hdrs.pop(TOPIC_HEADER, None) or (key or b"").decode(errors="replace")
    return topic, hdrs, hdrs.get(h.MESSAGE_ID, "")
