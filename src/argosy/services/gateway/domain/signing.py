"""Signed API-key requests (contracts/v1/identity.py): what makes one acceptable.

Order matters for safety and cost: the cheap, secret-free checks (headers, window) come
first; the signature is checked before the nonce is recorded, so a stranger cannot burn a
legitimate client's nonces; the grant's expiry and IP allow-list come from the users
service. The nonce store itself (shared by every gateway instance) is the caller's.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from argosy.contracts.v1.identity import (
    API_KEY_HEADER,
    API_NONCE_HEADER,
    API_SIGNATURE_HEADER,
    API_TIMESTAMP_HEADER,
    SIGNATURE_WINDOW_MS,
    ApiKeyGrant,
    sign_request,
)
from argosy.kernel.errors import Unauthorized

__all__ = [
    "NONCE_TTL_S",
    "SIGNED_HEADERS",
    "SignedHeaders",
    "check_grant",
    "check_window",
    "ip_allowed",
    "nonce_key",
    "parse_signed_headers",
    "signature_matches",
]

SIGNED_HEADERS = (API_KEY_HEADER, API_TIMESTAMP_HEADER, API_NONCE_HEADER, API_SIGNATURE_HEADER)
#: a nonce must be remembered as long as its timestamp could still pass the window
NONCE_TTL_S = 2 * SIGNATURE_WINDOW_MS / 1000 + 1
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,15}$")


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    key_id: str
    timestamp_ms: int
    nonce: str
    signature: str


def parse_signed_headers(get: Callable[[str], str | None]) -> SignedHeaders | None:
    """None when the request is not API-key signed; Unauthorized when it is, badly."""
    values = [get(name) for name in SIGNED_HEADERS]
    if all(v is None for v in values):
        return None
    key_id, timestamp, nonce, signature = values
    if key_id is None or timestamp is None or nonce is None or signature is None:
        missing = [n for n, v in zip(SIGNED_HEADERS, values, strict=True) if v is None]
        raise Unauthorized(f"signed request lacks {', '.join(missing)}")
    if not _KEY_ID.match(key_id):
        raise Unauthorized("malformed API key id")
    if not _TIMESTAMP.match(timestamp):
        raise Unauthorized("malformed signature timestamp (milliseconds since the epoch)")
    if not _NONCE.match(nonce):
        raise Unauthorized("malformed nonce: 16-64 of A-Z a-z 0-9 _ -")
    if not _SIGNATURE.match(signature):
        raise Unauthorized("malformed signature: 64 lowercase hex digits")
    return SignedHeaders(key_id, int(timestamp), nonce, signature)


def check_window(timestamp_ms: int, now_ms: int, window_ms: int = SIGNATURE_WINDOW_MS) -> None:
    if abs(now_ms - timestamp_ms) > window_ms:
        raise Unauthorized(f"signature timestamp outside the ±{window_ms // 1000} s window")


def signature_matches(
    secret: str, signed: SignedHeaders, method: str, paths: Iterable[str], query: str,
    body: bytes,
) -> bool:
    """True when the signature covers one spelling of the path (raw, then decoded)."""
    for path in dict.fromkeys(paths):
        expected = sign_request(secret, method, path, query, body, signed.timestamp_ms,
                                signed.nonce)
        if hmac.compare_digest(expected, signed.signature):
            return True
    return False


def ip_allowed(ip: str, cidrs: Iterable[str]) -> bool:
    """An empty allow-list admits everyone; an unparsable address or CIDR admits no one."""
    networks = list(cidrs)
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for cidr in networks:
        try:
            if address in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


def check_grant(grant: ApiKeyGrant, *, ip: str, now_ms: int) -> None:
    if grant.expires_at_ms is not None and now_ms >= grant.expires_at_ms:
        raise Unauthorized("API key expired")
    if not ip_allowed(ip, grant.allowed_ips):
        raise Unauthorized("API key not allowed from this address")


def nonce_key(key_id: str, nonce: str) -> str:
    return f"nonce:{key_id}:{nonce}"
