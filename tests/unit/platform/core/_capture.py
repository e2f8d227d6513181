"""What the `json_logs` fixture (conftest.py) hands a test: a reader of new log lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ReadLogs"]

ReadLogs = Callable[[], list[dict[str, Any]]]
