"""Issue #9 end to end, through the running services: config, users, gateway and
notification as real processes (`argosy run`), the embedded NATS, and a real SMTP server.

Events are published on the platform's own NATS from the test, exactly as the trading and
risk services publish them (contracts/v1/events.py on contracts.topics); users register,
save preferences and read their inbox through the gateway, and watch their private
`/ws` stream. Every wait polls a condition with a generous deadline (2 shared cores):
nothing is asserted from a sleep.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from websockets.sync.client import ClientConnection, connect

from argosy.contracts import topics
from argosy.contracts.v1.events import FillEvent, RiskAlert
from tests.integration.gateway._live import BusTap, Live, User
from tests.integration.notification._servers import SmtpSink
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

SERVICES = ["config", "users", "gateway", "notification"]
WAIT_S = 60.0  # generous: two shared cores, five other engineers
_T = TypeVar("_T")


def wait_until(found: Callable[[], _T | None], timeout_s: float, step_s: float = 0.05) -> _T:
    """`found()` once it is truthy; fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (value := found()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(step_s)
    return value


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[Live]:
    proc = PlatformProcess(tmp_path_factory.mktemp("notify-e2e") / "var", services=SERVICES,
                           env={
        "ARGOSY_NOTIFICATION_SMTP_HOST": "127.0.0.1",
        "ARGOSY_NOTIFICATION_SMTP_PORT": str(smtp.port),
        "ARGOSY_NOTIFICATION_SMTP_TLS": "none",
        "ARGOSY_NOTIFICATION_SMTP_TIMEOUT_S": "3",
        # quick retries, and enough of them that an SMTP outage cannot exhaust them
        "ARGOSY_NOTIFICATION_BACKOFF_BASE_S": "0.2",
        "ARGOSY_NOTIFICATION_BACKOFF_MAX_S": "1.0",
        "ARGOSY_NOTIFICATION_MAX_ATTEMPTS": "100",
        "ARGOSY_NOTIFICATION_POLL_S": "0.1",
    }).start()
    tap: BusTap | None = None
    try:
        proc.wait_ready()
        tap = BusTap(_nats_url(proc))
        yield Live(proc, tap)
    finally:
        if tap is not None:
            tap.close()
        proc.stop()


def _nats_url(proc: PlatformProcess) -> str:
    log = (proc.data_dir / "logs" / "nats.log").read_text()
    match = re.search(r"Listening for client connections on (127\.0\.0\.1:\d+)", log)
    assert match, log[-2000:]
    return f"nats://{match.group(1)}"


# -- helpers ---------------------------------------------------------------------------
def _user(live: Live, ip: str, **prefs: Any) -> User:
    user = live.register(ip)
    r = live.call("PUT", "/api/v1/notifications/preferences", ip=ip, headers=user.auth,
                  json={"email": user.email, **prefs})
    assert r.status_code == 200, r.text
    return user


def _account(user: User) -> str:
    return user.account_id or f"acc_{user.user_id}"


def _fill(live: Live, user: User, fill_id: str) -> None:
    event = FillEvent(org=user.org, user_id=user.user_id, at_ms=time.time_ns() // 1_000_000,
                      account_id=_account(user), order_id=f"ord-{fill_id}", fill_id=fill_id,
                      instrument="BTC-USDT.binance", side="buy", price="67250.5",
                      quantity="0.5", fee="0.0005", fee_asset="BTC", liquidity="taker")
    live.tap.publish_json(topics.trading("fill", _account(user)), event.model_dump(mode="json"))


def _critical(live: Live, user: User, message: str) -> None:
    event = RiskAlert(org=user.org, user_id=user.user_id, at_ms=time.time_ns() // 1_000_000,
                      alert_id=uuid.uuid4().hex[:10], severity="critical",
                      kind="daily_loss_limit", message=message, account_id=_account(user))
    live.tap.publish_json(topics.risk_alert("critical"), event.model_dump(mode="json"))


def _mails(smtp: SmtpSink, user: User, event: str) -> list[EmailMessage]:
    return [m for m in smtp.to(user.email) if m["X-Argosy-Event"] == event]


def _text(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _deliveries(live: Live, user: User, **params: str) -> list[dict[str, Any]]:
    r = live.call("GET", "/api/v1/notifications/deliveries", ip=user.ip, headers=user.auth,
                  params={"limit": "200", **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


@contextlib.contextmanager
def _ws(live: Live, user: User) -> Iterator[ClientConnection]:
    """The user's `/ws`, subscribed to their private `notifications` channel."""
    url = live.gateway.replace("http://", "ws://") + f"/ws?token={user.access}"
    with connect(url, open_timeout=15) as ws:
        assert _frame(ws)["op"] == "authenticated"
        ws.send(json.dumps({"op": "subscribe", "channel": "notifications", "id": "n1"}))
        assert _frame(ws)["op"] == "subscribed"
        yield ws


def _frame(ws: ClientConnection, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["op"] != "ping":
            return frame


# -- (a) a fill → an email and an in-app message ---------------------------------------
def test_a_fill_reaches_the_mailbox_the_inbox_and_the_private_stream(
    live: Live, smtp: SmtpSink,
) -> None:
    alice = _user(live, "127.0.0.91", events={"order_filled": ["email", "inapp"]})
    with _ws(live, alice) as ws:
        _fill(live, alice, "f-a-1")
        frame = _frame(ws, WAIT_S)
    assert (frame["op"], frame["channel"]) == ("data", "notifications"), frame
    pushed = frame["data"]
    assert (pushed["type"], pushed["event_type"], pushed["read"]) == (
        "notification", "order_filled", False)
    assert pushed["data"]["fill_id"] == "f-a-1"

    [mail] = wait_until(lambda: _mails(smtp, alice, "order_filled"), WAIT_S)
    assert "67250.5" in _text(mail)
    assert "BTC-USDT" in str(mail["Subject"]) + _text(mail)

    r = live.call("GET", "/api/v1/notifications", ip=alice.ip, headers=alice.auth)
    assert r.status_code == 200, r.text
    [item] = [i for i in r.json()["items"] if i["event_type"] == "order_filled"]
    assert (item["id"], item["read"], item["data"]["fill_id"]) == (pushed["id"], False, "f-a-1")
    assert r.json()["unread"] >= 1

    by_channel = {d["channel"]: d for d in wait_until(lambda: [
        d for d in _deliveries(live, alice, event_type="order_filled")
        if d["state"] in ("sent", "delivered")] or None, WAIT_S)}
    assert by_channel["inapp"]["state"] == "delivered"
    assert wait_until(lambda: {d["channel"]: d["state"] for d in _deliveries(
        live, alice, event_type="order_filled")} == {"email": "sent", "inapp": "delivered"},
        WAIT_S)
    read = live.call("POST", f"/api/v1/notifications/{item['id']}/read", ip=alice.ip,
                     headers=alice.auth)
    assert (read.status_code, read.json()["read"]) == (200, True), read.text


# -- (b) the SMTP server down for a while → each message delivered once after -----------
def test_mail_queued_while_smtp_is_down_goes_out_once_when_it_returns(
    live: Live, smtp: SmtpSink,
) -> None:
    bob = _user(live, "127.0.0.92", events={"order_filled": ["email"]})
    # the registration mail is out first, so the outage only holds the fills
    wait_until(lambda: _deliveries(live, bob, state="sent"), WAIT_S)
    fills = [f"f-b-{i}" for i in range(3)]
    smtp.stop()
    try:
        for fill_id in fills:
            _fill(live, bob, fill_id)

        def retrying() -> bool:
            rows = _deliveries(live, bob, event_type="order_filled")
            return len(rows) == len(fills) and all(
                d["state"] == "failed" and d["attempts"] >= 2 for d in rows)

        wait_until(retrying, WAIT_S, step_s=0.2)  # the outage was seen, twice per message
        [row] = _deliveries(live, bob, event_type="order_filled", limit="1")
        assert row["reason"].startswith("SMTP unavailable"), row
        assert _mails(smtp, bob, "order_filled") == []
    finally:
        smtp.start()

    def all_sent() -> list[dict[str, Any]] | None:
        rows = _deliveries(live, bob, event_type="order_filled")
        return rows if [d["state"] for d in rows] == ["sent"] * len(fills) else None

    rows = wait_until(all_sent, WAIT_S, step_s=0.2)
    mails = wait_until(lambda: m if len(m := _mails(smtp, bob, "order_filled")) >= 3 else None,
                       WAIT_S)
    assert len(mails) == len(fills)  # once each: every row is final, nothing left to retry
    assert sorted(str(m["X-Argosy-Delivery"]) for m in mails) == sorted(d["id"] for d in rows)
    assert sorted(re.search(r"f-b-\d", _text(m)).group(0) for m in mails  # type: ignore[union-attr]
                  ) == fills
    assert all(d["attempts"] >= 3 and d["reason"] is None for d in rows)


# -- (c) quiet hours hold an info message, let a critical one through ------------------
def _quiet_now(zone: str) -> dict[str, str]:
    """A window around the current time of day in `zone` (wraps midnight if need be)."""
    local = datetime.now(ZoneInfo(zone))
    return {"start": (local - timedelta(hours=1)).strftime("%H:%M"),
            "end": (local + timedelta(hours=2)).strftime("%H:%M")}


def test_quiet_hours_hold_an_info_fill_and_let_a_critical_alert_through(
    live: Live, smtp: SmtpSink,
) -> None:
    zone = "Asia/Shanghai"
    prefs = {"timezone": zone, "events": {"order_filled": ["email", "inapp"]}}
    carol = _user(live, "127.0.0.93", quiet_hours=_quiet_now(zone), **prefs)
    _fill(live, carol, "f-c-1")

    def held() -> dict[str, Any] | None:
        rows = {d["channel"]: d for d in _deliveries(live, carol, event_type="order_filled")}
        if rows.get("inapp", {}).get("state") == "delivered" and "email" in rows:
            return rows["email"]
        return None

    email = wait_until(held, WAIT_S, step_s=0.2)
    assert (email["state"], email["attempts"]) == ("queued", 0), email
    assert email["held_until"] is not None
    assert email["held_until"] > datetime.now(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S")

    _critical(live, carol, "Daily loss 7% over the 5% limit")
    [alert] = wait_until(lambda: _mails(smtp, carol, "risk_alert"), WAIT_S)
    assert "Daily loss 7%" in _text(alert)
    assert _mails(smtp, carol, "order_filled") == []  # still held while the alert went out
    [critical] = _deliveries(live, carol, event_type="risk_alert", channel="email")
    assert critical["state"] == "sent"

    # the user ends quiet hours: the held message is released and sent, once
    r = live.call("PUT", "/api/v1/notifications/preferences", ip=carol.ip,
                  headers=carol.auth, json={"email": carol.email, **prefs})
    assert r.status_code == 200, r.text
    [fill_mail] = wait_until(lambda: _mails(smtp, carol, "order_filled"), WAIT_S)
    assert "67250.5" in _text(fill_mail)
