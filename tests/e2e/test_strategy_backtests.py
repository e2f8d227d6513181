"""End to end through real processes (config and strategy, as `argosy run` starts them):
backtests run in worker processes of the served strategy service and are read back; a
plugin dropped into the strategies directory is listed without a restart; a plugin that
kills its own worker process fails its run while the service (same pid) keeps serving."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from tests.support.platform import PlatformProcess
from tests.support.servers import SHARED_DATA

pytestmark = pytest.mark.e2e

WAIT_S = 120.0  # two shared cores, worker processes spawned on demand
SMA = {"strategy": "sma_crossover", "params": {"fast": 10, "slow": 30},
       "instruments": ["BTC-USD.ftx"]}
PLUGIN = '''
import os
from argosy.services.strategy.domain.strategy import Strategy


class Hotload(Strategy):
    """Arrived while the service was running."""


class Suicidal(Strategy):
    """Ends its worker process on the first bar."""

    def on_bar(self, bar) -> None:
        os._exit(7)
'''


@pytest.fixture
def strategy_platform(tmp_path: Path) -> Iterator[tuple[PlatformProcess, Path]]:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    proc = PlatformProcess(tmp_path / "var", services=["config", "strategy"], env={
        "ARGOSY_STRATEGY_DATA_DIR": str(SHARED_DATA),
        "ARGOSY_STRATEGY_STRATEGIES_DIR": str(plugins)}).start()
    try:
        proc.wait_ready()
        yield proc, plugins
    finally:
        proc.stop()


def _call(p: PlatformProcess, method: str, path: str, **kw: Any) -> httpx.Response:
    auth = InternalAuth(read_secret(p.data_dir / "secrets" / "internal.key"))
    headers = {h.IDENTITY: auth.mint(Principal("operator:e2e", frozenset({"strategy:*"})))}
    return httpx.request(method, f"{p.url('strategy')}{path}", headers=headers, timeout=30,
                         **kw)


def _until(cond: Callable[[], Any], within_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"not true within {within_s} s")


def _finished(p: PlatformProcess, backtest_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        doc: dict[str, Any] = _call(p, "GET", f"/api/v1/backtests/{backtest_id}").json()
        return doc if doc["status"] in ("completed", "failed") else None

    result: dict[str, Any] = _until(done)
    return result


def test_backtests_and_plugins_in_the_served_service(
        strategy_platform: tuple[PlatformProcess, Path]) -> None:
    p, plugins = strategy_platform
    pid = p.service_pid("strategy")
    created = _call(p, "POST", "/api/v1/backtests", json=SMA)
    assert created.status_code == 202, created.text
    doc = _finished(p, created.json()["id"])
    assert doc["status"] == "completed", doc["error"]
    assert doc["trades_count"] == 945
    assert round(float(doc["final_equity"]), 2) == 9374.42

    (plugins / "late.py").write_text(PLUGIN)

    def listed() -> bool:
        names = {s["name"] for s in _call(p, "GET", "/api/v1/strategies").json()["items"]}
        return {"hotload", "suicidal"} <= names

    _until(listed, 30)
    dying = _call(p, "POST", "/api/v1/backtests", json={**SMA, "strategy": "suicidal",
                                                         "params": {}})
    doc = _finished(p, dying.json()["id"])
    assert doc["status"] == "failed"
    assert "worker process died" in doc["error"]
    after = _call(p, "POST", "/api/v1/backtests", json={**SMA, "end": "2022-01-02T00:00:00Z"})
    assert _finished(p, after.json()["id"])["status"] == "completed"
    assert p.service_pid("strategy") == pid
