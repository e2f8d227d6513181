"""SMS through a provider interface, with one adapter for Twilio's REST API (and the many
providers that copy it): `POST /2010-04-01/Accounts/{sid}/Messages.json`, basic auth,
form fields To/From/Body. The base URL is a setting, so tests point it at a local server.

With `sms_status_callback_url` set, each message also carries `StatusCallback=<url>/<delivery
id>`: the provider then reports what the carrier did (api/receipts.py), and the delivery
becomes `delivered`, or `dead` with the carrier's error. The delivery id in the URL (not the
provider's sid) finds the row even when the receipt overtakes our own record of the send.
"""

from __future__ import annotations

import abc
from typing import Any

import httpx

from argosy.services.notification.channels._http import make_client, retry_after, transport_failure
from argosy.services.notification.channels.base import Message, Sender
from argosy.services.notification.domain.outcomes import Outcome, Sent, from_http_status
from argosy.services.notification.settings import NotificationSettings

__all__ = ["SmsProvider", "SmsSender", "TwilioSms", "status_callback_url"]

_MAX_BODY = 1600  # Twilio's limit; longer bodies are cut, not refused


def status_callback_url(base: str, delivery_id: str) -> str:
    """The exact URL the provider calls back, and signs, for one delivery."""
    return f"{base.rstrip('/')}/{delivery_id}"


class SmsProvider(abc.ABC):
    """One SMS gateway: send `body` to an E.164 number; `reference` (the delivery id) lets
    the provider's receipts name the delivery."""

    def problem(self) -> str | None:
        return None

    @abc.abstractmethod
    async def send_sms(self, to: str, body: str, reference: str) -> Outcome: ...

    async def close(self) -> None:  # noqa: B027 (optional hook)
        """Release the provider's connections."""


class TwilioSms(SmsProvider):
    def __init__(self, settings: NotificationSettings) -> None:
        self._sid = settings.sms_account_sid or ""
        token = settings.sms_auth_token.get_secret_value() if settings.sms_auth_token else ""
        self._from = settings.sms_from or ""
        self._url = (f"{settings.sms_base_url.rstrip('/')}/2010-04-01/Accounts/"
                     f"{self._sid}/Messages.json")
        self._auth = httpx.BasicAuth(self._sid, token)
        self._callback = settings.sms_status_callback_url
        self._http = make_client(settings.sms_timeout_s)
        missing = [n for n, v in (("SMS_ACCOUNT_SID", self._sid), ("SMS_AUTH_TOKEN", token),
                                  ("SMS_FROM", self._from)) if not v]
        self._problem = (f"SMS is not configured (ARGOSY_NOTIFICATION_{', '.join(missing)})"
                         if missing else None)

    def problem(self) -> str | None:
        return self._problem

    async def send_sms(self, to: str, body: str, reference: str) -> Outcome:
        form = {"To": to, "From": self._from, "Body": body[:_MAX_BODY]}
        if self._callback:
            form["StatusCallback"] = status_callback_url(self._callback, reference)
        try:
            r = await self._http.post(self._url, auth=self._auth, data=form)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        payload: Any = None
        try:
            payload = r.json()
        except ValueError:
            payload = None
        if r.is_success and isinstance(payload, dict):
            return Sent(provider_id=str(payload.get("sid") or "") or None)
        reason = r.reason_phrase
        if isinstance(payload, dict) and payload.get("message"):
            reason = f"{payload.get('code', '')} {payload['message']}".strip()
        return from_http_status(r.status_code, reason, retry_after(r))

    async def close(self) -> None:
        await self._http.aclose()


class SmsSender(Sender):
    channel = "sms"

    def __init__(self, provider: SmsProvider) -> None:
        self._provider = provider

    def problem(self) -> str | None:
        return self._provider.problem()

    async def send(self, message: Message) -> Outcome:
        return await self._provider.send_sms(message.recipient, message.body, message.id)

    async def close(self) -> None:
        await self._provider.close()
