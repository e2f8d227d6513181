"""Consumer-group naming and redelivery spacing shared by the networked transports.

A group's server-side name includes a hash of its pattern: the same group name used with a
changed pattern must not inherit the old consumer's filter or offsets (JetStream refuses
to change a durable's filter; Kafka would mix two subscriptions in one group).
"""

from __future__ import annotations

import hashlib

__all__ = ["REDELIVERY_BASE_S", "REDELIVERY_MAX_S", "durable_name", "redelivery_delay"]

REDELIVERY_BASE_S = 0.05  # same first step as the in-memory bus
REDELIVERY_MAX_S = 30.0


def durable_name(group: str, pattern: str) -> str:
    """Server-side consumer name for `group` reading `pattern`: `<group>_<8 hex>`."""
    digest = hashlib.sha256(pattern.encode()).hexdigest()[:8]
    return f"{group}_{digest}"


def redelivery_delay(attempt: int) -> float:
    """Seconds to wait before delivery `attempt + 1` after attempt `attempt` failed."""
    if attempt < 1:
        raise ValueError("attempts start at 1")
    return min(REDELIVERY_MAX_S, REDELIVERY_BASE_S * 2.0 ** min(attempt - 1, 30))
