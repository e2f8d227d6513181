"""Pick the bus transport from its URL: memory://, nats://host:port, kafka://host:port."""

from __future__ import annotations

from urllib.parse import urlsplit

from argosy.kernel.errors import ConfigurationError
from argosy.platform.bus.base import Bus, BusMetrics

__all__ = ["BUS_SCHEMES", "create_bus"]

BUS_SCHEMES = ("memory", "nats", "tls", "kafka")


def create_bus(url: str, *, source: str = "", metrics: BusMetrics | None = None) -> Bus:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from argosy.platform.bus.memory import MemoryBus

        return MemoryBus(source=source, metrics=metrics)
    if scheme in ("nats", "tls"):
        from argosy.platform.bus.nats import NatsBus

        return NatsBus(url, source=source, metrics=metrics)
    if scheme == "kafka":
        from argosy.platform.bus.kafka import KafkaBus

        return KafkaBus(url, source=source, metrics=metrics)
    raise ConfigurationError(
        "ARGOSY_BUS_URL", f"unsupported scheme {scheme!r}; use one of memory://, nats://, kafka://"
    )
