"""Platform API keys: scopes, IP allow-lists, and the verdict on one signed request.

`verify_signed_request` is the rule the gateway applies (it mirrors this function and adds
nonce replay storage, which needs its cache). Checks run cheapest and least revealing
first; the signature comparison is constant-time.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from argosy.contracts.v1.identity import PERMISSIONS, SIGNATURE_WINDOW_MS, ApiKeyGrant, sign_request
from argosy.kernel.errors import Invalid

__all__ = [
    "SignedRequest",
    "Verdict",
    "check_cidrs",
    "check_scopes",
    "ip_allowed",
    "verify_signed_request",
]

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MAX_CIDRS = 32


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    path: str
    query: str
    body: bytes
    timestamp: str | int  # header value: milliseconds since the epoch
    nonce: str
    signature: str


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason: str  # "ok" or why the request is refused


def check_scopes(scopes: Iterable[str], owner_perms: frozenset[str]) -> list[str]:
    """Scopes must be known permissions the owner holds; returned sorted, de-duplicated."""
    wanted = set(scopes)
    if not wanted:
        raise Invalid("at least one scope is needed", field="scopes")
    unknown = sorted(wanted - set(PERMISSIONS))
    if unknown:
        raise Invalid(f"unknown scopes: {', '.join(unknown)}", field="scopes")
    beyond = sorted(wanted - owner_perms)
    if beyond:
        raise Invalid(f"you do not hold: {', '.join(beyond)}", field="scopes")
    return sorted(wanted)


def check_cidrs(cidrs: Iterable[str]) -> list[str]:
    """Normalised networks (`10.0.0.1` becomes `10.0.0.1/32`); host bits must be zero."""
    out: list[str] = []
    for i, text in enumerate(cidrs):
        try:
            out.append(str(ipaddress.ip_network(text.strip(), strict=True)))
        except ValueError as exc:
            raise Invalid(f"not a network: {exc}", field=f"allowed_ips.{i}") from None
    if len(out) > _MAX_CIDRS:
        raise Invalid(f"at most {_MAX_CIDRS} networks", field="allowed_ips")
    return sorted(set(out))


def ip_allowed(client_ip: str, cidrs: Iterable[str]) -> bool:
    """True when `cidrs` is empty (any address) or one of them contains `client_ip`."""
    nets = list(cidrs)
    if not nets:
        return True
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n, strict=False) for n in nets)


def verify_signed_request(
    grant: ApiKeyGrant, req: SignedRequest, *, now_ms: int, client_ip: str
) -> Verdict:
    """Accept or refuse one request signed with `grant`'s secret (nonce reuse not checked)."""
    if grant.expires_at_ms is not None and now_ms >= grant.expires_at_ms:
        return Verdict(False, "key_expired")
    if not ip_allowed(client_ip, grant.allowed_ips):
        return Verdict(False, "ip_not_allowed")
    try:
        ts = int(req.timestamp)
    except (TypeError, ValueError):
        return Verdict(False, "bad_timestamp")
    if abs(now_ms - ts) > SIGNATURE_WINDOW_MS:
        return Verdict(False, "outside_window")
    if not _NONCE.match(req.nonce):
        return Verdict(False, "bad_nonce")
    if not _HEX64.match(req.signature):
        return Verdict(False, "bad_signature")
    expected = sign_request(grant.secret, req.method, req.path, req.query, req.body, ts, req.nonce)
    if not hmac.compare_digest(expected, req.signature):
        return Verdict(False, "bad_signature")
    return Verdict(True, "ok")
