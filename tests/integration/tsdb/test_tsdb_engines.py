"""What is particular to each engine: chdb's one-path-per-process rule, cancellation,
and how the server client reports an unreachable server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from argosy.kernel.errors import ConfigurationError, Unavailable
from argosy.platform.tsdb.chdb import ChdbTSDB
from argosy.platform.tsdb.clickhouse import ClickHouseTSDB

pytestmark = pytest.mark.integration


@pytest.fixture
async def pair(chdb_path: Path) -> AsyncIterator[list[ChdbTSDB]]:
    stores = [ChdbTSDB(chdb_path, "engines_a"), ChdbTSDB(chdb_path, "engines_b")]
    for store in stores:
        await store.connect()
    yield stores
    for store in stores:
        await store.command(f"DROP DATABASE IF EXISTS {store.database}")
        await store.close()


async def test_stores_on_one_path_keep_their_own_database(pair: list[ChdbTSDB]) -> None:
    a, b = pair
    await a.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
    await b.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
    await a.insert("t", ["x"], [(1,), (2,)])
    assert (await a.query("SELECT count() FROM t")).rows == [(2,)]
    assert (await b.query("SELECT count() FROM t")).rows == [(0,)]
    assert (await b.query("SELECT count() FROM engines_a.t")).rows == [(2,)]


async def test_a_second_path_in_one_process_is_a_configuration_error(
    pair: list[ChdbTSDB], tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="already open on another path"):
        await ChdbTSDB(tmp_path / "other", "x").connect()


async def test_a_second_process_cannot_open_a_path_in_use(
    pair: list[ChdbTSDB], chdb_path: Path
) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from argosy.kernel.errors import Unavailable\n"
        "from argosy.platform.tsdb.chdb import ChdbTSDB\n"
        "try:\n"
        f"    asyncio.run(ChdbTSDB(Path({str(chdb_path)!r}), 'x').connect())\n"
        "except Unavailable as exc:\n"
        "    print('unavailable:', exc); sys.exit(3)\n"
    )
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "in use by another process" in done.stdout


async def test_cancelled_call_keeps_the_session_until_its_thread_ends(
    pair: list[ChdbTSDB],
) -> None:
    store = pair[0]
    slow = asyncio.create_task(store.query("SELECT sleep(1)"))
    await asyncio.sleep(0.2)
    slow.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert time.monotonic() - started > 0.5  # waited for the thread, holding the lock
    assert (await store.query("SELECT 1")).rows == [(1,)]


async def test_unreachable_server_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = ClickHouseTSDB(f"clickhouse://default@127.0.0.1:{port}/argosy?connect_timeout=2")
    with pytest.raises(Unavailable, match=r"127\.0\.0\.1"):
        await store.connect()
    with pytest.raises(Unavailable, match="not connected"):
        await store.check()
