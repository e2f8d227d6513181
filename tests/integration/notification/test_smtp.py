"""Email against real SMTP servers: STARTTLS and implicit TLS with AUTH, verified against a
self-signed certificate; refused recipients and bad credentials."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from argosy.platform.settings import PlatformSettings
from tests.integration.notification._harness import NotifyHarness
from tests.integration.notification._servers import HttpRecorder, SmtpSink, self_signed
from tests.integration.notification.conftest import notification_settings, running

pytestmark = pytest.mark.integration

USER, PASSWORD = "argosy", "s3cret-pass"


@contextlib.asynccontextmanager
async def _harness(platform: PlatformSettings, sink: SmtpSink, http: HttpRecorder,
                   **smtp: Any) -> AsyncIterator[NotifyHarness]:
    settings = notification_settings(sink.port, http.url, **smtp)
    async with running(platform, settings) as h:
        yield h


async def _send_test(h: NotifyHarness, address: str) -> dict[str, Any]:
    alice = h.user()
    await h.prefs(alice, email=address)
    r = await h.call("POST", "/api/v1/notifications/test", alice,
                     json={"channel": "email", "message": "TLS works"})
    assert r.status_code == 202, r.text
    [delivery] = await h.settled(alice, 1)
    return delivery


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_and_auth_against_a_self_signed_server(
    mode: str, tmp_path: Path, platform_settings: PlatformSettings, http: HttpRecorder,
) -> None:
    cert = self_signed(tmp_path)
    sink = SmtpSink(mode=mode, cert=cert, auth=(USER, PASSWORD)).start()
    try:
        async with _harness(platform_settings, sink, http, smtp_tls=mode,
                                smtp_username=USER, smtp_password=PASSWORD,
                                smtp_ca_file=str(cert[0])) as h:
            delivery = await _send_test(h, "tls@example.com")
            assert delivery["state"] == "sent", delivery
            [mail] = await sink.wait(1)
            assert "TLS works" in mail.get_body(("plain",)).get_content()
            assert sink.sessions == [{"tls": True, "auth": True}]
    finally:
        sink.stop()


async def test_an_untrusted_certificate_is_not_accepted(
    tmp_path: Path, platform_settings: PlatformSettings, http: HttpRecorder,
) -> None:
    sink = SmtpSink(mode="starttls", cert=self_signed(tmp_path), auth=(USER, PASSWORD)).start()
    try:
        async with _harness(platform_settings, sink, http, smtp_tls="starttls",
                                smtp_username=USER, smtp_password=PASSWORD, max_attempts=2) as h:
            delivery = await _send_test(h, "tls@example.com")
            assert delivery["state"] == "dead"
            assert "CERTIFICATE_VERIFY_FAILED" in delivery["reason"]
            assert sink.messages == []
    finally:
        sink.stop()


async def test_wrong_password_retries_then_gives_up_with_the_servers_words(
    tmp_path: Path, platform_settings: PlatformSettings, http: HttpRecorder,
) -> None:
    cert = self_signed(tmp_path)
    sink = SmtpSink(mode="starttls", cert=cert, auth=(USER, PASSWORD)).start()
    try:
        async with _harness(platform_settings, sink, http, smtp_tls="starttls",
                                smtp_username=USER, smtp_password="wrong",
                                smtp_ca_file=str(cert[0]), max_attempts=3) as h:
            delivery = await _send_test(h, "tls@example.com")
            assert delivery["state"] == "dead"
            assert delivery["attempts"] == 3
            assert "gave up after 3 attempts: SMTP authentication failed: 535" in (
                delivery["reason"])
    finally:
        sink.stop()


async def test_a_refused_recipient_is_dead_lettered_at_once(
    notify: NotifyHarness, smtp: SmtpSink,
) -> None:
    smtp.refuse["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: user unknown"
    delivery = await _send_test(notify, "nobody@example.com")
    assert delivery["state"] == "dead"
    assert delivery["attempts"] == 1
    assert delivery["reason"].startswith("SMTP 550 5.1.1 <nobody@example.com>: user unknown")
    smtp.refuse["busy@example.com"] = "451 4.3.0 try later"
    busy = notify.user()
    await notify.prefs(busy, email="busy@example.com")
    await notify.call("POST", "/api/v1/notifications/test", busy, json={"channel": "email"})

    async def retrying() -> bool:
        rows = await notify.deliveries(busy)
        return bool(rows) and rows[0]["attempts"] >= 2 and rows[0]["state"] != "dead"

    await notify.wait_for(retrying)
    [row] = await notify.deliveries(busy)
    assert row["reason"] == "SMTP 451 4.3.0 try later (busy@example.com)"
    assert len(smtp.to("busy@example.com")) == 0
