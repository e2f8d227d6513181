"""Telegram Bot API: `POST {base}/bot<token>/sendMessage`. The base URL is a setting, so
tests (and self-hosted Bot API servers) can stand in for api.telegram.org.

The bot token is part of every URL, and httpx logs request URLs at INFO: a filter on the
`httpx` logger masks `/bot<token>/` before any handler sees the line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from argosy.services.notification.channels._http import make_client, retry_after, transport_failure
from argosy.services.notification.channels.base import Message, Sender
from argosy.services.notification.domain.outcomes import Outcome, Sent, from_http_status
from argosy.services.notification.settings import NotificationSettings

__all__ = ["TelegramSender"]

_TOKEN_IN_PATH = re.compile(r"/bot[^/\s]+/")
_MAX_TEXT = 4096


class _MaskBotToken(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(_TOKEN_IN_PATH.sub("/bot***/", str(a)) if isinstance(
                a, str | httpx.URL) else a for a in record.args)
        record.msg = _TOKEN_IN_PATH.sub("/bot***/", str(record.msg))
        return True


_FILTER = _MaskBotToken()


class TelegramSender(Sender):
    channel = "telegram"

    def __init__(self, settings: NotificationSettings) -> None:
        token = (settings.telegram_bot_token.get_secret_value()
                 if settings.telegram_bot_token else "")
        self._url = f"{settings.telegram_base_url.rstrip('/')}/bot{token}/sendMessage"
        self._problem = (None if token else
                         "Telegram is not configured (ARGOSY_NOTIFICATION_TELEGRAM_BOT_TOKEN)")
        self._http = make_client(settings.telegram_timeout_s)
        httpx_log = logging.getLogger("httpx")
        if _FILTER not in httpx_log.filters:
            httpx_log.addFilter(_FILTER)

    def problem(self) -> str | None:
        return self._problem

    async def send(self, message: Message) -> Outcome:
        text = f"{message.subject}\n\n{message.body}" if message.subject and (
            message.subject not in message.body) else message.body
        try:
            r = await self._http.post(self._url, json={
                "chat_id": message.recipient, "text": text[:_MAX_TEXT],
                "disable_web_page_preview": True})
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        body: Any = None
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.is_success and isinstance(body, dict) and body.get("ok"):
            result = body.get("result") or {}
            # ok: Telegram put it in the chat (no later receipt exists): delivered
            return Sent(provider_id=str(result.get("message_id", "")) or None, delivered=True)
        reason = r.reason_phrase
        if isinstance(body, dict) and body.get("description"):
            reason = str(body["description"])
        status = r.status_code if r.status_code >= 400 else 502
        return from_http_status(status, reason, retry_after(r, body))

    async def close(self) -> None:
        await self._http.aclose()
