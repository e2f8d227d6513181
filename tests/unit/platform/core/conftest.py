"""Log capture for the core platform tests: real `configure_logging`, stdout parsed as JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from argosy.platform.logging import configure_logging
from tests.unit.platform.core._capture import ReadLogs


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[ReadLogs]:
    """Configure JSON logging to the captured stdout; the reader returns the new lines.

    Every line must be one JSON object, so a reader call also proves the format.
    """
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("debug", fmt="json", service="testsvc")
    structlog.contextvars.clear_contextvars()

    def read() -> list[dict[str, Any]]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    yield read
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    structlog.reset_defaults()
