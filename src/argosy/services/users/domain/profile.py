"""Profile fields, emails, and what a stored secret may show of itself."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from argosy.kernel.errors import Invalid

__all__ = ["check_locale", "check_timezone", "mask_secret", "normalise_email"]

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is proved by
# the verification mail, not by a regex.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|\d{3}))?$")


def normalise_email(email: str, field: str = "email") -> str:
    """Lower-cased and stripped; logins and uniqueness compare this form."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise Invalid("not a valid email address", field=field)
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str, field: str = "timezone") -> str:
    """An IANA zone name such as `Europe/Paris` (or `UTC`)."""
    if name not in _zones():
        raise Invalid(f"unknown IANA time zone {name!r}", field=field)
    return name


def check_locale(tag: str, field: str = "locale") -> str:
    """A BCP 47 language tag of the common shape: `en`, `en-GB`, `zh-Hant-TW`, `es-419`."""
    if not _LOCALE.match(tag):
        raise Invalid(f"not a language tag like en or en-GB: {tag!r}", field=field)
    return tag


def mask_secret(value: str) -> str:
    """First 4 and last 4 characters (fewer for short values): enough to recognise a key."""
    if len(value) <= 8:
        return "…" + value[-2:] if len(value) > 4 else "…"
    return f"{value[:4]}…{value[-4:]}"
