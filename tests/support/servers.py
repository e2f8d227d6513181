"""Where the machine's real servers are, and how to skip clearly when one is down."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

__all__ = [
    "NATS_URL",
    "POSTGRES_URL",
    "REDIS_URL",
    "SHARED_DATA",
    "free_port",
    "reachable",
    "require_server",
]

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
NATS_URL = "nats://127.0.0.1:4222"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(name: str, port: int, host: str = "127.0.0.1") -> None:
    if not reachable(host, port):
        pytest.skip(f"{name} is not reachable at {host}:{port}; start it (see DEVELOPERS.md)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
