"""SMS status callbacks: Twilio's request signature and what each status means."""

from __future__ import annotations

from argosy.services.notification.domain.receipts import (
    Receipt,
    twilio_receipt,
    twilio_signature,
    verify_twilio,
)

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
          ("From", "+12349013030"), ("To", "+18005551212")]


def test_the_signature_matches_twilios_published_example() -> None:
    # the example in Twilio's "validating requests" documentation, token "12345"
    assert twilio_signature("12345", URL, PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature("12345", URL, list(reversed(PARAMS))) == (
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")  # field order on the wire does not matter


def test_verification_fails_on_any_change() -> None:
    good = twilio_signature("12345", URL, PARAMS)
    assert verify_twilio("12345", URL, PARAMS, good)
    assert not verify_twilio("12346", URL, PARAMS, good)
    assert not verify_twilio("12345", URL + "&baz=3", PARAMS, good)
    assert not verify_twilio("12345", URL, [*PARAMS[:-1], ("To", "+18005551213")], good)
    assert not verify_twilio("12345", URL, [*PARAMS, ("Extra", "")], good)
    assert not verify_twilio("12345", URL, PARAMS, None)
    assert not verify_twilio("12345", URL, PARAMS, "")
    assert not verify_twilio("", URL, PARAMS, twilio_signature("", URL, PARAMS))


def test_only_final_statuses_change_a_delivery() -> None:
    for progress in ("accepted", "queued", "sending", "sent", "scheduled", ""):
        assert twilio_receipt(progress) is None
    assert twilio_receipt("delivered") == Receipt("delivered")
    assert twilio_receipt("undelivered", "30003") == Receipt(
        "dead", "SMS provider reported undelivered: 30003 unreachable handset")
    assert twilio_receipt("failed", "30999", "Something odd") == Receipt(
        "dead", "SMS provider reported failed: 30999 Something odd")
    assert twilio_receipt("failed") == Receipt("dead", "SMS provider reported failed")
