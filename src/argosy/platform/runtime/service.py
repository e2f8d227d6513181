"""Everything one service process is made of, built from settings by constructor injection.

A service's app.py declares a `ServiceSpec`, builds a `ServiceRuntime`, wires its own store,
use-cases and routes from the runtime's parts, and calls `create_service_app`. The runtime
owns the lifecycle: dependencies, outbox relay, live config, background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import structlog
from fastapi import FastAPI

from argosy.contracts.services import service_info
from argosy.kernel.errors import ConfigurationError
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.bus.factory import create_bus
from argosy.platform.clients.base import ServiceClient
from argosy.platform.clients.config import HttpConfigSource
from argosy.platform.db.engine import Database
from argosy.platform.db.outbox import Outbox, OutboxRelay
from argosy.platform.lifecycle import Connectable
from argosy.platform.metrics import Metrics
from argosy.platform.runtime.deps import Dependencies, Dependency
from argosy.platform.runtime.live import ConfigNamespace, ConfigSource, LiveConfig, RuntimeSettings
from argosy.platform.secrets import ensure_secret, read_secret
from argosy.platform.settings import PlatformSettings, ServiceSettings

if TYPE_CHECKING:  # the implementations are imported only when a service uses them
    from argosy.platform.cache.base import Cache
    from argosy.platform.objects.base import ObjectStore
    from argosy.platform.tsdb.base import TimeSeriesDB

__all__ = ["ServiceRuntime", "ServiceSpec", "platform_version"]

log = structlog.get_logger("argosy.runtime")

Task = Callable[[], Awaitable[None]]
_C = TypeVar("_C", bound=Connectable)


def platform_version() -> str:
    try:
        return _dist_version("argosy")
    except Exception:  # running from a source tree without metadata
        return "0.0.0"


@dataclass
class ServiceSpec:
    name: str
    settings: ServiceSettings
    description: str = ""
    uses: frozenset[str] = frozenset({"db"})  # any of: db, cache, tsdb, objects
    migrations: Path | None = None
    runtime_model: type[RuntimeSettings] = RuntimeSettings
    namespaces: list[ConfigNamespace] = field(default_factory=list)
    permissions: frozenset[str] = frozenset()  # what this service may do when calling others


def _redacted(url: str) -> str:
    """The URL without password or query (for logs and /readyz)."""
    if url.startswith("sqlite"):
        return url
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class ServiceRuntime:
    """The parts of one service process; see the module docstring."""

    def __init__(
        self,
        spec: ServiceSpec,
        platform: PlatformSettings,
        *,
        config_source: ConfigSource | None = None,
    ) -> None:
        self.spec, self.platform = spec, platform
        self.name = service_info(spec.name).name
        self.version = platform_version()
        self.data_dir = platform.data_path
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.instance = self.instance_id()
        self.metrics = Metrics(self.name)
        self.auth = InternalAuth(self._internal_secret())
        self.identity = Principal(
            f"service:{self.name}",
            frozenset({"config:read", "config:register", "config:reveal", *spec.permissions}),
        )
        self.bus = create_bus(platform.bus_url, source=self.name, metrics=self.metrics)
        self._tasks: list[tuple[str, Task, tuple[str, ...]]] = []
        self._running: list[asyncio.Task[None]] = []
        self.deps = Dependencies(self.name, self.metrics)
        self._depend("bus", self.bus, platform.bus_url)
        self.db: Database | None = None
        self.outbox: Outbox | None = None
        self.relay: OutboxRelay | None = None
        if "db" in spec.uses:
            self._add_db()
        self.cache: Cache | None = self._add_cache() if "cache" in spec.uses else None
        self.tsdb: TimeSeriesDB | None = self._add_tsdb() if "tsdb" in spec.uses else None
        self.objects: ObjectStore | None = (
            self._add_objects() if "objects" in spec.uses else None
        )
        self._clients: dict[str, ServiceClient] = {}
        source = config_source or HttpConfigSource(self.client("config"))
        level = spec.settings.log_level or platform.log_level
        self.live = LiveConfig(
            self.name, source, self.bus,
            initial=spec.runtime_model(log_level=level), namespaces=spec.namespaces,
        )
        self.live.on_applied(
            lambda ns, v: self.metrics.config_version.labels(self.name, ns).set(v)
        )

    # -- construction ----------------------------------------------------------------
    def _internal_secret(self) -> bytes:
        path = self.platform.internal_secret_file
        if path is None:
            return ensure_secret(self.data_dir / "secrets" / "internal.key")
        secret = read_secret(path, setting="ARGOSY_INTERNAL_SECRET_FILE")
        if len(secret) < 32:
            raise ConfigurationError(
                "ARGOSY_INTERNAL_SECRET_FILE", f"{path} must hold at least 32 bytes (64 hex digits)"
            )
        return secret

    def instance_id(self) -> str:
        """A stable id of this platform's data dir: keeps shared servers' state apart."""
        path = self.data_dir / "instance-id"
        if not path.exists():
            tmp = path.with_name(f".instance-id.{uuid.uuid4().hex}")
            tmp.write_text(uuid.uuid4().hex[:12])
            try:
                os.link(tmp, path)  # atomic: the first process to start wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return path.read_text().strip()

    def _add_db(self) -> None:
        url = self.spec.settings.db_url or self.platform.db_url
        db = Database(
            url, service=self.name, data_dir=self.data_dir,
            schema_prefix=self.platform.db_schema_prefix, echo=self.platform.db_echo,
        )
        self.db = db
        self.outbox = Outbox(bus=self.bus)
        self.relay = OutboxRelay(db, self.bus, metrics=self.metrics)
        migrations = self.spec.migrations

        async def connect() -> None:
            await db.connect(migrations)

        self.deps.add(Dependency("db", connect, db.check, db.close, _redacted(db.url)))
        self.background("outbox-relay", self.relay.run, needs=("db", "bus"))

    def _add_cache(self) -> Cache:
        from argosy.platform.cache import create_cache

        cache = create_cache(
            self.platform.cache_url, namespace=f"argosy:{self.instance}:{self.name}:"
        )
        return self._depend("cache", cache, self.platform.cache_url)

    def _add_tsdb(self) -> TimeSeriesDB:
        from argosy.platform.tsdb import create_tsdb

        tsdb = create_tsdb(
            self.platform.tsdb_url, database=self.name.replace("-", "_"),
            data_dir=self.data_dir / self.name,
        )
        return self._depend("tsdb", tsdb, self.platform.tsdb_url)

    def _add_objects(self) -> ObjectStore:
        from argosy.platform.objects import create_object_store

        secret = self.platform.s3_secret_access_key
        store = create_object_store(
            self.platform.objects_url, prefix=self.name, data_dir=self.data_dir,
            access_key_id=self.platform.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
        return self._depend("objects", store, self.platform.objects_url)

    def _depend(self, name: str, client: _C, url: str) -> _C:
        self.deps.add(Dependency(name, client.connect, client.check, client.close, _redacted(url)))
        return client

    def client(self, service: str) -> ServiceClient:
        """A client for another service, calling as this service."""
        name = service_info(service).name
        if name not in self._clients:
            self._clients[name] = ServiceClient(
                name, self.platform.url_of(name), auth=self.auth, caller=self.identity
            )
        return self._clients[name]

    def background(self, name: str, task: Task, *, needs: tuple[str, ...] = ()) -> None:
        """Run `task` for the life of the process once `needs` are connected."""
        self._tasks.append((name, task, needs))

    # -- lifecycle -------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        log.info("service.starting", service=self.name, version=self.version)
        await self.deps.start()
        self._spawn("live-config", self.live.start, ("bus",))
        for name, task, needs in self._tasks:
            self._spawn(name, task, needs)
        log.info("service.started", service=self.name)
        try:
            yield
        finally:
            log.info("service.stopping", service=self.name)
            for running in self._running:
                running.cancel()
            if self._running:
                _done, stuck = await asyncio.wait(self._running, timeout=10)
                for left in stuck:
                    log.error("task.stuck_at_shutdown", task=left.get_name())
            self._running.clear()
            await self.live.stop()
            for client in self._clients.values():
                await client.close()
            await self.deps.close()
            log.info("service.stopped", service=self.name)

    def _spawn(self, name: str, task: Task, needs: tuple[str, ...]) -> None:
        async def runner() -> None:
            await self.deps.ready(*needs)
            try:
                await task()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.error("task.crashed", task=name, exc_info=True)
                raise

        self._running.append(asyncio.create_task(runner(), name=f"{self.name}:{name}"))

    async def readiness(self) -> dict[str, dict[str, Any]]:
        return await self.deps.readiness()
