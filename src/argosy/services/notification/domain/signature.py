"""Webhook signatures: `X-Argosy-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>`.

The timestamp is inside the signed string so a captured request cannot be replayed later
with a fresh header; receivers reject signatures older than a tolerance (five minutes by
default) and compare in constant time. `v1` names the scheme, so a future scheme can be
sent alongside during a migration.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Argosy-Signature"
TIMESTAMP_HEADER = "X-Argosy-Timestamp"


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: bytes, body: bytes, header: str, now_s: int, tolerance_s: int = 300) -> bool:
    """True when `header` signs `body` with `secret` within `tolerance_s` of `now_s`."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now_s - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, sig) for sig in fields.get("v1", []))
