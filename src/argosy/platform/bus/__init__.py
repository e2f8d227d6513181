"""Event bus: one interface, three transports (in-memory, NATS JetStream, Kafka)."""

from argosy.platform.bus.base import Bus, Envelope, Handler, Subscription
from argosy.platform.bus.factory import create_bus

__all__ = ["Bus", "Envelope", "Handler", "Subscription", "create_bus"]
