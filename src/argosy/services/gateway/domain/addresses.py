"""Who the client is on the network, when the gateway may sit behind a load balancer.

Why it matters: the per-IP bucket and the API-key allow-list key on this address. An
`X-Forwarded-For` header is trusted only from configured proxies, and then read from the
right (the hops we trust appended their peer) to the first address we do not trust, so a
client cannot pick its own address by sending the header itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

__all__ = ["Networks", "client_address", "parse_networks"]

Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def parse_networks(cidrs: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def _trusted(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Networks) -> str:
    """The client's address: the peer, or the nearest untrusted hop behind trusted proxies."""
    address = peer or "unknown"
    if not forwarded_for or not trusted or not _trusted(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a garbled chain: keep the last address we know is real
        address = hop
        if not _trusted(hop, trusted):
            break
    return address
