"""Live configuration: a service's reloadable settings follow the config service, no restart.

At start-up the service registers its schemas (retrying until the config service answers),
then applies every stored document. Afterwards it listens on `config.changed.<service>` and
re-syncs periodically, so a missed push is healed within `resync_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from argosy.contracts.topics import config_changed
from argosy.contracts.v1.config import DocumentOut, DocumentRef
from argosy.platform import logging as plog
from argosy.platform.bus.base import Bus, Envelope, Subscription
from argosy.platform.settings import LogLevel

__all__ = ["ConfigNamespace", "ConfigSource", "LiveConfig", "RuntimeSettings"]

log = structlog.get_logger("argosy.config.live")

_START_GRACE_S = 30.0

_FLAGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": "^[a-z][a-z0-9_.-]{0,63}$"},
    "additionalProperties": {"type": "boolean"},
}


class RuntimeSettings(BaseModel):
    """Settings a running service re-reads when its `settings` document changes.

    Services subclass this with their own reloadable fields (rate limits, thresholds...).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_level: LogLevel = "info"


class ConfigSource(Protocol):
    async def register(self, service: str, namespaces: list[dict[str, Any]]) -> None: ...

    async def list_documents(self, service: str) -> list[DocumentRef]: ...

    async def fetch(self, service: str, namespace: str) -> DocumentOut | None: ...


OnChange = Callable[[str, dict[str, Any] | None, int], Awaitable[None]]


@dataclass
class ConfigNamespace:
    """A namespace a service owns: its JSON schema and what to do when it changes."""

    namespace: str
    schema: dict[str, Any]
    description: str = ""
    on_change: OnChange | None = None

    def wire(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "schema": self.schema, "description": self.description}


@dataclass
class _State:
    registered: bool = False
    versions: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class LiveConfig:
    def __init__(
        self,
        service: str,
        source: ConfigSource,
        bus: Bus,
        *,
        initial: RuntimeSettings,
        namespaces: list[ConfigNamespace] | None = None,
        resync_s: float = 30.0,
    ) -> None:
        self.service = service
        self._source, self._bus = source, bus
        self._defaults = initial
        self.settings = initial
        self._model = type(initial)
        self._namespaces = {n.namespace: n for n in (namespaces or [])}
        self._namespaces.setdefault(
            "settings",
            ConfigNamespace("settings", _schema_of(self._model), "Reloadable settings."),
        )
        self._namespaces.setdefault(
            "features", ConfigNamespace("features", _FLAGS_SCHEMA, "Feature flags: name → on/off.")
        )
        self.flags: dict[str, bool] = {}
        self._resync_s = resync_s
        self._state = _State()
        self._listeners: list[Callable[[RuntimeSettings], None]] = []
        self._applied: list[Callable[[str, int], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._lock = asyncio.Lock()

    def on_settings(self, listener: Callable[[RuntimeSettings], None]) -> None:
        self._listeners.append(listener)

    def on_applied(self, listener: Callable[[str, int], None]) -> None:
        """Called with (namespace, version) after each document is applied (0 = deleted)."""
        self._applied.append(listener)

    def flag(self, name: str, default: bool = False) -> bool:
        """A feature flag from this service's `features` document (live)."""
        return self.flags.get(name, default)

    def status(self) -> dict[str, Any]:
        return {
            "registered": self._state.registered,
            "flags": dict(self.flags),
            "versions": dict(self._state.versions),
            "last_error": self._state.last_error,
        }

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(
            config_changed(self.service), self._on_event
        )
        self._task = asyncio.create_task(self._run(), name=f"live-config:{self.service}")

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.2
        started = time.monotonic()
        while True:
            try:
                if not self._state.registered:
                    await self._source.register(
                        self.service, [n.wire() for n in self._namespaces.values()]
                    )
                    self._state.registered = True
                    log.info("config.registered", namespaces=sorted(self._namespaces))
                await self.sync()
                self._state.last_error = None
                backoff = 0.2
                await asyncio.sleep(self._resync_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._state.last_error != str(exc):
                    # The config service usually starts alongside us: not worth a warning
                    # until it has had time to come up.
                    grace = time.monotonic() - started < _START_GRACE_S
                    (log.info if grace else log.warning)("config.sync_failed", error=str(exc))
                self._state.last_error = str(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def sync(self) -> None:
        """Apply every document whose version is newer than what is applied."""
        refs = await self._source.list_documents(self.service)
        seen = set()
        for ref in refs:
            seen.add(ref.namespace)
            if ref.version > self._state.versions.get(ref.namespace, 0):
                await self._apply(ref.namespace)
        for gone in set(self._state.versions) - seen:
            await self._apply(gone)

    async def _on_event(self, env: Envelope) -> None:
        body = env.json()
        namespace, version = str(body.get("namespace", "")), int(body.get("version", 0))
        if version > self._state.versions.get(namespace, 0):
            await self._apply(namespace)

    async def _apply(self, namespace: str) -> None:
        async with self._lock:
            doc = await self._source.fetch(self.service, namespace)
            version = doc.version if doc else 0
            content = doc.content if doc else None
            if doc and version <= self._state.versions.get(namespace, 0):
                return
            if namespace == "settings":
                self._apply_settings(content, version)
            elif namespace == "features":
                self.flags = {str(k): bool(v) for k, v in (content or {}).items()}
            handler = self._match(namespace)
            if handler is not None and handler.on_change is not None:
                await handler.on_change(namespace, content, version)
            if doc:
                self._state.versions[namespace] = version
            else:
                self._state.versions.pop(namespace, None)
            for listener in self._applied:
                listener(namespace, version)
            log.info("config.applied", namespace=namespace, version=version)

    def _apply_settings(self, content: dict[str, Any] | None, version: int) -> None:
        try:
            merged = {**self._defaults.model_dump(), **(content or {})}
            new = self._model.model_validate(merged)
        except ValidationError as exc:
            # never str(exc): it quotes the input, and a settings document may hold secrets
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(document)'}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)
            )
            log.error("config.rejected", namespace="settings", version=version, error=problems)
            return
        old, self.settings = self.settings, new
        if new.log_level != old.log_level:
            plog.set_level(new.log_level)
        for listener in self._listeners:
            listener(new)

    def _match(self, namespace: str) -> ConfigNamespace | None:
        if namespace in self._namespaces:
            return self._namespaces[namespace]
        parts = namespace.split("/")
        for pattern, ns in self._namespaces.items():
            pp = pattern.split("/")
            if len(pp) == len(parts) and all(a in ("*", b) for a, b in zip(pp, parts, strict=True)):
                return ns
        return None


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema["additionalProperties"] = False
    return schema
