"""At least once across a crash, through the running service: the notification process is
killed (SIGKILL) after the SMTP server has the mail but before it answered, so the
service never recorded the send. The supervisor restarts it; once the claim's lease runs
out the mail goes out again, with the same Message-ID and X-Argosy-Delivery, so the
recipient's mail system can recognise the copy. Two copies, never zero.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from argosy.contracts import headers as h
from argosy.contracts import topics
from argosy.contracts.v1.events import FillEvent
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from tests.integration.gateway._live import BusTap
from tests.integration.notification._servers import SmtpSink
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

WAIT_S = 120.0  # a restart and a lease on two shared cores
_T = TypeVar("_T")


def _until(found: Callable[[], _T | None], timeout_s: float = WAIT_S) -> _T:
    deadline = time.monotonic() + timeout_s
    while not (value := found()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.1)
    return value


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def platform(tmp_path: Path, smtp: SmtpSink) -> Iterator[PlatformProcess]:
    proc = PlatformProcess(tmp_path / "var", services=["config", "notification"], env={
        "ARGOSY_NOTIFICATION_SMTP_HOST": "127.0.0.1",
        "ARGOSY_NOTIFICATION_SMTP_PORT": str(smtp.port),
        "ARGOSY_NOTIFICATION_SMTP_TLS": "none",
        "ARGOSY_NOTIFICATION_SMTP_TIMEOUT_S": "2",
        "ARGOSY_NOTIFICATION_LEASE_S": "5",  # the shortest allowed: the resend comes soon
        "ARGOSY_NOTIFICATION_POLL_S": "0.2",
    }).start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def _nats_url(proc: PlatformProcess) -> str:
    log = (proc.data_dir / "logs" / "nats.log").read_text()
    match = re.search(r"Listening for client connections on (127\.0\.0\.1:\d+)", log)
    assert match, log[-2000:]
    return f"nats://{match.group(1)}"


def _identity(proc: PlatformProcess, user_id: str, org: str) -> dict[str, str]:
    auth = InternalAuth(read_secret(proc.data_dir / "secrets" / "internal.key"))
    me = Principal(f"user:{user_id}", frozenset({"notifications:read",
                                                 "notifications:write"}), org)
    return {h.IDENTITY: auth.mint(me)}


def _deliveries(proc: PlatformProcess, who: dict[str, str]) -> list[dict[str, Any]] | None:
    try:
        r = httpx.get(f"{proc.url('notification')}/api/v1/notifications/deliveries",
                      headers=who, timeout=5)
    except httpx.TransportError:
        return None  # restarting
    return list(r.json()["items"]) if r.status_code == 200 else None


def test_a_send_cut_short_by_a_crash_is_sent_again_with_the_same_identity(
    platform: PlatformProcess, smtp: SmtpSink,
) -> None:
    user_id, org = f"usr_{uuid.uuid4().hex[:12]}", f"org_{uuid.uuid4().hex[:12]}"
    address = f"{user_id}@example.com"
    who = _identity(platform, user_id, org)
    r = httpx.put(f"{platform.url('notification')}/api/v1/notifications/preferences",
                  headers=who, timeout=10, json={
                      "email": address, "events": {"order_filled": ["email"]}})
    assert r.status_code == 200, r.text

    victim = platform.service_pid("notification")
    killed: list[int] = []

    def crash(_: EmailMessage) -> None:
        if not killed:  # the server has the mail; the client dies before reading our 250
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    smtp.on_data = crash
    tap = BusTap(_nats_url(platform))
    try:
        fill = FillEvent(org=org, user_id=user_id, at_ms=time.time_ns() // 1_000_000,
                         account_id="acc_crash", order_id="ord-crash", fill_id="f-crash",
                         instrument="BTC-USDT.binance", side="sell", price="67000",
                         quantity="0.25", fee="1.2", fee_asset="USDT", liquidity="maker")
        tap.publish_json(topics.trading("fill", "acc_crash"), fill.model_dump(mode="json"))
        first, second = _until(lambda: m if len(m := smtp.to(address)) >= 2 else None)
    finally:
        tap.close()
    assert killed == [victim]
    assert platform.service_pid("notification") != victim  # the supervisor restarted it

    assert first["Message-ID"] == second["Message-ID"]
    assert first["X-Argosy-Delivery"] == second["X-Argosy-Delivery"]
    assert first.get_body(("plain",)).get_content() == (  # type: ignore[union-attr]
        second.get_body(("plain",)).get_content())  # type: ignore[union-attr]

    [row] = _until(lambda: [d for d in _deliveries(platform, who) or []
                            if d["state"] == "sent"])
    assert (row["id"], row["attempts"]) == (first["X-Argosy-Delivery"], 2)
    assert first["Message-ID"] == f"<{row['id']}@localhost>"
    assert len(smtp.to(address)) == 2  # final: nothing left to resend
    assert "notification.lease_expired" in platform.service_log("notification")
