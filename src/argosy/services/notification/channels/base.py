"""The interface every channel implements, and the message it is handed.

A sender never raises for a provider's answer: it reports an `Outcome` (sent, retry,
reject), so the queue's decisions live in one place (domain/outcomes.py). An exception
that escapes anyway is treated by the dispatcher as a retry, never as a lost message.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from argosy.services.notification.domain.outcomes import Outcome

__all__ = ["Message", "Sender"]


@dataclass(frozen=True, slots=True)
class Message:
    id: str  # the delivery id: receivers can use it to drop a redelivery
    channel: str
    recipient: str
    subject: str
    body: str
    html: str | None
    event_type: str
    severity: str
    user_id: str
    created_ns: int
    data: Mapping[str, Any] = field(default_factory=dict)
    secret: bytes | None = None  # webhook signing secret
    push_keys: tuple[str, str] | None = None  # (p256dh, auth) of a push subscription


class Sender(abc.ABC):
    channel: str

    def problem(self) -> str | None:
        """Why this channel cannot send on this server (missing credentials), or None."""
        return None

    @abc.abstractmethod
    async def send(self, message: Message) -> Outcome: ...

    async def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections; the default sender holds none."""
