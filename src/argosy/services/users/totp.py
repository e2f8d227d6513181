"""TOTP (RFC 6238) second factor and single-use recovery codes.

A code is accepted once: the time step it matched is remembered, and a code from that step
or an earlier one is refused, so a code read over someone's shoulder cannot be replayed
in the same 30 seconds. Recovery codes carry 79 random bits, so a plain SHA-256 is enough
to store them (no slow hash needed; online guessing is throttled like passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

__all__ = ["RECOVERY_CODES", "hash_recovery_code", "matching_step", "new_recovery_codes",
           "new_secret", "provisioning_uri"]

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def matching_step(secret: str, code: str, now_s: float, after_step: int | None) -> int | None:
    """The time step `code` is valid for (±1 step of drift), if later than `after_step`."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now_s // totp.interval)
    for candidate in (step - 1, step, step + 1):
        if after_step is not None and candidate <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def new_recovery_codes() -> list[str]:
    def one() -> str:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        return "-".join(raw[i:i + 4] for i in range(0, 16, 4))

    return [one() for _ in range(RECOVERY_CODES)]


def hash_recovery_code(code: str) -> str:
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(b"argosy-recovery:" + normal.encode()).hexdigest()
