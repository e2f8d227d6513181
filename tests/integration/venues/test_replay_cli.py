"""`argosy replay` serves recordings from the command line (run here as a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
import typer

from argosy.cli.replay_cmd import parse_speed
from tests.support.servers import SHARED_DATA, free_port

pytestmark = pytest.mark.integration

_RUN = (
    "import typer, sys; from argosy.cli.replay_cmd import replay; "
    "app = typer.Typer(); app.command()(replay); sys.argv[0] = 'replay'; app()"
)


def test_speed_parsing() -> None:
    assert parse_speed("max") is None
    assert parse_speed("10") == 10.0
    with pytest.raises(typer.BadParameter):
        parse_speed("fast")


def test_replay_command_serves_the_files(shared_data: object) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN,
         str(SHARED_DATA / "ws" / "cryptofeed_binance_spot_20211012.jsonl"),
         str(SHARED_DATA / "book" / "cryptofeed_binance_spot_rest_depth_snapshots.jsonl"),
         "--port", str(port), "--speed", "max"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/_replay/status", timeout=1).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status["events"] == 265 + 4  # frames + REST snapshots of that recording
        depth = httpx.get(f"http://127.0.0.1:{port}/api/v3/depth",
                          params={"symbol": "NKNUSDT", "limit": 5}, timeout=5).json()
        assert depth["lastUpdateId"] >= 499869752
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.stdout is not None
    output = proc.stdout.read()
    assert "argosy replay" in output
    assert "NKNUSDT" in output
