"""`argosy run`: one embedded NATS and nine service processes, kept alive until Ctrl-C.

Each service runs the same code as `argosy serve <name>` (a deployment's process), started
by a launcher (launchers.py): forked from a pre-loaded fork server by default, or a fresh
interpreter each. Its output goes to <data_dir>/logs/<name>.log; warnings and errors are
echoed to the console.
A service that exits is restarted with exponential backoff (reset after a minute of health).
SIGINT/SIGTERM stop every child gracefully (SIGKILL after a timeout) and then NATS. Children
get SIGTERM if the supervisor itself dies (PR_SET_PDEATHSIG), so nothing is left orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

from argosy.platform.runtime.launchers import CONFIGURATION_EXIT_CODE, Launched, Launcher
from argosy.platform.runtime.nats_server import EmbeddedNats

__all__ = ["ChildSpec", "Supervisor", "python_argv"]

_STABLE_S = 60.0
_MAX_BACKOFF_S = 30.0


@dataclass
class ChildSpec:
    name: str
    url: str  # where /readyz answers


@dataclass
class _Child:
    spec: ChildSpec
    process: Launched | None = None
    started: float = 0.0
    restarts: int = 0
    log: IO[bytes] | None = None


class Supervisor:
    def __init__(
        self,
        children: list[ChildSpec],
        *,
        data_dir: Path,
        launcher: Launcher,
        say: Callable[[str], None],
        embedded_nats: EmbeddedNats | None = None,
        stop_timeout_s: float = 15.0,
    ) -> None:
        self._children = {c.name: _Child(c) for c in children}
        self._data_dir, self._launcher, self._say = data_dir, launcher, say
        self._nats = embedded_nats
        self._stop_timeout_s = stop_timeout_s
        self._stopping = asyncio.Event()
        self._lock_file: IO[str] | None = None
        self.ready_after_s: float | None = None
        self.exit_code = 0

    def _lock(self) -> None:
        path = self._data_dir / "run.lock"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_file = open(path, "a+")  # noqa: SIM115 (held for the process lifetime)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"argosy: another platform is already running on data dir {self._data_dir}"
            ) from None

    async def run(self) -> int:
        self._lock()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopping.set)
        started = time.monotonic()
        tasks: list[asyncio.Task[Any]] = []
        try:
            if self._nats is not None:
                await self._nats.start()
                self._say(f"embedded NATS JetStream on {self._nats.url}")
                tasks.append(asyncio.create_task(self._watch_nats()))
            await self._launcher.start()
            for child in self._children.values():
                tasks.append(asyncio.create_task(self._keep_alive(child)))
            tasks.append(asyncio.create_task(self._announce_ready(started)))
            await self._stopping.wait()
            self._say("stopping...")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(self._stop(c) for c in self._children.values()))
            await self._launcher.close()
            if self._nats is not None:
                await self._nats.stop()
            self._say("stopped")
        return self.exit_code

    async def _keep_alive(self, child: _Child) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            code = await self._run_once(child)
            if self._stopping.is_set():
                return
            if code == CONFIGURATION_EXIT_CODE:
                self._say(f"[{child.spec.name}] stopped on a configuration error (above); "
                          "stopping the platform")
                self.exit_code = CONFIGURATION_EXIT_CODE
                self._stopping.set()
                return
            if time.monotonic() - child.started > _STABLE_S:
                backoff = 1.0
            child.restarts += 1
            self._say(f"[{child.spec.name}] exited with code {code}; restarting in {backoff:.0f}s"
                      f" (restart #{child.restarts})")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._stopping.wait()
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    async def _run_once(self, child: _Child) -> int:
        logs = self._data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if child.log is None:
            child.log = await asyncio.to_thread(open, logs / f"{child.spec.name}.log", "ab")
        child.process = await self._launcher.spawn(child.spec.name)
        child.started = time.monotonic()
        async for line in child.process.output:
            child.log.write(line)
            child.log.flush()
            self._echo(child.spec.name, line)
        return await child.process.wait()

    def _echo(self, name: str, line: bytes) -> None:
        try:
            event = orjson.loads(line)
            level = str(event.get("level", "info"))
        except (orjson.JSONDecodeError, AttributeError):
            text = line.decode(errors="replace").rstrip()
            if text:
                self._say(f"[{name}] {text}")
            return
        if level in ("warning", "error", "critical"):
            extra = {k: v for k, v in event.items()
                     if k not in ("event", "level", "timestamp", "logger", "service")}
            self._say(f"[{name}] {level}: {event.get('event')} {orjson.dumps(extra).decode()}")

    async def _stop(self, child: _Child) -> None:
        proc = child.process
        if proc is not None and proc.running:
            proc.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self._stop_timeout_s)
            except TimeoutError:
                self._say(f"[{child.spec.name}] did not stop in time; killing")
                proc.signal(signal.SIGKILL)
                await proc.wait()
        if child.log is not None:
            child.log.close()
            child.log = None

    async def _watch_nats(self) -> None:
        assert self._nats is not None
        backoff = 1.0
        while not self._stopping.is_set():
            code = await self._nats.wait()
            if self._stopping.is_set():
                return
            self._say(f"[nats] exited with code {code}; restarting in {backoff:.0f}s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
            with contextlib.suppress(Exception):
                await self._nats.start()

    async def _announce_ready(self, started: float) -> None:
        pending = {c.spec.name: c.spec.url for c in self._children.values()}
        async with httpx.AsyncClient(timeout=2.0) as client:
            while pending:
                for name, url in list(pending.items()):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(f"{url}/readyz")).status_code == 200:
                            del pending[name]
                if pending:
                    await asyncio.sleep(0.25)
        self.ready_after_s = time.monotonic() - started
        self._say(f"all {len(self._children)} services ready in {self.ready_after_s:.1f}s")


def python_argv(service: str) -> list[str]:
    """How a fresh interpreter runs one service (SubprocessLauncher)."""
    return [sys.executable, "-m", "argosy", "serve", service]
