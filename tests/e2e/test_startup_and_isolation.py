"""Start-up failures are one clear line; missing dependencies show in /readyz; data dirs and
deployments (`argosy serve` on PostgreSQL + the machine's NATS) behave as documented."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.platform import PlatformProcess, free_port_base
from tests.support.servers import NATS_URL, POSTGRES_URL, require_server

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ARGOSY_DB_URL", "mysql://root@127.0.0.1/x"),
        ("ARGOSY_BUS_URL", "amqp://guest@127.0.0.1"),
        ("ARGOSY_CACHE_URL", "redis://127.0.0.1:notaport/0"),
        ("ARGOSY_PORT_BASE", "eighty"),
        ("ARGOSY_LOG_LEVEL", "chatty"),
    ],
)
@pytest.mark.parametrize("command", [["serve", "config"], ["run"]])
def test_a_malformed_setting_stops_start_up_with_one_line(
    tmp_path: Path, setting: str, value: str, command: list[str]
) -> None:
    env = {"PATH": "/usr/bin:/bin", "ARGOSY_DATA_DIR": str(tmp_path), setting: value}
    done = subprocess.run([sys.executable, "-m", "argosy", *command], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"argosy: invalid setting {setting}:")
    assert "Traceback" not in done.stderr + done.stdout


def test_an_unreachable_database_shows_in_readyz_not_as_a_traceback(tmp_path: Path) -> None:
    proc = PlatformProcess(
        tmp_path / "var",
        env={"ARGOSY_DB_URL": "postgresql://postgres@127.0.0.1:1/nowhere",
             "ARGOSY_BUS_URL": "memory://"},
        command=[sys.executable, "-m", "argosy", "serve", "config"],
    ).start()
    try:
        base = proc.url("config")
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, proc.log()
                time.sleep(0.3)
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert ready.status_code == 503
        body = ready.json()
        assert body["checks"]["db"]["ok"] is False
        assert body["checks"]["db"]["error"]
        assert body["checks"]["bus"]["ok"] is True
        log = proc.log()
        assert '"event": "dependency.unavailable"' in log
        assert '"dependency": "db"' in log
        assert "Traceback" not in log
    finally:
        proc.stop()


def test_two_platforms_with_different_data_dirs_share_nothing(tmp_path: Path) -> None:
    a = PlatformProcess(tmp_path / "a", services=["config"]).start()
    b = PlatformProcess(tmp_path / "b", services=["config"]).start()
    try:
        a.wait_ready()
        b.wait_ready()
        put = a.request("PUT", "config", "/api/v1/config/documents/config/settings",
                        json={"content": {"log_level": "warning"}})
        assert put.status_code == 201, put.text
        assert b.request("GET", "config", "/api/v1/config/documents/config/settings"
                         ).status_code == 404
        assert (tmp_path / "a" / "instance-id").read_text() != (
            tmp_path / "b" / "instance-id").read_text()
        assert (tmp_path / "a" / "secrets" / "internal.key").read_bytes() != (
            tmp_path / "b" / "secrets" / "internal.key").read_bytes()
        # a token minted from one platform's secret is refused by the other
        forged = b.request("GET", "config", "/api/v1/config/services", headers=a.headers())
        assert forged.status_code == 401
        assert "on data dir" not in a.log() + b.log()
    finally:
        a.stop()
        b.stop()


def test_a_second_platform_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = PlatformProcess(tmp_path / "var", services=["config"]).start()
    try:
        first.wait_ready()
        second = subprocess.run(
            [sys.executable, "-m", "argosy", "run", "--services", "config"],
            env=first.env, capture_output=True, text=True, timeout=60,
        )
        assert second.returncode != 0
        assert "already running on data dir" in second.stderr + second.stdout
    finally:
        first.stop()


def test_deployment_mode_serve_on_postgres_and_the_machines_nats(tmp_path: Path) -> None:
    """Each service alone (`argosy serve`), sharing PostgreSQL and NATS, as on real infra."""
    require_server("PostgreSQL", 5432)
    require_server("NATS", 4222)
    prefix = f"e2e{uuid.uuid4().hex[:8]}_"
    env = {"ARGOSY_DB_URL": POSTGRES_URL, "ARGOSY_DB_SCHEMA_PREFIX": prefix,
           "ARGOSY_BUS_URL": NATS_URL}
    config = PlatformProcess(tmp_path / "var", env=env,
                             command=[sys.executable, "-m", "argosy", "serve", "config"])
    config.start()
    risk = PlatformProcess(tmp_path / "var", env=env,
                           command=[sys.executable, "-m", "argosy", "serve", "risk"])
    risk.port_base = config.port_base  # same platform: risk must find config at base+8
    risk.env["ARGOSY_PORT_BASE"] = str(config.port_base)
    risk.output = tmp_path / "risk.out"
    risk.start()
    try:
        config.wait_ready(services=["config"])
        risk.wait_ready(services=["risk"])
        deadline = time.monotonic() + 15
        while not risk.request("GET", "risk", "/internal/runtime").json()["config"]["registered"]:
            assert time.monotonic() < deadline, risk.log()  # schemas published to config
            time.sleep(0.1)
        put = config.request("PUT", "config", "/api/v1/config/documents/risk/settings",
                             json={"content": {"log_level": "error"}})
        assert put.status_code in (200, 201), put.text
        deadline = time.monotonic() + 15
        while risk.request("GET", "risk", "/internal/runtime").json()[
                "settings"]["log_level"] != "error":
            assert time.monotonic() < deadline, risk.log()
            time.sleep(0.2)
        schemas = asyncio.run(_schemas(prefix))
        assert schemas == [f"{prefix}config", f"{prefix}risk"]
    finally:
        risk.stop()
        config.stop()
        asyncio.run(_drop_schemas(prefix))


async def _schemas(prefix: str) -> list[str]:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = await conn.fetch(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE $1 "
            "ORDER BY 1", f"{prefix}%")
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def _drop_schemas(prefix: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        for name in await _schemas(prefix):
            await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("ARGOSY_CONFIG_MASTER_KEY_FILE", "/nonexistent/config.key", "cannot read"),
        ("ARGOSY_INTERNAL_SECRET_FILE", "/nonexistent/internal.key", "cannot read"),
    ],
)
def test_a_bad_secret_file_stops_serve_and_run_instead_of_crash_looping(
    tmp_path: Path, setting: str, value: str, reason: str
) -> None:
    env = {"PATH": "/usr/bin:/bin", "ARGOSY_DATA_DIR": str(tmp_path / "var"), setting: value,
           "ARGOSY_PORT_BASE": str(free_port_base())}
    serve = subprocess.run([sys.executable, "-m", "argosy", "serve", "config"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert serve.returncode == 2
    assert serve.stderr.strip() == (
        f"argosy: invalid setting {setting}: {reason} {value}: No such file or directory")
    run = subprocess.run([sys.executable, "-m", "argosy", "run", "--services", "config"],
                         env=env, capture_output=True, text=True, timeout=90)
    assert run.returncode == 2
    out = run.stdout + run.stderr
    assert f"[config] argosy: invalid setting {setting}:" in out
    assert "stopping the platform" in out
    assert "restart #" not in out
    assert "Traceback" not in out
