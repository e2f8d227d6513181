"""End to end: register through the users service and read the verification mail, with
its token, from a real SMTP server; the token then verifies the address.

Three real processes (config, users, notification) and the embedded NATS, as `argosy run`
starts them; the notification service's SMTP settings come from the environment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from tests.integration.notification._servers import SmtpSink
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def notify_platform(tmp_path: Path, smtp: SmtpSink) -> Iterator[PlatformProcess]:
    proc = PlatformProcess(tmp_path / "var", services=["config", "users", "notification"], env={
        "ARGOSY_NOTIFICATION_SMTP_HOST": "127.0.0.1",
        "ARGOSY_NOTIFICATION_SMTP_PORT": str(smtp.port),
        "ARGOSY_NOTIFICATION_SMTP_TLS": "none",
        "ARGOSY_NOTIFICATION_BASE_URL": "https://console.example.com",
    }).start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def _wait_mail(sink: SmtpSink, to: str, within_s: float = 30.0) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = sink.to(to)
        if found:
            return str(found[0].get_body(("plain",)).get_content())
        time.sleep(0.1)
    raise AssertionError(f"no mail to {to} within {within_s}s")


def test_registration_mails_a_verification_token(notify_platform: PlatformProcess,
                                                 smtp: SmtpSink) -> None:
    platform = notify_platform
    email = f"e2e-{time.time_ns()}@example.com"
    users = platform.url("users")
    r = httpx.post(f"{users}/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "locale": "en"}, timeout=10)
    assert r.status_code == 201, r.text
    user_id, org = r.json()["user_id"], r.json()["org"]

    body = _wait_mail(smtp, email)
    match = re.search(r"https://console\.example\.com/verify-email\?token=(\S+)", body)
    assert match, body
    [mail] = smtp.to(email)
    assert mail["Subject"] == "Confirm your email address for Argosy"

    ok = httpx.post(f"{users}/api/v1/auth/verify-email", json={"token": match.group(1)},
                    timeout=10)
    assert ok.status_code == 204, ok.text

    auth = InternalAuth(read_secret(platform.data_dir / "secrets" / "internal.key"))
    me = Principal(f"user:{user_id}", frozenset({"notifications:read"}), org)
    r = httpx.get(f"{platform.url('notification')}/api/v1/notifications/deliveries",
                  headers={h.IDENTITY: auth.mint(me)}, timeout=10)
    assert r.status_code == 200, r.text
    [delivery] = r.json()["items"]
    assert (delivery["event_type"], delivery["channel"], delivery["recipient"],
            delivery["state"]) == ("email_verification", "email", email, "sent")
