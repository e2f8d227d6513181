"""A replay venue (`argosy replay`) as a managed child of `argosy run`, like the embedded NATS.

It binds 127.0.0.1 on a free port, serves the given recordings over Binance's protocol,
looping, and is restarted with backoff if it dies; `argosy run` passes its URL to the
market-data service. Only the process is managed here: what a recording is, and how it
is served, belong to venues/replay (which platform/ never imports).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import httpx
import structlog

from argosy.platform.runtime.launchers import die_with_parent
from argosy.platform.runtime.nats_server import free_port

__all__ = ["ReplayProcess"]

log = structlog.get_logger("argosy.replay")


class ReplayProcess:
    def __init__(self, files: Sequence[Path], log_file: Path, *, host: str = "127.0.0.1",
                 port: int = 0, speed: float = 1.0, loop: bool = True) -> None:
        self.files, self.log_file, self.host = list(files), log_file, host
        self.port = port or free_port(host)
        self.speed, self.loop = speed, loop
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "argosy", "replay", *map(str, self.files),
                "--host", self.host, "--port", str(self.port), "--speed", f"{self.speed:g}"]
        return argv + (["--loop"] if self.loop else [])

    async def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if self._log is None:
            self._log = await asyncio.to_thread(open, self.log_file, "ab")
        # Its own session: a Ctrl-C at the terminal is the supervisor's to handle, which
        # stops this child last, after the services that read from it.
        self.process = await asyncio.create_subprocess_exec(
            *self.argv(), stdin=asyncio.subprocess.DEVNULL, stdout=self._log,
            stderr=self._log, start_new_session=True, preexec_fn=die_with_parent,
        )

    async def wait_ready(self, timeout_s: float = 60.0) -> bool:
        """True once `/_replay/status` answers (loading recordings takes a few seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with httpx.AsyncClient(timeout=1.0) as client:
            while asyncio.get_running_loop().time() < deadline:
                if self.process is None or self.process.returncode is not None:
                    return False
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.url}/_replay/status")).status_code == 200:
                        return True
                await asyncio.sleep(0.2)
        return False

    async def keep_alive(self, say: Callable[[str], None]) -> None:
        """Start, announce, and restart after a crash (1 s, 2 s ... 30 s) until stopped."""
        backoff = 1.0
        while not self._stopping:
            await self.start()
            if await self.wait_ready():
                say(f"replay venue on {self.url} ({len(self.files)} recordings, "
                    f"speed {self.speed:g}x, looping)")
                backoff = 1.0
            assert self.process is not None
            code = await self.process.wait()
            if self._stopping:
                return
            say(f"[replay] exited with code {code}; restarting in {backoff:.0f}s "
                f"(see {self.log_file})")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping = True
        proc = self.process
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
