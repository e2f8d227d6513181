"""Stores for the shared time-series suite, one per way of running ClickHouse SQL here.

- "chdb": ChdbTSDB, the embedded engine.
- "clickhouse-connect": ClickHouseTSDB with clickhouse-connect's own in-process chdb
  backend in place of the HTTP client. It runs our clickhouse.py code and clickhouse-connect's
  parameter binding, Native insert encoder and result decoder against a real engine; only
  the HTTP transport and the async wrapper are left out.
- "clickhouse-server": ClickHouseTSDB over HTTP to a `clickhouse-server` binary started
  here on an ephemeral port. Skipped when no binary is installed, or when it is too old
  for clickhouse-connect (Debian bookworm ships 18.16, refused while connecting).

chdb hosts one engine per process on one path, so every store in the test run shares
the session-scoped `chdb_path`; each test gets its own database.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

from argosy.platform.tsdb.base import TimeSeriesDB
from argosy.platform.tsdb.chdb import ChdbTSDB
from argosy.platform.tsdb.clickhouse import ClickHouseTSDB

BACKENDS = ["chdb", "clickhouse-connect", "clickhouse-server"]

_SERVER_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{dir}/server.log</log><errorlog>{dir}/err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
"""
_SERVER_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"""


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb") / "tsdb"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_command(config: Path) -> list[str] | None:
    if binary := shutil.which("clickhouse-server"):
        return [binary, f"--config-file={config}"]
    if binary := shutil.which("clickhouse"):
        return [binary, "server", f"--config-file={config}"]
    return None


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(url, version) of a clickhouse-server started for this test run."""
    work = tmp_path_factory.mktemp("clickhouse-server")
    command = _server_command(work / "config.xml")
    if command is None:
        pytest.skip("no clickhouse-server binary installed (apt-get install clickhouse-server)")
    http = _free_port()
    (work / "config.xml").write_text(_SERVER_CONFIG.format(dir=work, http=http, tcp=_free_port()))
    (work / "users.xml").write_text(_SERVER_USERS)
    with (work / "stdout.log").open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    try:
        base = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"{base}/?query=SELECT%20version()"  # our own server, plain http
                with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
                    version = r.read().decode().strip()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (work / "stdout.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"clickhouse-server did not start: {log}")
                time.sleep(0.2)
        yield f"clickhouse://default@127.0.0.1:{http}", version
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _ThreadedChdbClient:
    """clickhouse-connect's synchronous chdb client behind the async client's methods."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def database(self) -> str | None:
        db: str | None = self._client.database
        return db

    @database.setter
    def database(self, value: str | None) -> None:
        self._client.database = value

    async def command(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._client.command, *args, **kwargs)

    async def query(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._client.query, *args, **kwargs)

    async def insert(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._client.insert, *args, **kwargs)

    async def close(self) -> None:
        self._client.close()


class ClickHouseOnChdb(ClickHouseTSDB):
    """ClickHouseTSDB whose client runs on the in-process engine instead of HTTP."""

    def __init__(self, path: Path, database: str) -> None:
        super().__init__("clickhouse://default@127.0.0.1:8123", database=database)
        self.path = path

    async def _open_client(self) -> Any:
        self.path.mkdir(parents=True, exist_ok=True)
        client = await asyncio.to_thread(
            clickhouse_connect.get_client, interface="chdb", path=str(self.path)
        )
        return _ThreadedChdbClient(client)


@pytest.fixture(scope="session")
def clickhouse_server_url(clickhouse_server: tuple[str, str]) -> str:
    """The server's URL once clickhouse-connect has shown it can talk to it."""
    url, version = clickhouse_server
    port = int(url.rsplit(":", 1)[1])
    try:
        clickhouse_connect.get_client(host="127.0.0.1", port=port).close()
    except Exception as exc:
        if int(version.split(".")[0]) < 20:
            pytest.skip(f"clickhouse-server {version} is too old for clickhouse-connect: {exc}")
        raise
    return url


@pytest.fixture(params=BACKENDS)
async def tsdb(request: pytest.FixtureRequest, chdb_path: Path) -> AsyncIterator[TimeSeriesDB]:
    """A connected store on a fresh database, dropped afterwards."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    store: TimeSeriesDB
    if request.param == "chdb":
        store = ChdbTSDB(chdb_path, database)
        await store.connect()
    elif request.param == "clickhouse-connect":
        store = ClickHouseOnChdb(chdb_path, database)
        await store.connect()
    else:
        store = ClickHouseTSDB(request.getfixturevalue("clickhouse_server_url"), database=database)
        await store.connect()
    try:
        yield store
    finally:
        try:
            await store.command(f"DROP DATABASE IF EXISTS `{database}`")
        finally:
            await store.close()
