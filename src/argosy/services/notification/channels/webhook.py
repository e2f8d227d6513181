"""Webhooks: POST the notification as JSON, signed with the user's own secret.

Headers: `X-Argosy-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>`,
`X-Argosy-Timestamp`, `X-Argosy-Delivery` (the same on every retry, so a receiver can
drop a duplicate) and `X-Argosy-Event`. Redirects are not followed (a 3xx is final), and
unless private networks are allowed, the host's resolved addresses are checked right
before the request, so a public name cannot be pointed at an internal service later.
"""

from __future__ import annotations

import time

import httpx
import orjson

from argosy.kernel.clock import ns_to_iso
from argosy.services.notification.channels._http import (
    make_client,
    resolves_public,
    retry_after,
    transport_failure,
)
from argosy.services.notification.channels.base import Message, Sender
from argosy.services.notification.domain.outcomes import (
    Outcome,
    Reject,
    Sent,
    from_http_status,
)
from argosy.services.notification.domain.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from argosy.services.notification.domain.signature import sign as sign_body
from argosy.services.notification.settings import NotificationSettings

__all__ = ["WebhookSender", "webhook_body"]


def webhook_body(message: Message) -> bytes:
    return orjson.dumps({
        "id": message.id, "event_type": message.event_type, "severity": message.severity,
        "created_at": ns_to_iso(message.created_ns), "subject": message.subject,
        "body": message.body, "data": dict(message.data),
    })


class WebhookSender(Sender):
    channel = "webhook"

    def __init__(self, settings: NotificationSettings) -> None:
        self._allow_private = settings.webhook_allow_private_networks
        self._http = make_client(settings.webhook_timeout_s)

    async def send(self, message: Message) -> Outcome:
        if message.secret is None:
            return Reject("no webhook secret: save the webhook URL in preferences again")
        if not self._allow_private and not await resolves_public(message.recipient):
            return Reject("webhook host resolves to a private or loopback address")
        body = webhook_body(message)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign_body(message.secret, body, timestamp),
            TIMESTAMP_HEADER: str(timestamp),
            "X-Argosy-Delivery": message.id,
            "X-Argosy-Event": message.event_type,
        }
        try:
            r = await self._http.post(message.recipient, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        if r.is_success:
            return Sent(provider_id=None, delivered=True)
        return from_http_status(r.status_code, r.text[:300] or r.reason_phrase, retry_after(r))

    async def close(self) -> None:
        await self._http.aclose()
