"""Prometheus metrics, one registry per service process (so tests can run several apps).

Label values are kept low-cardinality: routes by template, topics by their first two tokens.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "topic_family"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def topic_family(topic: str) -> str:
    """`trading.fill.acc123` → `trading.fill`: bounded label values."""
    return ".".join(topic.split(".")[:2])


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        r = self.registry
        self.http_requests = Counter(
            "argosy_http_requests_total", "HTTP requests handled",
            ["service", "method", "route", "status"], registry=r,
        )
        self.http_latency = Histogram(
            "argosy_http_request_duration_seconds", "HTTP request latency",
            ["service", "method", "route"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.bus_published = Counter(
            "argosy_bus_published_total", "Messages published", ["service", "transport", "topic"],
            registry=r,
        )
        self.bus_handled = Counter(
            "argosy_bus_handled_total", "Messages handled",
            ["service", "transport", "topic", "outcome"], registry=r,
        )
        self.bus_handle_latency = Histogram(
            "argosy_bus_handle_duration_seconds", "Handler time per message",
            ["service", "transport", "topic"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.outbox_pending = Gauge(
            "argosy_outbox_pending", "Outbox rows not yet published", ["service"], registry=r,
        )
        self.outbox_published = Counter(
            "argosy_outbox_published_total", "Outbox rows published", ["service"], registry=r,
        )
        self.dependency_up = Gauge(
            "argosy_dependency_up", "1 when a dependency answered its last readiness check",
            ["service", "dependency"], registry=r,
        )
        self.config_version = Gauge(
            "argosy_config_version", "Version of each config document applied",
            ["service", "namespace"], registry=r,
        )

    # BusMetrics protocol (platform/bus/base.py)
    def published(self, transport: str, topic: str) -> None:
        self.bus_published.labels(self.service, transport, topic_family(topic)).inc()

    def handled(self, transport: str, topic: str, seconds: float, ok: bool) -> None:
        fam = topic_family(topic)
        self.bus_handled.labels(self.service, transport, fam, "ok" if ok else "error").inc()
        self.bus_handle_latency.labels(self.service, transport, fam).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
