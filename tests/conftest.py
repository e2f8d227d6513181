"""Fixtures every test directory may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from argosy.platform.settings import PlatformSettings
from tests.support.servers import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared recorded data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def platform_settings(tmp_path: Path) -> PlatformSettings:
    """Embedded defaults in a private data dir: SQLite, in-memory bus and cache, chdb, files."""
    return PlatformSettings(data_dir=tmp_path / "var", bus_url="memory://")
