"""Where a user can be reached: email, phone (E.164), Telegram chat, webhook URL.

Checked when preferences are saved, so a bad address is a 422 naming the field instead of
a dead letter days later. Webhook URLs are also screened for private and loopback targets:
the service would otherwise POST, with its own network position, wherever a user points
it (server-side request forgery). The send path re-checks the resolved addresses.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from functools import lru_cache
from urllib.parse import urlsplit

from argosy.kernel.errors import Invalid

__all__ = [
    "check_email",
    "check_locale",
    "check_phone",
    "check_telegram_chat",
    "check_timezone",
    "check_webhook_url",
    "is_public_ip",
    "mask_address",
]

# One @, no spaces, a dot in the domain: deliverability is proved by delivering.
_EMAIL = re.compile(r"^[^@\s\"<>(),;:\\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|\d{3}))?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")


def check_email(value: str, field: str = "email") -> str:
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email.split("@")[1]:
        raise Invalid(f"not a valid email address: {value!r}", field=field)
    local, domain = email.split("@")
    return f"{local}@{domain.lower()}"


def check_phone(value: str, field: str = "phone") -> str:
    """E.164 only (`+4915112345678`): providers route nothing else reliably."""
    phone = value.strip()
    if not _E164.match(phone):
        raise Invalid("phone numbers must be E.164: + country code and number, digits only, "
                      "e.g. +4915112345678", field=field)
    return phone


def check_telegram_chat(value: str, field: str = "telegram_chat_id") -> str:
    chat = value.strip()
    if not _CHAT.match(chat):
        raise Invalid("a Telegram chat id is a number (negative for groups) or @channel",
                      field=field)
    return chat


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str, field: str = "timezone") -> str:
    if name not in _zones():
        raise Invalid(f"unknown IANA time zone {name!r}", field=field)
    return name


def check_locale(tag: str, field: str = "locale") -> str:
    if not _LOCALE.match(tag):
        raise Invalid(f"not a language tag like en or zh-CN: {tag!r}", field=field)
    return tag


def is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


def check_webhook_url(value: str, field: str = "webhook_url", *, allow_private: bool = False,
                      allow_http: bool = False) -> str:
    url = value.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise Invalid(f"malformed URL: {exc}", field=field) from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise Invalid(f"webhook URLs must use {' or '.join(schemes)}", field=field)
    host = parts.hostname or ""
    if not host or parts.username or parts.password or len(url) > 2048:
        raise Invalid("a webhook URL needs a host and no credentials", field=field)
    if allow_private:
        return url
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.match(host) or host == "localhost" or host.endswith(
            (".localhost", ".local", ".internal")
        ) or "." not in host:
            raise Invalid("webhook host must be a public DNS name or address",
                          field=field) from None
        return url
    if not is_public_ip(ip):
        raise Invalid("webhook URLs may not point at private, loopback or link-local "
                      "addresses", field=field)
    return url


def mask_address(channel: str, address: str) -> str:
    """Enough of an address to recognise it in lists, not enough to harvest it."""
    if channel == "email" and "@" in address:
        local, domain = address.split("@", 1)
        return f"{local[:2]}…@{domain}"
    if channel == "sms":
        return f"{address[:3]}…{address[-2:]}"
    if channel in ("webhook", "push"):
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.hostname}/…"
    return address
