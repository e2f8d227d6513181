"""`argosy replay` serves recordings from the command line (run here as a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
import typer

from argosy.cli.replay_cmd import parse_speed
from argosy.venues.binance._signing import signed_query
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


def test_accounts_file_opens_the_signed_endpoints(shared_data: object, tmp_path) -> None:  # type: ignore[no-untyped-def]
    accounts = tmp_path / "accounts.json"
    accounts.write_text('[{"name": "desk", "api_key": "k1", "api_secret": "s1", '
                        '"spot": {"USDT": "2500.5"}}]', encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN,
         str(SHARED_DATA / "ws" / "cryptofeed_binance_spot_20211012.jsonl"),
         "--port", str(port), "--speed", "max", "--accounts", str(accounts)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                server_ms = httpx.get(f"{base}/api/v3/time", timeout=1).json()["serverTime"]
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        query = signed_query([("timestamp", str(server_ms))], "s1")
        account = httpx.get(f"{base}/api/v3/account?{query}", headers={"X-MBX-APIKEY": "k1"},
                            timeout=5)
        assert account.status_code == 200, account.text
        usdt = next(b for b in account.json()["balances"] if b["asset"] == "USDT")
        assert usdt["free"].rstrip("0").rstrip(".") == "2500.5"
        forged = signed_query([("timestamp", str(server_ms))], "bad")
        wrong = httpx.get(f"{base}/api/v3/account?{forged}", headers={"X-MBX-APIKEY": "k1"},
                          timeout=5)
        assert wrong.json()["code"] == -1022  # the signature is checked, not just the key
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "trading accounts: desk" in (proc.stdout.read() if proc.stdout else "")


def test_a_bad_accounts_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from argosy.cli.replay_cmd import _accounts

    bad = tmp_path / "a.json"
    bad.write_text('[{"name": "desk"}]', encoding="utf-8")
    with pytest.raises(typer.BadParameter, match=r"accounts\[0\] lacks api_key, api_secret"):
        _accounts(bad)
