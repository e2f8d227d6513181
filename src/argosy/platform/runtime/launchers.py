"""How the supervisor starts a service process: a fresh interpreter, or a fork of a
pre-loaded one.

`SubprocessLauncher` runs `python -m argosy serve <name>` for each service: simple, and
what a deployment does. `ForkLauncher` asks a fork server (a "zygote" that imported the
platform once) to fork each service: nine services then pay for one interpreter start and
one import of FastAPI/SQLAlchemy/pydantic instead of nine, start in a fraction of the
time, and share those pages until written. Both hand back the same `Launched` handle.

Fork-server protocol, one line per message over a Unix socket pair:
  supervisor → server: `spawn <name>` with the write end of the child's output pipe
                       attached (SCM_RIGHTS)
  server → supervisor: `ready`, `pid <name> <pid>`, `exit <pid> <code>`
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Protocol

__all__ = [
    "CONFIGURATION_EXIT_CODE",
    "ForkLauncher",
    "Launched",
    "Launcher",
    "SubprocessLauncher",
    "die_with_parent",
]

_PR_SET_PDEATHSIG = 1
#: a service that exits with this code stopped on a setting: restarting cannot help
CONFIGURATION_EXIT_CODE = 2


def die_with_parent() -> None:
    """Ask the kernel to SIGTERM this process when its parent dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Launched:
    """A running service process: its pid, its output, and its exit code when it ends."""

    def __init__(self, pid: int, output: asyncio.StreamReader, exit_code: asyncio.Future[int]):
        self.pid, self.output, self._exit = pid, output, exit_code

    @property
    def running(self) -> bool:
        return not self._exit.done()

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    def signal(self, sig: int) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


class Launcher(Protocol):
    async def start(self) -> None: ...

    async def spawn(self, name: str) -> Launched: ...

    async def close(self) -> None: ...


class SubprocessLauncher:
    def __init__(self, argv: Callable[[str], Sequence[str]], env: dict[str, str]) -> None:
        self._argv, self._env = argv, env

    async def start(self) -> None:
        return None

    async def spawn(self, name: str) -> Launched:
        proc = await asyncio.create_subprocess_exec(
            *self._argv(name), env=self._env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        assert proc.stdout is not None
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(proc.wait())
        task.add_done_callback(lambda t: done.set_result(t.result()) if not done.done() else None)
        return Launched(proc.pid, proc.stdout, done)

    async def close(self) -> None:
        return None


class ForkLauncher:
    """Client of the fork server (see the module docstring)."""

    def __init__(
        self, server_argv: Sequence[str], env: dict[str, str], log_path: Path,
        *, ready_timeout_s: float = 120.0,
    ) -> None:
        self._server_argv, self._env, self._log_path = list(server_argv), env, log_path
        self._ready_timeout_s = ready_timeout_s
        self._sock: socket.socket | None = None
        self._server: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready: asyncio.Event = asyncio.Event()
        self._pids: asyncio.Queue[int] = asyncio.Queue()
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._lock = asyncio.Lock()
        self._log: IO[bytes] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if self._log is None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = await asyncio.to_thread(open, self._log_path, "ab")
        self._ready = asyncio.Event()
        self._server = await asyncio.create_subprocess_exec(
            *self._server_argv, str(theirs.fileno()), env=self._env,
            stdin=asyncio.subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            pass_fds=(theirs.fileno(),), preexec_fn=die_with_parent,
        )
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._reader = loop.create_task(self._read(ours))
        try:
            async with asyncio.timeout(self._ready_timeout_s):
                await self._ready.wait()
        except TimeoutError:
            raise RuntimeError(f"fork server did not start; see {self._log_path}") from None

    async def _read(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        buf = b""
        while True:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._dispatch(line.decode().split())
        await self._server_gone()

    def _dispatch(self, words: list[str]) -> None:
        if words == ["ready"]:
            self._ready.set()
        elif len(words) == 3 and words[0] == "pid":
            self._pids.put_nowait(int(words[2]))
        elif len(words) == 3 and words[0] == "exit":
            self._exit_future(int(words[1])).set_result(int(words[2]))

    def _exit_future(self, pid: int) -> asyncio.Future[int]:
        if pid not in self._exits:
            self._exits[pid] = asyncio.get_running_loop().create_future()
        return self._exits[pid]

    async def _server_gone(self) -> None:
        """The fork server died: its children got SIGTERM (PDEATHSIG); report them gone."""
        for pid, fut in list(self._exits.items()):
            if fut.done():
                continue
            for _ in range(200):  # they are not our children: poll until the pid is free
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                await asyncio.sleep(0.05)
            if not fut.done():
                fut.set_result(-int(signal.SIGTERM))
        self._sock = None

    async def spawn(self, name: str) -> Launched:
        async with self._lock:
            if self._sock is None or self._server is None or self._server.returncode is not None:
                await self.start()
            assert self._sock is not None
            read_fd, write_fd = os.pipe()
            try:
                socket.send_fds(self._sock, [f"spawn {name}\n".encode()], [write_fd])
            finally:
                os.close(write_fd)
            pid = await asyncio.wait_for(self._pids.get(), 30)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2**20)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0)
        )
        return Launched(pid, reader, self._exit_future(pid))

    async def close(self) -> None:
        if self._sock is not None:
            self._sock.close()  # EOF tells the server to stop its children and exit
            self._sock = None
        if self._server is not None and self._server.returncode is None:
            try:
                await asyncio.wait_for(self._server.wait(), 20)
            except TimeoutError:
                self._server.kill()
                await self._server.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._log is not None:
            self._log.close()
            self._log = None
