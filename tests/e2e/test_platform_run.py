"""`argosy run`: nine processes, health, metrics, docs, live config, restarts, shutdown."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from argosy.contracts.services import SERVICES
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e


def _wait(predicate, timeout_s: float = 15.0, step: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout_s}s")


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_every_service_is_healthy_ready_and_documented(
    platform: PlatformProcess, service: str
) -> None:
    base = platform.url(service)
    health = httpx.get(f"{base}/healthz").json()
    assert health["status"] == "ok"
    assert health["service"] == service
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["bus"]["ok"]
    assert checks["db"]["ok"]
    spec = httpx.get(f"{base}/openapi.json").json()
    assert spec["info"]["title"].startswith("Argosy")
    assert "/readyz" in spec["paths"]
    metrics = httpx.get(f"{base}/metrics").text
    names = {f.name for f in text_string_to_metric_families(metrics)}
    assert {"argosy_http_requests", "process_resident_memory_bytes"} <= names


def test_services_use_the_embedded_nats_not_the_machines(platform: PlatformProcess) -> None:
    nats_log = (platform.data_dir / "logs" / "nats.log").read_text()
    assert "Listening for client connections on 127.0.0.1:" in nats_log
    assert "127.0.0.1:4222" not in nats_log
    assert (platform.data_dir / "nats" / "jetstream").is_dir()


def test_log_level_change_reaches_a_running_service_without_restart(
    platform: PlatformProcess,
) -> None:
    pid = platform.service_pid("risk")
    before = platform.request("GET", "risk", "/internal/runtime").json()
    assert before["settings"]["log_level"] == "info"

    put = platform.request("PUT", "config", "/api/v1/config/documents/risk/settings",
                           json={"content": {"log_level": "debug"}, "comment": "e2e"})
    assert put.status_code in (200, 201), put.text
    version = put.json()["version"]

    def applied() -> bool:
        state = platform.request("GET", "risk", "/internal/runtime").json()
        return bool(state["settings"]["log_level"] == "debug"
                    and state["config"]["versions"].get("settings") == version)

    _wait(applied, timeout_s=10)
    metrics = httpx.get(f"{platform.url('risk')}/metrics").text
    assert f'argosy_config_version{{namespace="settings",service="risk"}} {version}.0' in metrics
    httpx.get(f"{platform.url('risk')}/healthz")  # logged at debug level
    _wait(lambda: '"level": "debug"' in platform.service_log("risk"), timeout_s=5)
    assert platform.service_pid("risk") == pid, "the service must not have restarted"

    # and back, so other tests see the default
    platform.request("PUT", "config", "/api/v1/config/documents/risk/settings",
                     json={"content": {"log_level": "info"}})
    _wait(lambda: platform.request("GET", "risk", "/internal/runtime").json()
          ["settings"]["log_level"] == "info", timeout_s=10)


def test_invalid_config_is_rejected_and_changes_nothing(platform: PlatformProcess) -> None:
    path = "/api/v1/config/documents/trading/settings"
    bad = platform.request("PUT", "config", path, json={"content": {"log_level": "loud"}})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "content.log_level"
    assert platform.request("GET", "config", path).status_code == 404
    state = platform.request("GET", "trading", "/internal/runtime").json()
    assert state["settings"]["log_level"] == "info"


def test_a_killed_service_is_restarted(platform: PlatformProcess) -> None:
    old = platform.service_pid("notification")
    os.kill(old, signal.SIGKILL)
    new = _wait(lambda: _pid_or_none(platform, "notification", old), timeout_s=20)
    assert new != old
    platform.wait_ready(services=["notification"], timeout_s=60)
    assert "notification] exited with code -9" in platform.log()


def _pid_or_none(platform: PlatformProcess, service: str, old: int) -> int | None:
    try:
        pid = platform.service_pid(service)
    except (LookupError, psutil.NoSuchProcess):
        return None
    return pid if pid != old else None


def test_sigterm_stops_everything_cleanly(small_platform: PlatformProcess) -> None:
    children = small_platform.descendants()
    assert len(children) >= 3  # nats + config + risk
    code = small_platform.stop(timeout_s=40)
    assert code == 0
    assert not [p for p in children if psutil.pid_exists(p)
                and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert "stopped" in small_platform.log()


def test_no_fork_mode_starts_each_service_in_a_fresh_interpreter(tmp_path: Path) -> None:
    proc = PlatformProcess(tmp_path / "var", services=["config", "risk"])
    proc.command.append("--no-fork")
    proc.start()
    try:
        proc.wait_ready()
        pid = proc.service_pid("risk")
        cmd = psutil.Process(pid).cmdline()
        assert cmd[-3:] == ["argosy", "serve", "risk"] or cmd[-2:] == ["serve", "risk"]
        assert psutil.Process(pid).ppid() == proc.proc.pid  # type: ignore[union-attr]
    finally:
        assert proc.stop() == 0


def test_a_killed_fork_server_is_replaced_and_services_come_back(
    small_platform: PlatformProcess,
) -> None:
    old = small_platform.service_pid("risk")
    zygote = psutil.Process(old).ppid()
    assert "zygote" in " ".join(psutil.Process(zygote).cmdline())
    os.kill(zygote, signal.SIGKILL)
    new = _wait(lambda: _pid_or_none(small_platform, "risk", old), timeout_s=30)
    assert psutil.Process(new).ppid() != zygote
    small_platform.wait_ready(timeout_s=60)
