"""The notification service in-process (SQLite, and PostgreSQL where the database matters),
with a real SMTP server and a real HTTP recorder standing in for every HTTP provider."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from argosy.platform.bus.base import Envelope
from argosy.platform.settings import PlatformSettings
from argosy.services.notification.app import create_app
from argosy.services.notification.settings import NotificationSettings
from tests.integration.notification._harness import NotifyHarness, OffsetClock
from tests.integration.notification._servers import HttpRecorder, SmtpSink
from tests.support.postgres import drop_schemas, drop_schemas_sync
from tests.support.servers import POSTGRES_URL, reachable

RUN = f"n{uuid.uuid4().hex[:8]}"
_COUNTER = itertools.count()


def notification_settings(smtp_port: int, http: str, **overrides: Any) -> NotificationSettings:
    """Fast retries and polls, every provider pointed at the local servers."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_tls": "none",
        "sms_base_url": http, "sms_account_sid": "AC123", "sms_auth_token": "tok",
        "sms_from": "+15005550006", "telegram_base_url": http,
        "telegram_bot_token": "123456:SECRET-bot-token", "webhook_allow_private_networks": True,
        "webhook_allow_http": True, "poll_s": 0.05, "backoff_base_s": 0.05,
        "backoff_max_s": 0.4, "scheduler_tick_s": 0.05, "price_reload_s": 0.2,
        "smtp_timeout_s": 2, "lease_s": 10, **overrides,
    }
    return NotificationSettings.model_validate(values)


@pytest.fixture(scope="session")
def _sweep_postgres() -> Iterator[None]:
    yield
    drop_schemas_sync(f"{RUN}%")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def http() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder().start()
    yield recorder
    recorder.stop()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the service's settings."""
    return {}


@contextlib.asynccontextmanager
async def running(platform: PlatformSettings,
                  settings: NotificationSettings) -> AsyncIterator[NotifyHarness]:
    clock = OffsetClock()
    app = create_app(platform, settings=settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
            h = NotifyHarness(app.state.runtime, client, settings, clock, platform, app.state)

            async def collect(env: Envelope) -> None:
                h.published.append(env)

            await h.runtime.bus.subscribe("notification.>", collect)
            await h.runtime.deps.ready("db", "bus", "cache")
            await asyncio.wait_for(app.state.consuming.wait(), 10)
            yield h


@pytest.fixture(params=["sqlite", "postgresql"])
async def notify_any_db(request: pytest.FixtureRequest, platform_settings: PlatformSettings,
                        smtp: SmtpSink, http: HttpRecorder,
                        settings_overrides: dict[str, Any]) -> AsyncIterator[NotifyHarness]:
    """On SQLite and on the real PostgreSQL (a fresh schema, dropped afterwards)."""
    platform = platform_settings
    if request.param == "postgresql":
        if not reachable("127.0.0.1", 5432):
            pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database `test`)")
        request.getfixturevalue("_sweep_postgres")
        platform = PlatformSettings(data_dir=platform_settings.data_dir, bus_url="memory://",
                                    db_url=POSTGRES_URL,
                                    db_schema_prefix=f"{RUN}_{next(_COUNTER)}_")
    settings = notification_settings(smtp.port, http.url, **settings_overrides)
    async with running(platform, settings) as h:
        yield h
    if request.param == "postgresql":
        await drop_schemas(f"{platform.db_schema_prefix}%")


@pytest.fixture
async def notify(platform_settings: PlatformSettings, smtp: SmtpSink, http: HttpRecorder,
                 settings_overrides: dict[str, Any]) -> AsyncIterator[NotifyHarness]:
    """SQLite only: for tests whose subject does not depend on the database."""
    settings = notification_settings(smtp.port, http.url, **settings_overrides)
    async with running(platform_settings, settings) as h:
        yield h
