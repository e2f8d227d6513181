"""Password policy (NIST SP 800-63B): length and a deny-list, no composition rules.

Composition rules ("one digit, one symbol") push people to predictable patterns; length and
refusing the passwords every attacker tries first do more. The upper bound keeps one login
request from costing the server an unbounded amount of hashing.
"""

from __future__ import annotations

from argosy.kernel.errors import Invalid

__all__ = ["check_password"]

# Checked case-insensitively; the few that survive a 12-character minimum are what matter.
_COMMON = frozenset({
    "password1234", "123456789012", "qwertyuiopas", "passwordpassword", "iloveyou1234",
    "letmein12345", "administrator", "welcome12345", "qwerty123456", "1q2w3e4r5t6y",
    "password123!", "changeme1234", "trustno1trustno1", "abcdefghijkl", "aaaaaaaaaaaa",
    "correcthorsebatterystaple", "monkeymonkey", "dragondragon", "football1234",
    "baseball1234", "superman1234", "sunshine1234", "princess1234", "qazwsxedcrfv",
    "zaq12wsxcde3", "1234567890ab", "bitcoin12345", "cryptocrypto", "argosyargosy",
})


def check_password(
    password: str, *, email: str = "", min_length: int = 12, max_length: int = 128,
    field: str = "password",
) -> None:
    """Raise `Invalid(field=...)` with the first rule `password` breaks."""
    if len(password) < min_length:
        raise Invalid(f"password must be at least {min_length} characters", field=field)
    if len(password) > max_length:
        raise Invalid(f"password must be at most {max_length} characters", field=field)
    if not password.strip():
        raise Invalid("password cannot be only spaces", field=field)
    if len(set(password)) < 4:
        raise Invalid("password needs at least 4 different characters", field=field)
    lowered = password.lower()
    if lowered in _COMMON or _is_sequence(lowered):
        raise Invalid("password is too common; choose another", field=field)
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        raise Invalid("password must not contain your email address", field=field)


_RUNS = tuple(r * 4 for r in ("0123456789", "abcdefghijklmnopqrstuvwxyz",
                               "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn"))


def _is_sequence(text: str) -> bool:
    """Runs along the alphabet, the digits or the keyboard ('123456789012', 'qwertyuiop...')."""
    return any(text in run or text in run[::-1] for run in _RUNS)
