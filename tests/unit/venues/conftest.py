"""Most of these tests read ../shared/data; without it they skip (see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _recorded_data(shared_data: Path) -> Path:
    return shared_data
