"""Which address a request came from, believing X-Forwarded-For only from our own proxies.

Per-IP lockout and API-key allow-lists are only as good as this: a header any client can
set must not let it choose its own address. The chain is read from the right, skipping
trusted proxies; the first address not ours is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

__all__ = ["client_ip"]


def _trusted(addr: str, nets: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in nets)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    nets = [ipaddress.ip_network(c, strict=False) for c in trusted]
    if peer is None:
        return "unknown"
    if not forwarded_for or not _trusted(peer, nets):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled chain: fall back to what the socket says
        if not _trusted(hop, nets):
            return hop
    return hops[0] if hops else peer
