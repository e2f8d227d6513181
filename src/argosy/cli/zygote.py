"""The fork server `argosy run` starts: import what every service needs once, then fork.

Run as `python -m argosy.cli.zygote <socket-fd>` by platform/runtime/launchers.py. Nothing
here may start a thread or an event loop before forking (chdb, which starts threads on
import, is left to the services that use it).
"""

from __future__ import annotations

import importlib
import sys

from argosy.contracts.services import SERVICES

PRELOAD = (
    "uvicorn",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "argosy.cli.runner",
    "argosy.platform.bus.nats",
    "argosy.platform.cache.memory",
    "argosy.platform.cache.redis",
    "argosy.platform.objects.local",
    "argosy.platform.db.migrations",
    "aiosqlite",
    "asyncpg",
    *(f"argosy.services.{s.package}.app" for s in SERVICES),
)


def main() -> None:
    from argosy.cli.runner import serve_service
    from argosy.platform.runtime.forkserver import serve_forks

    for module in PRELOAD:
        importlib.import_module(module)
    serve_forks(int(sys.argv[1]), serve_service)


if __name__ == "__main__":
    main()
