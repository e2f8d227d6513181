"""SMS (Twilio-style), Telegram, signed webhooks and Web Push against local HTTP servers
that record what arrived and answer like the real providers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.notification._harness import NotifyHarness
from tests.integration.notification._servers import HttpRecorder, Recorded, json_reply

pytestmark = pytest.mark.integration

TWILIO = "/2010-04-01/Accounts/AC123/Messages.json"
TELEGRAM = "/bot123456:SECRET-bot-token/sendMessage"


async def _test(h: NotifyHarness, who: object, channel: str) -> None:
    r = await h.call("POST", "/api/v1/notifications/test", who,  # type: ignore[arg-type]
                     json={"channel": channel, "message": "ping"})
    assert r.status_code == 202, r.text


async def test_sms_is_a_twilio_style_form_post(notify: NotifyHarness, http: HttpRecorder) -> None:
    http.script[TWILIO] = lambda _: json_reply(201, {"sid": "SM42", "status": "queued"})
    alice = notify.user()
    await notify.prefs(alice, phone="+4915112345678")
    await _test(notify, alice, "sms")
    [req] = await http.wait(TWILIO, 1)
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"AC123:tok").decode()
    form = req.form()
    assert (form["To"], form["From"]) == ("+4915112345678", "+15005550006")
    assert form["Body"] == "Argosy test: ping"
    [d] = await notify.settled(alice, 1)
    assert d["state"] == "sent"


async def test_a_4xx_from_the_provider_is_dead_lettered_at_once_with_its_reason(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    http.script[TWILIO] = lambda _: json_reply(400, {
        "code": 21211, "status": 400,
        "message": "The 'To' number +15005550001 is not a valid phone number."})
    alice = notify.user()
    await notify.prefs(alice, phone="+15005550001")
    await _test(notify, alice, "sms")
    [d] = await notify.settled(alice, 1)
    assert (d["state"], d["attempts"]) == ("dead", 1)
    assert d["reason"] == ("HTTP 400: 21211 The 'To' number +15005550001 is not a valid "
                           "phone number.")
    assert len(http.at(TWILIO)) == 1


async def test_429_and_5xx_are_retried_until_the_provider_recovers(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    answers = [json_reply(429, {"ok": False, "error_code": 429, "description": "Too Many "
                                "Requests: retry after 0", "parameters": {"retry_after": 0}}),
               json_reply(502, {"ok": False, "description": "Bad Gateway"}),
               json_reply(200, {"ok": True, "result": {"message_id": 7}})]
    http.script[TELEGRAM] = lambda _: answers.pop(0)
    alice = notify.user()
    await notify.prefs(alice, telegram_chat_id="-100123")
    await _test(notify, alice, "telegram")
    [d] = await notify.settled(alice, 1)
    assert (d["state"], d["attempts"], d["reason"]) == ("delivered", 3, None)
    reqs = http.at(TELEGRAM)
    assert len(reqs) == 3
    assert reqs[0].json()["chat_id"] == "-100123"
    assert reqs[0].json()["text"].endswith("Argosy test: ping")


async def test_telegram_errors_name_the_reason_and_the_token_never_reaches_a_log(
    notify: NotifyHarness, http: HttpRecorder, caplog: pytest.LogCaptureFixture,
) -> None:
    http.script[TELEGRAM] = lambda _: json_reply(403, {
        "ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    alice = notify.user()
    await notify.prefs(alice, telegram_chat_id="42")
    with caplog.at_level(logging.INFO, logger="httpx"):
        await _test(notify, alice, "telegram")
        [d] = await notify.settled(alice, 1)
    assert (d["state"], d["reason"]) == ("dead", "HTTP 403: Forbidden: bot was blocked by the user")
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("/bot***/sendMessage" in line for line in lines)
    assert not any("SECRET-bot-token" in line for line in lines)


async def test_webhooks_are_signed_so_the_receiver_can_verify(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    answers = [(503, {}, b"busy"), (200, {}, b"ok")]
    http.script["/hook"] = lambda _: answers.pop(0)
    alice = notify.user()
    prefs = await notify.prefs(alice, webhook_url=f"{http.url}/hook",
                               severity_channels={"critical": ["webhook"]})
    secret = prefs["webhook_secret"]
    assert secret.startswith("whsec_")
    again = (await notify.call("GET", "/api/v1/notifications/preferences", alice)).json()
    assert again["webhook_secret"] is None
    assert again["webhook_secret_hint"] == "whsec_…" + secret[-4:]
    await notify.publish("risk.alert.critical", notify.risk(alice))
    [d] = await notify.settled(alice, 1)
    assert (d["state"], d["attempts"]) == ("delivered", 2)
    first, second = http.at("/hook")
    for req in (first, second):
        _verify(req, secret.encode())
    assert first.headers["x-argosy-delivery"] == second.headers["x-argosy-delivery"] == d["id"]
    body = second.json()
    assert (body["event_type"], body["severity"]) == ("risk_alert", "critical")
    assert body["data"]["message"] == "Daily loss 5.2% over the 5% limit"
    forged = Recorded("POST", "/hook", dict(second.headers), second.body + b" ")
    with pytest.raises(AssertionError):
        _verify(forged, secret.encode())
    rotated = await notify.prefs(alice, webhook_url=f"{http.url}/hook",
                                 rotate_webhook_secret=True)
    assert rotated["webhook_secret"] not in (None, secret)


def _verify(req: Recorded, secret: bytes) -> None:
    """What a receiver does: recompute the HMAC over "<t>.<body>", check the clock."""
    fields = dict(p.split("=", 1) for p in req.headers["x-argosy-signature"].split(","))
    assert fields["t"] == req.headers["x-argosy-timestamp"]
    assert abs(time.time() - int(fields["t"])) < 300
    mac = hmac.new(secret, fields["t"].encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, fields["v1"])


def _browser() -> tuple[ec.EllipticCurvePrivateKey, dict[str, str], bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    auth = os.urandom(16)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return key, {"p256dh": b64(point), "auth": b64(auth)}, auth


async def test_web_push_is_encrypted_for_the_browser_and_signed_with_vapid(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    http.script["/push/"] = lambda _: (201, {"location": f"{http.url}/msg/1"}, b"")
    alice = notify.user()
    await notify.prefs(alice, severity_channels={"critical": ["push"]})
    key, keys, auth = _browser()
    sub = {"endpoint": f"{http.url}/push/abc", "keys": keys, "expirationTime": None}
    r = await notify.call("POST", "/api/v1/notifications/push/subscribe", alice, json=sub)
    assert r.status_code == 201, r.text
    again = await notify.call("POST", "/api/v1/notifications/push/subscribe", alice, json=sub)
    assert again.status_code == 200
    await notify.publish("risk.alert.critical", notify.risk(alice, kind="kill_switch",
                                                            message="Kill switch engaged"))
    [req] = await http.wait("/push/abc", 1)
    assert (req.headers["content-encoding"], req.headers["urgency"]) == ("aes128gcm", "high")
    assert int(req.headers["ttl"]) > 0
    plain = http_ece.decrypt(req.body, private_key=key, auth_secret=auth, version="aes128gcm")
    payload = json.loads(plain)
    assert payload["title"] == "KILL SWITCH: trading stopped (account)"
    assert payload["body"] == "KILL SWITCH (account): Kill switch engaged"
    scheme, params = req.headers["authorization"].split(" ", 1)
    fields = dict(p.split("=", 1) for p in params.split(","))
    server_key = (await notify.call("GET", "/api/v1/notifications/push/key", alice)).json()
    assert scheme == "vapid"
    assert fields["k"] == server_key["public_key"]
    raw = base64.urlsafe_b64decode(fields["k"] + "==")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=http.url)
    assert claims["sub"] == "mailto:argosy@localhost"
    assert claims["exp"] > time.time()
    [d] = await notify.settled(alice, 1, channel="push")
    assert d["state"] == "sent"
    assert req.headers["topic"] == d["id"]  # a resend replaces a copy still queued there
    assert payload["id"] == d["id"]


async def test_an_expired_push_subscription_is_dead_lettered_and_forgotten(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    http.script["/push/"] = lambda _: (410, {}, b"Gone")
    alice = notify.user()
    _, keys, _ = _browser()
    r = await notify.call("POST", "/api/v1/notifications/push/subscribe", alice,
                          json={"endpoint": f"{http.url}/push/old", "keys": keys})
    assert r.status_code == 201
    await _test(notify, alice, "push")
    [d] = await notify.settled(alice, 1)
    assert (d["state"], d["reason"]) == ("dead", "HTTP 410: push subscription expired")
    prefs = (await notify.call("GET", "/api/v1/notifications/preferences", alice)).json()
    assert prefs["push_subscriptions"] == 0
