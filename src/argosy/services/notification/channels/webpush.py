"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291).

pywebpush encrypts the payload for the subscription's keys and py_vapid signs the VAPID
JWT; the POST itself goes through our pooled httpx client (pywebpush's own senders are
either blocking `requests` or a fresh aiohttp session per message). The VAPID key pair is
generated on first start into the data dir (0600) and must be shared by every instance,
because a browser binds its subscription to the public key it was given.

A push service answering 404 or 410 says the subscription is gone for good: the delivery
is dead-lettered and the subscription forgotten.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException

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
from argosy.services.notification.settings import NotificationSettings

__all__ = ["VapidKeys", "WebPushSender", "push_payload"]

_JWT_TTL_S = 12 * 3600
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _create_exclusive(path: Path, data: bytes) -> None:
    """Write `path` once, atomically, mode 0600; a concurrent first start keeps theirs."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class VapidKeys:
    """The service's VAPID key pair and the JWTs it signs (cached per push origin)."""

    def __init__(self, path: Path, subject: str) -> None:
        if not path.exists():
            fresh = Vapid02()
            fresh.generate_keys()
            _create_exclusive(path, fresh.private_pem())
        self._vapid = Vapid02.from_file(str(path))
        self._subject = subject
        self._cache: dict[str, tuple[str, float]] = {}
        point = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        #: what a browser passes as `applicationServerKey` to PushManager.subscribe()
        self.public_key = _b64url(point)

    def authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._cache.get(audience)
        if cached is None or cached[1] - now < 3600:
            expires = int(now) + _JWT_TTL_S
            header = self._vapid.sign({"aud": audience, "exp": expires, "sub": self._subject})
            cached = (str(header["Authorization"]), float(expires))
            self._cache[audience] = cached
        return cached[0]


def push_payload(message: Message) -> bytes:
    return orjson.dumps({"id": message.id, "title": message.subject, "body": message.body,
                         "event_type": message.event_type, "severity": message.severity,
                         "data": dict(message.data)})


class WebPushSender(Sender):
    channel = "push"

    def __init__(self, settings: NotificationSettings, keys: VapidKeys) -> None:
        self._keys = keys
        self._ttl = settings.push_ttl_s
        self._allow_private = settings.webhook_allow_private_networks
        self._http = make_client(settings.push_timeout_s)

    async def send(self, message: Message) -> Outcome:
        if message.push_keys is None:
            return Reject("the push subscription was removed", gone=True)
        p256dh, auth = message.push_keys
        if not self._allow_private and not await resolves_public(message.recipient):
            return Reject("push endpoint resolves to a private or loopback address", gone=True)
        try:
            pusher = WebPusher({"endpoint": message.recipient,
                                "keys": {"p256dh": p256dh, "auth": auth}})
            body = pusher.encode(push_payload(message), "aes128gcm")["body"]
        except (WebPushException, ValueError, TypeError) as exc:
            return Reject(f"invalid push subscription keys: {exc}", gone=True)
        headers = {
            "authorization": self._keys.authorization(message.recipient),
            "content-encoding": "aes128gcm", "content-type": "application/octet-stream",
            "ttl": str(self._ttl),
            "urgency": "high" if message.severity == "critical" else "normal",
        }
        if _TOPIC.fullmatch(message.id):
            # RFC 8030 5.4: a resend (after a crash) replaces the copy still waiting at the
            # push service instead of arriving twice
            headers["topic"] = message.id
        try:
            r = await self._http.post(message.recipient, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        if r.is_success:
            return Sent(provider_id=r.headers.get("location"))
        if r.status_code in (404, 410):
            return Reject(f"HTTP {r.status_code}: push subscription expired", gone=True)
        return from_http_status(r.status_code, r.text[:300] or r.reason_phrase, retry_after(r))

    async def close(self) -> None:
        await self._http.aclose()
