"""End-to-end fixtures: the whole platform as real processes, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    """All nine services and an embedded NATS, exactly as `make run` starts them."""
    proc = PlatformProcess(tmp_path_factory.mktemp("platform") / "var").start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def small_platform(tmp_path: Path) -> Iterator[PlatformProcess]:
    """Two services only (config and risk), for tests that stop or break the platform."""
    proc = PlatformProcess(tmp_path / "var", services=["config", "risk"]).start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()
