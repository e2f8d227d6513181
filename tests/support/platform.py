"""Start Argosy as real processes (`argosy run` / `argosy serve`) and talk to them."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from argosy.contracts import headers as h
from argosy.contracts.services import SERVICES, service_info
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret

__all__ = ["PlatformProcess", "free_port_base"]

OPERATOR = frozenset({"config:*", "ops:read"})


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_base() -> int:
    """A base with nine consecutive free ports (the platform's 8080..8088 shifted)."""
    for _ in range(200):
        base = random.randrange(20000, 40000, 10)
        if all(_port_free(base + i) for i in range(len(SERVICES))):
            return base
    raise RuntimeError("no nine consecutive free ports found")


class PlatformProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        services: list[str] | None = None,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port_base = free_port_base()
        self.services = services or [s.name for s in SERVICES]
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("ARGOSY_")}
        self.env = {
            **inherited,
            "ARGOSY_DATA_DIR": str(data_dir),
            "ARGOSY_PORT_BASE": str(self.port_base),
            **(env or {}),
        }
        self.command = command or [sys.executable, "-m", "argosy", "run",
                                   "--services", ",".join(self.services)]
        self.output = data_dir.parent / f"{data_dir.name}.out"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PlatformProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.output, "wb")  # noqa: SIM115 (closed by the child's exit)
        self.proc = subprocess.Popen(
            self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        return self

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port_base + service_info(service).port_offset}"

    def wait_ready(self, timeout_s: float = 180.0, services: list[str] | None = None) -> float:
        started = time.monotonic()
        pending = set(services or self.services)
        while pending:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"platform exited with {self.proc.returncode}:\n{self.log()}")
            for name in list(pending):
                try:
                    if httpx.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200:
                        pending.discard(name)
                except httpx.TransportError:
                    pass
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"not ready after {timeout_s}s: {sorted(pending)}\n{self.log()}")
            if pending:
                time.sleep(0.3)
        return time.monotonic() - started

    def log(self) -> str:
        return self.output.read_text(errors="replace")[-4000:] if self.output.exists() else ""

    def service_log(self, service: str) -> str:
        path = self.data_dir / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def token(self, permissions: frozenset[str] = OPERATOR, subject: str = "operator:test") -> str:
        auth = InternalAuth(read_secret(self.data_dir / "secrets" / "internal.key"))
        return auth.mint(Principal(subject, permissions))

    def headers(self, permissions: frozenset[str] = OPERATOR) -> dict[str, str]:
        return {h.IDENTITY: self.token(permissions)}

    def request(self, method: str, service: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers(), **kw.pop("headers", {})}
        url = f"{self.url(service)}{path}"
        return httpx.request(method, url, headers=headers, timeout=10, **kw)

    def service_pid(self, service: str) -> int:
        assert self.proc is not None
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:  # a child killed a moment ago is a zombie until the supervisor reaps it
                cmdline = child.cmdline()
            except psutil.Error:
                continue
            # forked services are titled "argosy serve <name>" (one argv string)
            if " ".join(filter(None, cmdline)).endswith(f"serve {service}"):
                return child.pid
        raise LookupError(f"no process for {service}")

    def descendants(self) -> list[int]:
        assert self.proc is not None
        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout_s: float = 40.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise
