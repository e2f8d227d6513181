"""SMS delivery receipts through the running service: the notification process sends an
SMS to a local Twilio-style provider, which, like Twilio, later POSTs a signed status
callback to the URL it was given; the delivery's status on the API follows: `sent`, then
`delivered` (or `dead` with the carrier's error)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from argosy.services.notification.domain.receipts import twilio_signature
from tests.integration.notification._servers import HttpRecorder, Recorded, json_reply
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

TWILIO = "/2010-04-01/Accounts/ACe2e/Messages.json"
TOKEN = "e2e-auth-token"
WAIT_S = 60.0
_T = TypeVar("_T")


def _until(found: Callable[[], _T | None], timeout_s: float = WAIT_S) -> _T:
    deadline = time.monotonic() + timeout_s
    while not (value := found()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.1)
    return value


@pytest.fixture
def provider() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder().start()
    yield recorder
    recorder.stop()


@pytest.fixture
def platform(tmp_path: Path, provider: HttpRecorder) -> Iterator[PlatformProcess]:
    # The provider calls back through the gateway's public route, as it would in production.
    proc = PlatformProcess(tmp_path / "var",
                           services=["config", "users", "gateway", "notification"])
    callbacks = f"{proc.url('gateway')}/api/v1/notifications/sms/status"
    proc.env.update({
        "ARGOSY_NOTIFICATION_SMS_BASE_URL": provider.url,
        "ARGOSY_NOTIFICATION_SMS_ACCOUNT_SID": "ACe2e",
        "ARGOSY_NOTIFICATION_SMS_AUTH_TOKEN": TOKEN,
        "ARGOSY_NOTIFICATION_SMS_FROM": "+15005550006",
        "ARGOSY_NOTIFICATION_SMS_STATUS_CALLBACK_URL": callbacks,
    })
    proc.start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def _status_later(req: Recorded, sid: str, statuses: list[dict[str, str]]) -> None:
    """What Twilio does after accepting: POST each status, signed, to StatusCallback."""
    url = req.form()["StatusCallback"]

    def post() -> None:
        for extra in statuses:
            form = {"AccountSid": "ACe2e", "MessageSid": sid, "SmsSid": sid,
                    "To": req.form()["To"], "From": "+15005550006", **extra}
            signature = twilio_signature(TOKEN, url, form.items())
            r = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature},
                           timeout=10)
            assert r.status_code == 204, r.text

    threading.Timer(0.2, post).start()


def test_carrier_receipts_move_sms_deliveries_to_delivered_or_dead(
    platform: PlatformProcess, provider: HttpRecorder,
) -> None:
    answers = {
        "+4915100000001": ("SMe2e1", [{"MessageStatus": "sent"},
                                      {"MessageStatus": "delivered"}]),
        "+4915100000002": ("SMe2e2", [{"MessageStatus": "undelivered",
                                       "ErrorCode": "30005"}]),
    }

    def twilio(req: Recorded) -> tuple[int, dict[str, str], bytes]:
        sid, statuses = answers[req.form()["To"]]
        _status_later(req, sid, statuses)
        return json_reply(201, {"sid": sid, "status": "queued"})

    provider.script[TWILIO] = twilio
    auth = InternalAuth(read_secret(platform.data_dir / "secrets" / "internal.key"))
    base = f"{platform.url('notification')}/api/v1/notifications"
    results: dict[str, dict[str, Any]] = {}
    for phone in answers:
        who = {h.IDENTITY: auth.mint(Principal(
            f"user:usr_{uuid.uuid4().hex[:12]}",
            frozenset({"notifications:read", "notifications:write"}), "org_e2e"))}
        r = httpx.put(f"{base}/preferences", headers=who, json={"phone": phone}, timeout=10)
        assert r.status_code == 200, r.text
        r = httpx.post(f"{base}/test", headers=who, json={"channel": "sms"}, timeout=10)
        assert r.status_code == 202, r.text

        def final(who: dict[str, str] = who) -> dict[str, Any] | None:
            rows = httpx.get(f"{base}/deliveries", headers=who, timeout=10).json()["items"]
            return rows[0] if rows and rows[0]["state"] in ("delivered", "dead") else None

        results[phone] = _until(final)

    ok, lost = results["+4915100000001"], results["+4915100000002"]
    assert (ok["state"], ok["reason"], ok["attempts"]) == ("delivered", None, 1)
    assert ok["sent_at"] is not None
    assert ok["delivered_at"] >= ok["sent_at"]
    assert (lost["state"], lost["reason"]) == (
        "dead", "SMS provider reported undelivered: 30005 unknown destination handset")
    assert len(provider.at(TWILIO)) == 2  # one SMS each, no retry after the receipt
