"""Users events: verification, reset and invite mail go to the event's address (the user
may have no preferences yet), new-device logins and KYC changes follow routing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.notification._harness import NotifyHarness, Person
from tests.integration.notification._servers import SmtpSink

pytestmark = pytest.mark.integration


def _base(who: Person) -> dict[str, Any]:
    return {"user_id": who.id, "org": who.org, "at_ms": int(time.time() * 1000)}


async def test_verification_mail_reaches_the_event_address_in_the_users_locale(
    notify: NotifyHarness, smtp: SmtpSink,
) -> None:
    bob = notify.user()
    await notify.publish("users.email.verification_requested", {
        **_base(bob), "email": "bob@example.com", "token": "ev_token123",
        "expires_at_ms": int(time.time() * 1000) + 86_400_000, "locale": "zh-CN"})
    [mail] = await smtp.wait(1)
    assert mail["To"] == "bob@example.com"
    assert mail["Subject"] == "请确认您在 Argosy 的邮箱地址"
    assert "http://127.0.0.1:8080/verify-email?token=ev_token123" in (
        mail.get_body(("plain",)).get_content())
    prefs = (await notify.call("GET", "/api/v1/notifications/preferences", bob)).json()
    assert (prefs["email"], prefs["locale"], prefs["saved"]) == ("bob@example.com", "zh-CN",
                                                                 False)


async def test_reset_and_invite_mails(notify: NotifyHarness, smtp: SmtpSink) -> None:
    carol = notify.user()
    body = {**_base(carol), "email": "carol@example.com", "token": "pr_tok",
            "expires_at_ms": 1_800_000_000_000, "locale": "en"}
    await notify.publish("users.password.reset_requested", {**body, "purpose": "reset"})
    await notify.publish("users.password.reset_requested", {**body, "purpose": "invite",
                                                            "token": "pr_inv"})
    mails = await smtp.wait(2)
    by_subject = {m["Subject"]: m.get_body(("plain",)).get_content() for m in mails}
    assert "/reset-password?token=pr_tok" in by_subject["Reset your Argosy password"]
    assert "/register?invite=pr_inv" in by_subject["You are invited to Argosy"]


async def test_new_device_login_uses_the_known_address_and_kyc_stays_in_app(
    notify: NotifyHarness, smtp: SmtpSink,
) -> None:
    dan = notify.user()
    await notify.publish("users.login.new_device", {
        **_base(dan), "email": "dan@example.com", "device_id": "dev_1", "ip": "203.0.113.9",
        "user_agent": "curl/8.0"})
    [mail] = await smtp.wait(1)
    assert (mail["To"], mail["Subject"]) == ("dan@example.com",
                                             "New sign-in to your Argosy account")
    await notify.publish("users.kyc.changed", {**_base(dan), "state": "approved",
                                               "previous": "submitted", "reason": None,
                                               "actor": "user:rev"})
    await notify.wait_for(lambda: _inbox(notify, dan, 2))
    items = (await notify.call("GET", "/api/v1/notifications", dan)).json()["items"]
    assert items[0]["title"] == "Your verification is now approved"
    assert len(smtp.messages) == 1
    # once the user saves preferences of their own, a later event does not overwrite them
    await notify.prefs(dan, email="dan@work.example.com")
    await notify.publish("users.login.new_device", {
        **_base(dan), "email": "dan@example.com", "device_id": "dev_2", "ip": "203.0.113.10",
        "user_agent": "curl/8.1"})
    await smtp.wait(2)
    assert smtp.messages[1]["To"] == "dan@work.example.com"


async def _inbox(h: NotifyHarness, who: Person, n: int) -> bool:
    return len((await h.call("GET", "/api/v1/notifications", who)).json()["items"]) == n


async def test_a_malformed_event_is_dropped_and_the_next_one_still_flows(
    notify: NotifyHarness, smtp: SmtpSink,
) -> None:
    eve = notify.user()
    await notify.publish("users.email.verification_requested", {**_base(eve), "email": "x"})
    await notify.publish("users.email.verification_requested", {
        **_base(eve), "email": "eve@example.com", "token": "ev_ok", "expires_at_ms": 1,
        "locale": "en"})
    [mail] = await smtp.wait(1)
    assert mail["To"] == "eve@example.com"


async def test_a_repeated_registration_warns_the_owner_in_their_locale(
    notify: NotifyHarness, smtp: SmtpSink,
) -> None:
    erin = notify.user()
    await notify.publish("users.registration.repeated", {
        **_base(erin), "email": "erin@example.com", "ip": "198.51.100.4", "locale": "zh-CN"})
    [mail] = await smtp.wait(1)
    assert (mail["To"], mail["Subject"]) == ("erin@example.com",
                                             "有人尝试用您的地址注册 Argosy")
    body = mail.get_body(("plain",)).get_content()
    assert "198.51.100.4" in body
    assert "http://127.0.0.1:8080/forgot-password" in body
