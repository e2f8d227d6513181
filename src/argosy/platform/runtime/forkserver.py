"""The fork server side of `ForkLauncher` (see launchers.py for the protocol).

It runs single-threaded with no event loop, so `fork()` is safe: the caller imports what
the services share, then hands over to `serve_forks`. Each child resets signals, points
stdout/stderr at the pipe the supervisor gave it, names itself `argosy serve <name>` and
runs the service exactly as `argosy serve` does.
"""

from __future__ import annotations

import contextlib
import gc
import os
import selectors
import signal
import socket
import sys
import traceback
from collections.abc import Callable

from argosy.kernel.errors import ConfigurationError
from argosy.platform.runtime.launchers import CONFIGURATION_EXIT_CODE, die_with_parent

__all__ = ["serve_forks"]


def serve_forks(sock_fd: int, run_child: Callable[[str], int]) -> None:
    sock = socket.socket(fileno=sock_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # the wakeup fd reports it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    signal.signal(signal.SIGTERM, lambda *_: None)
    gc.collect()
    gc.freeze()  # keep the shared heap out of the collector's writes (copy-on-write)
    children: set[int] = set()
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    sock.sendall(b"ready\n")
    pending = b""
    while True:
        for key, _ in sel.select():
            if key.fileobj is sock:
                data, fds, _flags, _addr = socket.recv_fds(sock, 4096, 16)
                if not data:
                    _stop_children(children)
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    words = line.decode().split()
                    if len(words) == 2 and words[0] == "spawn" and fds:
                        out_fd = fds.pop(0)
                        pid = os.fork()
                        if pid == 0:
                            _child(words[1], out_fd, (sock.fileno(), wake_r, wake_w), run_child)
                        os.close(out_fd)
                        children.add(pid)
                        sock.sendall(f"pid {words[1]} {pid}\n".encode())
                for fd in fds:  # never leak a descriptor sent without a command
                    os.close(fd)
            else:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 512)
                _reap(children, sock)


def _reap(children: set[int], sock: socket.socket) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        sock.sendall(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n".encode())


def _stop_children(children: set[int]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _child(
    name: str, out_fd: int, close_fds: tuple[int, ...], run_child: Callable[[str], int]
) -> None:
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        for fd in close_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        die_with_parent()
        with contextlib.suppress(ImportError):
            import setproctitle

            setproctitle.setproctitle(f"argosy serve {name}")
        sys.argv = ["argosy", "serve", name]
        code = run_child(name)
    except ConfigurationError as exc:  # the same one line and exit code as `argosy serve`
        print(f"argosy: invalid setting {exc.message}", file=sys.stderr)
        code = CONFIGURATION_EXIT_CODE
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
