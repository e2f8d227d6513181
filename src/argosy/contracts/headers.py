"""HTTP and bus header names that carry identity and tracing across processes."""

from __future__ import annotations

__all__ = [
    "CORRELATION_ID",
    "IDENTITY",
    "MESSAGE_ID",
    "REQUEST_ID",
    "SOURCE_SERVICE",
]

REQUEST_ID = "x-request-id"
CORRELATION_ID = "x-correlation-id"
# A signed internal token naming the caller (service or gateway-verified user).
IDENTITY = "x-argosy-identity"
MESSAGE_ID = "x-message-id"
SOURCE_SERVICE = "x-argosy-source"
