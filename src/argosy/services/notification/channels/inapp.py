"""In-app: the inbox row is written with the event; sending publishes it on the user's
private topic (`notification.inapp.<user>`), which the gateway forwards on `/ws`.

The delivery id is the bus message id, so a retry after a crash between publish and
bookkeeping is dropped by JetStream's duplicate window instead of shown twice.
"""

from __future__ import annotations

from argosy.contracts.topics import notification_inapp
from argosy.kernel.clock import ns_to_iso
from argosy.platform.bus.base import Bus
from argosy.services.notification.channels.base import Message, Sender
from argosy.services.notification.domain.outcomes import Outcome, Retry, Sent

__all__ = ["InAppSender"]


class InAppSender(Sender):
    channel = "inapp"

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def send(self, message: Message) -> Outcome:
        payload = {
            "type": "notification", "id": message.data.get("inbox_id", message.id),
            "event_type": message.event_type, "severity": message.severity,
            "title": message.subject, "body": message.body,
            "created_at": ns_to_iso(message.created_ns), "read": False,
            "data": {k: v for k, v in message.data.items() if k != "inbox_id"},
        }
        try:
            await self._bus.publish_json(notification_inapp(message.user_id), payload,
                                         msg_id=message.id)
        except Exception as exc:  # any transport failure: the row stays and retries
            return Retry(f"bus unavailable: {type(exc).__name__}")
        return Sent(delivered=True)
