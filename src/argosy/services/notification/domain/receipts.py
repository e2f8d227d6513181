"""Delivery receipts from an SMS provider (Twilio's status callbacks and their copies).

Twilio POSTs form fields (MessageSid, MessageStatus, ErrorCode, AccountSid...) to the
`StatusCallback` URL given with each message, signed in `X-Twilio-Signature`:
base64(HMAC-SHA1(auth token, URL + every POST field as name + value, sorted by name)).
The URL is the one *we* gave the provider, rebuilt from settings rather than read from the
request: behind a proxy or the gateway the request's own URL differs, and a signature
over what the attacker chose to send us would prove nothing.

Only final statuses change a delivery: `delivered` (the handset has it) and `failed` /
`undelivered` (the carrier gave up; retrying the same number soon rarely helps and risks a
duplicate, so the delivery is dead-lettered with the provider's error code). `queued`,
`sending`, `sent` and the rest are progress we already know as "sent".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["SIGNATURE_HEADER", "Receipt", "twilio_receipt", "twilio_signature",
           "verify_twilio"]

SIGNATURE_HEADER = "X-Twilio-Signature"

#: what Twilio's error codes on failed/undelivered messages mean, for the common ones
_ERRORS = {
    "30001": "queue overflow", "30002": "account suspended", "30003": "unreachable handset",
    "30004": "message blocked", "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier", "30007": "carrier filtered it as spam",
    "30008": "unknown error", "21610": "recipient unsubscribed (STOP)",
}


@dataclass(frozen=True, slots=True)
class Receipt:
    state: Literal["delivered", "dead"]
    reason: str | None = None


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` a genuine request to `url` with these fields carries.
    Repeated fields are all included, sorted by name and then value."""
    signed = url + "".join(k + v for k, v in sorted(params))
    mac = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def verify_twilio(auth_token: str, url: str, params: Iterable[tuple[str, str]],
                  header: str | None) -> bool:
    if not header or not auth_token:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def twilio_receipt(status: str, error_code: str | None = None,
                   error_message: str | None = None) -> Receipt | None:
    """The change a `MessageStatus` calls for; None for progress that changes nothing."""
    status = status.strip().lower()
    if status in ("delivered", "read"):
        return Receipt("delivered")
    if status in ("failed", "undelivered", "canceled"):
        code = (error_code or "").strip()
        what = error_message or _ERRORS.get(code) or ""
        detail = " ".join(p for p in (code, what) if p)
        return Receipt("dead", f"SMS provider reported {status}" + (
            f": {detail}" if detail else ""))
    return None
