"""SMS delivery receipts: each SMS asks the (local, Twilio-style) provider for status
callbacks, and signed callbacks move the delivery to delivered, or dead with the carrier's
error; unsigned, mis-signed or replayed-elsewhere callbacks change nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from argosy.services.notification.domain.receipts import twilio_signature
from tests.integration.notification._harness import NotifyHarness, Person
from tests.integration.notification._servers import HttpRecorder, Recorded, json_reply

pytestmark = pytest.mark.integration

TWILIO = "/2010-04-01/Accounts/AC123/Messages.json"
CALLBACKS = "https://hooks.example.com/api/v1/notifications/sms/status"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"sms_status_callback_url": CALLBACKS}


def _form(sid: str, status: str, **extra: str) -> list[tuple[str, str]]:
    return [("AccountSid", "AC123"), ("MessageSid", sid), ("MessageStatus", status),
            ("SmsSid", sid), ("SmsStatus", status), ("To", "+4915112345678"),
            ("From", "+15005550006"), ("ApiVersion", "2010-04-01"), *extra.items()]


async def _callback(h: NotifyHarness, delivery_id: str, form: list[tuple[str, str]], *,
                    token: str = "tok", url: str | None = None,  # noqa: S107 (test token)
                    ) -> httpx.Response:
    """As the provider posts it: form-encoded, signed over the URL it was given."""
    signed = twilio_signature(token, url or f"{CALLBACKS}/{delivery_id}", form)
    return await h.client.post(f"/api/v1/notifications/sms/status/{delivery_id}", data=dict(
        form), headers={"X-Twilio-Signature": signed})


async def _sms(h: NotifyHarness, who: Person) -> dict[str, Any]:
    await h.prefs(who, phone="+4915112345678")
    r = await h.call("POST", "/api/v1/notifications/test", who,
                     json={"channel": "sms", "message": "ping"})
    assert r.status_code == 202, r.text
    [d] = await h.settled(who, 1)
    return d


async def test_each_sms_asks_for_receipts_and_delivered_is_recorded(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    http.script[TWILIO] = lambda _: json_reply(201, {"sid": "SM42", "status": "queued"})
    alice = notify.user()
    d = await _sms(notify, alice)
    [req] = http.at(TWILIO)
    assert req.form()["StatusCallback"] == f"{CALLBACKS}/{d['id']}"
    assert (d["state"], d["delivered_at"]) == ("sent", None)

    r = await _callback(notify, d["id"], _form("SM42", "sent"))
    assert r.status_code == 204, r.text
    [d] = await notify.deliveries(alice)
    assert d["state"] == "sent"  # progress only

    r = await _callback(notify, d["id"], _form("SM42", "delivered"))
    assert r.status_code == 204, r.text
    [d] = await notify.deliveries(alice)
    assert (d["state"], d["reason"]) == ("delivered", None)
    assert d["delivered_at"] is not None
    assert d["delivered_at"] >= d["sent_at"]
    again = await _callback(notify, d["id"], _form("SM42", "delivered"))
    assert again.status_code == 204  # a repeated callback is acknowledged, changes nothing


async def test_undelivered_dead_letters_with_the_carriers_error(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    http.script[TWILIO] = lambda _: json_reply(201, {"sid": "SM43", "status": "queued"})
    alice = notify.user()
    d = await _sms(notify, alice)
    r = await _callback(notify, d["id"], _form("SM43", "undelivered", ErrorCode="30003"))
    assert r.status_code == 204, r.text
    [d] = await notify.deliveries(alice)
    assert (d["state"], d["reason"]) == (
        "dead", "SMS provider reported undelivered: 30003 unreachable handset")
    late = await _callback(notify, d["id"], _form("SM43", "delivered"))
    assert late.status_code == 204
    [d] = await notify.deliveries(alice)
    assert d["state"] == "dead"  # final states do not move again


async def test_forged_or_replayed_callbacks_are_refused(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    http.script[TWILIO] = lambda _: json_reply(201, {"sid": "SM44", "status": "queued"})
    alice = notify.user()
    d = await _sms(notify, alice)
    url = f"/api/v1/notifications/sms/status/{d['id']}"

    unsigned = await notify.client.post(url, data=dict(_form("SM44", "delivered")))
    wrong_key = await _callback(notify, d["id"], _form("SM44", "delivered"), token="nope")
    # a genuine callback for another delivery, replayed against this one
    elsewhere = await _callback(notify, d["id"], _form("SM44", "delivered"),
                                url=f"{CALLBACKS}/dlv_other")
    form = _form("SM44", "delivered")
    signed = twilio_signature("tok", f"{CALLBACKS}/{d['id']}", form)
    tampered = await notify.client.post(url, data=dict(_form("SM44", "undelivered")),
                                        headers={"X-Twilio-Signature": signed})
    for r in (unsigned, wrong_key, elsewhere, tampered):
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
    other_account = [("AccountSid", "AC999"), *form[1:]]
    r = await _callback(notify, d["id"], other_account)
    assert (r.status_code, r.json()["error"]["field"]) == (403, "AccountSid")
    [d] = await notify.deliveries(alice)
    assert d["state"] == "sent"

    unknown = await _callback(notify, "dlv_nosuchthing", _form("SM44", "delivered"))
    assert unknown.status_code == 404, unknown.text


async def test_a_receipt_that_overtakes_our_own_record_of_the_send_wins(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    """The provider calls back before its own API answer reaches us: the send's result,
    recorded afterwards, must not turn `delivered` back into `sent`."""
    loop = asyncio.get_running_loop()

    def accept_and_report(req: Recorded) -> tuple[int, dict[str, str], bytes]:
        delivery_id = req.form()["StatusCallback"].rsplit("/", 1)[1]
        done = asyncio.run_coroutine_threadsafe(
            _callback(notify, delivery_id, _form("SM45", "delivered")), loop)
        assert done.result(timeout=10).status_code == 204
        return json_reply(201, {"sid": "SM45", "status": "queued"})

    http.script[TWILIO] = accept_and_report
    alice = notify.user()
    d = await _sms(notify, alice)
    assert (d["state"], d["attempts"]) == ("delivered", 1)
    await notify.wait_for(lambda: notify.runtime_app_state("dispatcher")._inflight == 0)
    [d] = await notify.deliveries(alice)
    assert d["state"] == "delivered"
    assert len(http.at(TWILIO)) == 1


async def test_a_delivered_receipt_for_a_send_we_counted_as_failed_stops_the_retry(
    notify: NotifyHarness, http: HttpRecorder,
) -> None:
    """The provider accepted the message but its answer was lost (a 503 from a proxy in
    front of it, say): the delivery waits for a retry, and the receipt proves the user
    already has it, so no second SMS is sent."""
    http.script[TWILIO] = lambda _: json_reply(503, {"message": "upstream timed out"})
    alice = notify.user()
    await notify.prefs(alice, phone="+4915112345678")
    r = await notify.call("POST", "/api/v1/notifications/test", alice,
                          json={"channel": "sms", "message": "ping"})
    assert r.status_code == 202
    [first] = await http.wait(TWILIO, 1)
    delivery_id = first.form()["StatusCallback"].rsplit("/", 1)[1]
    r = await _callback(notify, delivery_id, _form("SM46", "delivered"))
    assert r.status_code == 204, r.text
    [d] = await notify.deliveries(alice)
    assert (d["state"], d["reason"]) == ("delivered", None)
