"""Delivery receipts: a provider telling us, after the send, what became of a message.

One use-case today, SMS status callbacks (Twilio's scheme, domain/receipts.py). The
request carries no user identity (the provider calls it), so the provider's signature is
the only authentication: it is checked against the URL this service gave the provider
for that delivery, and the account sid must be ours.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from argosy.kernel.errors import Forbidden, NotFound
from argosy.services.notification.channels.sms import status_callback_url
from argosy.services.notification.domain.receipts import twilio_receipt, verify_twilio
from argosy.services.notification.queue import DeliveryQueue
from argosy.services.notification.service._context import Deps

__all__ = ["ReceiptsService"]

log = structlog.get_logger("argosy.notification.receipts")


class ReceiptsService:
    def __init__(self, deps: Deps, queue: DeliveryQueue) -> None:
        self.d, self._queue = deps, queue

    async def sms_status(self, delivery_id: str, form: Sequence[tuple[str, str]],
                         signature: str | None) -> bool:
        """Apply one status callback; True when the delivery changed."""
        st = self.d.settings
        token = st.sms_auth_token.get_secret_value() if st.sms_auth_token else ""
        if not st.sms_status_callback_url or not token:
            raise NotFound("SMS delivery receipts are not enabled on this server")
        url = status_callback_url(st.sms_status_callback_url, delivery_id)
        if not verify_twilio(token, url, form, signature):
            log.warning("notification.receipt_bad_signature", delivery_id=delivery_id)
            raise Forbidden("the X-Twilio-Signature does not sign this request")
        fields = dict(form)
        if fields.get("AccountSid", st.sms_account_sid) != st.sms_account_sid:
            raise Forbidden("the receipt is for another account", field="AccountSid")
        receipt = twilio_receipt(fields.get("MessageStatus") or fields.get("SmsStatus") or "",
                                 fields.get("ErrorCode"), fields.get("ErrorMessage"))
        if receipt is None:
            return False
        sid = fields.get("MessageSid") or fields.get("SmsSid") or None
        changed = await self._queue.apply_receipt(delivery_id, "sms", receipt, sid,
                                                  self.d.now())
        if changed is None:
            raise NotFound("no such SMS delivery", field="delivery_id")
        log.info("notification.sms_receipt", delivery_id=delivery_id, state=receipt.state,
                 changed=changed, reason=receipt.reason)
        return changed
