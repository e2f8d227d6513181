"""Topic mapping, pattern routing and header encoding of the Kafka transport."""

from __future__ import annotations

import re

import pytest

from argosy.contracts import headers as h
from argosy.contracts.topics import topic_matches
from argosy.platform.bus._kafka_topics import (
    TOPIC_HEADER,
    bootstrap_servers,
    decode_headers,
    encode_headers,
    kafka_topic,
    route_for,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("kafka://k1:9093", "k1:9093"),
        ("kafka://k1:9093,k2:9094", "k1:9093,k2:9094"),
        ("kafka://k1,k2:9094?idempotence=false", "k1:9092,k2:9094"),
        ("kafka://[::1]:9092", "[::1]:9092"),
    ],
)
def test_bootstrap_servers(url: str, expected: str) -> None:
    assert bootstrap_servers(url) == expected


def test_bootstrap_needs_a_host() -> None:
    with pytest.raises(ValueError, match="no broker"):
        bootstrap_servers("kafka://")


def test_kafka_topic_is_prefix_and_first_two_tokens() -> None:
    assert kafka_topic("trading.fill.acc1") == "argosy.trading.fill"
    assert kafka_topic("md.trade.binance.BTCUSDT", "dev") == "dev.md.trade"
    assert kafka_topic("config") == "argosy.config"
    with pytest.raises(ValueError, match="Kafka topic"):
        kafka_topic("md.tr/ade.x")


def test_literal_head_routes_to_one_topic() -> None:
    route = route_for("trading.fill.*")
    assert route.topics == ("argosy.trading.fill",)
    assert route.regex is None
    assert route.matches("argosy.trading.fill")
    assert not route.matches("argosy.trading.order")
    assert route_for("trading.fill.>").topics == ("argosy.trading.fill",)
    with pytest.raises(ValueError, match="no regex"):
        _ = route.anchored


# every Kafka topic a matching dotted topic can land in must match the route
_TOPICS = [
    "trading", "trading.fill", "trading.fill.acc1", "trading.fill.acc1.x", "risk.fill.acc1",
    "md.trade.binance.BTCUSDT", "trading.order.acc1",
]


@pytest.mark.parametrize(
    "pattern", [">", "*", "*.fill", "*.fill.acc1", "trading.>", "trading.*", "trading.*.acc1",
                "*.*.>", "trading.fill.>"],
)
def test_route_covers_every_matching_topic_and_no_foreign_one(pattern: str) -> None:
    route = route_for(pattern)
    for topic in _TOPICS:
        if topic_matches(pattern, topic):
            assert route.matches(kafka_topic(topic)), (pattern, topic)
    assert not route.matches("__consumer_offsets")
    assert not route.matches("other.trading.fill")


def test_wild_head_routes_by_regex() -> None:
    route = route_for("*.fill.acc1")
    assert route.regex is not None
    assert route.topics == ()
    assert re.match(route.anchored, "argosy.risk.fill")
    assert not re.match(route.anchored, "argosy.risk.fill.more")
    assert not route_for("trading.>").matches("argosy.trading")
    assert route_for(">").matches("argosy.trading")
    assert route_for(">").matches("argosy.md.trade")


def test_headers_round_trip_with_the_full_topic() -> None:
    raw = encode_headers("trading.fill.acc1", {h.MESSAGE_ID: "m1", h.CORRELATION_ID: "c"})
    assert raw[0] == (TOPIC_HEADER, b"trading.fill.acc1")
    topic, hdrs, msg_id = decode_headers(raw, b"trading.fill.acc1")
    assert topic == "trading.fill.acc1"
    assert hdrs == {h.MESSAGE_ID: "m1", h.CORRELATION_ID: "c"}
    assert msg_id == "m1"


def test_topic_falls_back_to_the_key() -> None:
    assert decode_headers([], b"trading.fill.acc2") == ("trading.fill.acc2", {}, "")
