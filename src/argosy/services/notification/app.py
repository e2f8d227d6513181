"""Wiring of the notification service (8086): channels, queue, intake, schedules, routes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from argosy.kernel.clock import Clock, LiveClock
from argosy.platform.crypto import SecretBox
from argosy.platform.http.identity import identity_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.secrets import ensure_secret, read_secret
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.notification.api import alerts as alerts_api
from argosy.services.notification.api import inbox as inbox_api
from argosy.services.notification.api import preferences as preferences_api
from argosy.services.notification.api import receipts as receipts_api
from argosy.services.notification.api import templates as templates_api
from argosy.services.notification.api._deps import RequestDeps
from argosy.services.notification.channels.base import Sender
from argosy.services.notification.channels.email import EmailSender
from argosy.services.notification.channels.inapp import InAppSender
from argosy.services.notification.channels.sms import SmsSender, TwilioSms
from argosy.services.notification.channels.telegram import TelegramSender
from argosy.services.notification.channels.webhook import WebhookSender
from argosy.services.notification.channels.webpush import VapidKeys, WebPushSender
from argosy.services.notification.events import subscribe_events
from argosy.services.notification.queue import DeliveryQueue
from argosy.services.notification.rendering import Renderer
from argosy.services.notification.service._context import Deps, Tunables
from argosy.services.notification.service.alerts import AlertsService
from argosy.services.notification.service.dispatcher import (
    Dispatcher,
    DispatchMetrics,
    QueueOptions,
)
from argosy.services.notification.service.inbox import InboxService
from argosy.services.notification.service.intake import Intake
from argosy.services.notification.service.preferences import PreferencesService
from argosy.services.notification.service.price_watch import PriceWatch
from argosy.services.notification.service.receipts import ReceiptsService
from argosy.services.notification.service.scheduler import Scheduler
from argosy.services.notification.service.templates import TemplatesService
from argosy.services.notification.settings import NotificationLive, NotificationSettings
from argosy.services.notification.store import NotificationStore

__all__ = ["build_senders", "create_app"]

DESCRIPTION = """Email (SMTP), SMS (Twilio-compatible), Web Push (VAPID), signed webhooks,
Telegram and in-app messages for what happens on the platform: fills and rejections, risk
alerts and kill switches, logins from new devices, KYC, stopped strategies, reports, and
users' own price alerts. Jinja2 templates per event type, channel and locale; a durable
database-backed queue with retries, rate limits, dead letters and idempotency; per-user
routing, quiet hours, digests and de-duplication."""


def _secret_box(settings: NotificationSettings, data_dir: Path) -> SecretBox:
    if settings.secret_key_file is not None:
        return SecretBox(read_secret(settings.secret_key_file, nbytes=32,
                                     setting="ARGOSY_NOTIFICATION_SECRET_KEY_FILE"))
    return SecretBox(ensure_secret(data_dir / "secrets" / "notification.key"))


def build_senders(settings: NotificationSettings, runtime: ServiceRuntime,
                  vapid: VapidKeys) -> dict[str, Sender]:
    return {
        "email": EmailSender(settings), "sms": SmsSender(TwilioSms(settings)),
        "push": WebPushSender(settings, vapid), "webhook": WebhookSender(settings),
        "telegram": TelegramSender(settings), "inapp": InAppSender(runtime.bus),
    }


def create_app(
    platform: PlatformSettings | None = None, *, settings: NotificationSettings | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = settings or load_settings(NotificationSettings)
    clock = clock or LiveClock()
    rt = ServiceRuntime(
        ServiceSpec(name="notification", settings=settings, description=DESCRIPTION,
                    uses=frozenset({"db", "cache"}), runtime_model=NotificationLive,
                    migrations=Path(__file__).parent / "migrations"),
        platform,
    )
    assert rt.db is not None and rt.cache is not None  # noqa: PT018
    vapid = VapidKeys(settings.vapid_private_key_file
                      or rt.data_dir / "secrets" / "notification-vapid.pem",
                      settings.vapid_subject)
    senders = build_senders(settings, rt, vapid)
    box = _secret_box(settings, rt.data_dir)
    tunables = Tunables(settings, rt.live)
    queue = DeliveryQueue(rt.db)
    dispatcher = Dispatcher(
        rt.db, queue, senders, rt.cache, tunables, clock, box,
        QueueOptions(settings.workers, settings.claim_batch, settings.lease_s, settings.poll_s),
        DispatchMetrics(rt.metrics))
    deps = Deps(
        db=rt.db, store=NotificationStore(), renderer=Renderer(), settings=settings,
        tunables=tunables, clock=clock, box=box, bus=rt.bus, cache=rt.cache,
        vapid_public_key=vapid.public_key,
        problems={name: sender.problem() for name, sender in senders.items()},
        wake=dispatcher.wake,
    )
    intake = Intake(deps)
    watch = PriceWatch(deps, intake)
    scheduler = Scheduler(deps, intake, dispatcher)

    consuming = asyncio.Event()  # set once the event subscriptions exist (tests wait on it)

    async def consume() -> None:
        await subscribe_events(rt.bus, intake, settings.intake_concurrency)
        consuming.set()

    async def dispatch() -> None:
        try:
            await dispatcher.run()
        finally:
            for sender in senders.values():
                await sender.close()

    rt.background("notification-consume", consume, needs=("db", "bus"))
    rt.background("notification-dispatch", dispatch, needs=("db", "bus", "cache"))
    rt.background("notification-schedule", scheduler.run, needs=("db",))
    rt.background("notification-prices", watch.run, needs=("db", "bus"))
    app = create_service_app(rt, [
        preferences_api.router(RequestDeps(identity_dependency(rt.auth)),
                               PreferencesService(deps, intake)),
        templates_api.router(RequestDeps(identity_dependency(rt.auth)), TemplatesService(deps)),
        inbox_api.router(RequestDeps(identity_dependency(rt.auth)), InboxService(deps)),
        alerts_api.router(RequestDeps(identity_dependency(rt.auth)),
                          AlertsService(deps, watch.changed)),
        receipts_api.router(ReceiptsService(deps, queue)),
    ])
    app.state.notification = deps
    app.state.dispatcher = dispatcher
    app.state.scheduler = scheduler
    app.state.price_watch = watch
    app.state.consuming = consuming
    return app
