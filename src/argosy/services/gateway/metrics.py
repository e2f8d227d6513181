"""The gateway's own Prometheus series, in the service's registry (platform/metrics.py).

Labels stay bounded: `route` is the route table's prefix (not the raw path), `upstream`
the service name, `scope` one of ip/identity/route.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from argosy.platform.metrics import Metrics

__all__ = ["GatewayMetrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.requests = Counter(
            "argosy_gateway_requests_total", "Requests handled per route",
            ["route", "method", "status", "upstream"], registry=r,
        )
        self.latency = Histogram(
            "argosy_gateway_request_duration_seconds", "Gateway request latency per route",
            ["route", "method", "upstream"], buckets=_BUCKETS, registry=r,
        )
        self.upstream_latency = Histogram(
            "argosy_gateway_upstream_duration_seconds", "Time spent waiting on the upstream",
            ["route", "upstream"], buckets=_BUCKETS, registry=r,
        )
        self.retries = Counter(
            "argosy_gateway_retries_total", "Requests re-sent to another instance",
            ["upstream"], registry=r,
        )
        self.rate_limited = Counter(
            "argosy_gateway_rate_limited_total", "Requests refused by a rate limit",
            ["scope"], registry=r,
        )
        self.auth_failures = Counter(
            "argosy_gateway_auth_failures_total", "Credentials refused", ["kind"], registry=r,
        )
        self.breaker_state = Gauge(
            "argosy_gateway_circuit_open", "1 when the upstream's circuit is open or half-open",
            ["upstream"], registry=r,
        )
        self.instances_up = Gauge(
            "argosy_gateway_upstream_instances_available", "Instances in rotation",
            ["upstream"], registry=r,
        )
        self.ws_connections = Gauge(
            "argosy_gateway_ws_connections", "Open WebSocket connections", registry=r,
        )
        self.ws_channels = Gauge(
            "argosy_gateway_ws_channels", "Bus subscriptions held for WebSocket channels",
            registry=r,
        )
        self.ws_frames = Counter(
            "argosy_gateway_ws_frames_total", "Frames queued to WebSocket clients", registry=r,
        )
        self.ws_dropped = Counter(
            "argosy_gateway_ws_dropped_total", "WebSocket clients disconnected by the gateway",
            ["reason"], registry=r,
        )
