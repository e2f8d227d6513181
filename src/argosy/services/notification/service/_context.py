"""What the use-case modules share: their dependencies, the caller, the live tunables."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from argosy.kernel.clock import Clock
from argosy.kernel.errors import Unauthorized
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Bus
from argosy.platform.cache.base import Cache
from argosy.platform.crypto import SecretBox
from argosy.platform.db.engine import Database
from argosy.platform.runtime.live import LiveConfig
from argosy.services.notification.domain.outcomes import RetryPolicy
from argosy.services.notification.rendering import Parts, Renderer
from argosy.services.notification.settings import (
    NotificationLive,
    NotificationSettings,
    RateLimit,
)
from argosy.services.notification.store import GLOBAL_ORG, NotificationStore

__all__ = ["Caller", "Deps", "TemplateCache", "Tunables", "secret_aad"]


@dataclass(frozen=True, slots=True)
class Caller:
    """A user as the gateway vouched for them."""

    user_id: str
    org: str
    principal: Principal

    @classmethod
    def of(cls, p: Principal) -> Caller:
        if p.kind != "user" or not p.org:
            raise Unauthorized("a user identity with an organisation is required")
        return cls(p.subject.split(":", 1)[1], p.org, p)

    @classmethod
    def admin(cls, p: Principal) -> Caller:
        """Template management: a user acts for their organisation; an operator (no
        organisation) for the platform-wide templates."""
        p.require("notifications:admin")
        if p.kind == "user" and p.org:
            return cls.of(p)
        return cls(p.subject, GLOBAL_ORG, p)

    def require(self, permission: str) -> None:
        self.principal.require(permission)


class Tunables:
    """Environment settings, overridden by the live `notification/settings` document."""

    def __init__(self, settings: NotificationSettings, live: LiveConfig | None = None) -> None:
        self._s, self._live = settings, live

    def _live_settings(self) -> NotificationLive | None:
        current = self._live.settings if self._live is not None else None
        return current if isinstance(current, NotificationLive) else None

    def policy(self) -> RetryPolicy:
        live = self._live_settings()
        s = self._s

        def pick(name: str, default: float) -> float:
            value = getattr(live, name, None) if live else None
            return default if value is None else float(value)

        return RetryPolicy(int(pick("max_attempts", s.max_attempts)),
                           pick("backoff_base_s", s.backoff_base_s),
                           pick("backoff_max_s", s.backoff_max_s))

    def rate(self, channel: str) -> RateLimit | None:
        live = self._live_settings()
        if live is not None and channel in live.rate_limits:
            return live.rate_limits[channel]
        return self._s.rate_limits.get(channel)

    def dedupe_window_s(self) -> float:
        live = self._live_settings()
        if live is not None and live.dedupe_window_s is not None:
            return live.dedupe_window_s
        return self._s.dedupe_window_s


class TemplateCache:
    """(org, event, channel, locale) → override or None, for `ttl_s`."""

    def __init__(self, ttl_s: float = 5.0) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[tuple[str, str, str, str], tuple[Parts | None, float]] = {}

    def get(self, key: tuple[str, str, str, str]) -> tuple[Parts | None] | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return (entry[0],)

    def put(self, key: tuple[str, str, str, str], parts: Parts | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (parts, time.monotonic() + self._ttl_s)

    def clear(self) -> None:
        self._entries.clear()


def secret_aad(user_id: str) -> str:
    """Binds a sealed webhook secret to its user: a copied ciphertext will not open."""
    return f"notification:webhook-secret:{user_id}"


@dataclass
class Deps:
    db: Database
    store: NotificationStore
    renderer: Renderer
    settings: NotificationSettings
    tunables: Tunables
    clock: Clock
    box: SecretBox
    bus: Bus
    cache: Cache
    vapid_public_key: str
    problems: Mapping[str, str | None]  # channel → why it cannot send here (None: it can)
    wake: Callable[[], None]
    templates: TemplateCache = field(default_factory=TemplateCache)

    def now(self) -> int:
        return self.clock.now_ns()
