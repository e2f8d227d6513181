"""Settings of the notification service (env prefix ARGOSY_NOTIFICATION_).

Provider credentials are `SecretStr` (never logged, never in /internal/runtime). Every
default works on a laptop: mail goes to an MTA on localhost:25 (STARTTLS when it offers
it), SMS and Telegram stay unconfigured until given credentials (their deliveries are
dead-lettered with that reason, visible on the deliveries API), and webhooks may not
target private networks unless `webhook_allow_private_networks` is set. SMS delivery
receipts need `sms_status_callback_url`, a URL the provider can reach.

Rates, attempts and windows that operators tune while running are also reloadable through
the config service (`notification/settings`, `NotificationLive`); a value there wins over
the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from argosy.platform.runtime.live import RuntimeSettings
from argosy.platform.settings import ServiceSettings

__all__ = ["NotificationLive", "NotificationSettings", "RateLimit"]


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    per_s: float = Field(gt=0, le=100_000, description="Sustained sends per second.")
    burst: float = Field(ge=1, le=1_000_000, description="Sends allowed at once.")


_RATES: dict[str, RateLimit] = {
    "email": RateLimit(per_s=50, burst=100), "sms": RateLimit(per_s=5, burst=10),
    "push": RateLimit(per_s=200, burst=400), "webhook": RateLimit(per_s=200, burst=400),
    "telegram": RateLimit(per_s=25, burst=30), "inapp": RateLimit(per_s=2000, burst=4000),
}


class NotificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARGOSY_NOTIFICATION_", extra="ignore", frozen=True
    )

    # -- what messages say and link to ----------------------------------------------------
    app_name: str = Field("Argosy", min_length=1, max_length=64)
    base_url: str = Field("http://127.0.0.1:8080", description="Console URL used in links.")
    default_locale: str = "en"

    # -- email (SMTP) --------------------------------------------------------------------
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_tls: Literal["auto", "starttls", "tls", "none"] = Field(
        "auto", description="auto: STARTTLS when offered; starttls: required; tls: implicit "
        "TLS (port 465); none: plain (loopback relays only).")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Argosy <argosy@localhost>"
    smtp_ca_file: Path | None = Field(None, description="CA bundle to verify the server.")
    smtp_verify_tls: bool = True
    smtp_timeout_s: float = Field(10.0, gt=0, le=120)
    smtp_connections: int = Field(4, ge=1, le=64, description="Pooled SMTP connections.")

    # -- SMS (Twilio-compatible REST) ----------------------------------------------------
    sms_base_url: str = "https://api.twilio.com"
    sms_account_sid: str | None = None
    sms_auth_token: SecretStr | None = None
    sms_from: str | None = Field(None, description="Sender number (E.164) or service id.")
    sms_timeout_s: float = Field(10.0, gt=0, le=120)
    sms_status_callback_url: str | None = Field(
        None, pattern=r"^https?://[^\s?#]+$",
        description="Public URL of this service's `/api/v1/notifications/sms/status` as the "
        "provider reaches it (the delivery id is appended). Set: every SMS asks for delivery "
        "receipts, which move it to delivered or dead. Unset: an SMS stays `sent`.")

    # -- Telegram ------------------------------------------------------------------------
    telegram_base_url: str = "https://api.telegram.org"
    telegram_bot_token: SecretStr | None = None
    telegram_timeout_s: float = Field(10.0, gt=0, le=120)

    # -- webhooks ------------------------------------------------------------------------
    webhook_timeout_s: float = Field(10.0, gt=0, le=120)
    webhook_allow_private_networks: bool = Field(
        False, description="Allow webhook and push URLs on loopback/private addresses "
        "(tests, LANs).")
    webhook_allow_http: bool = Field(False, description="Allow http:// webhook and push URLs.")

    # -- Web Push ------------------------------------------------------------------------
    vapid_private_key_file: Path | None = Field(
        None, description="PEM EC P-256 key (default: generated in data_dir/secrets). Every "
        "instance must share it: browsers bind subscriptions to its public key.")
    vapid_subject: str = Field("mailto:argosy@localhost", pattern=r"^(mailto:|https://)")
    push_ttl_s: int = Field(86_400, ge=0, le=2_419_200)
    push_timeout_s: float = Field(10.0, gt=0, le=120)

    # -- storage of per-user secrets -----------------------------------------------------
    secret_key_file: Path | None = Field(
        None, description="32-byte hex key sealing webhook secrets (default: generated).")

    # -- queue ---------------------------------------------------------------------------
    intake_concurrency: int = Field(
        8, ge=1, le=256, description="Trading/risk events handled at once (committed in "
        "batches); other topics use up to 2.")
    workers: int = Field(32, ge=1, le=1024, description="Sends in flight per instance.")
    claim_batch: int = Field(64, ge=1, le=1000)
    lease_s: float = Field(120.0, ge=5, description="A claimed row returns after this.")
    poll_s: float = Field(0.5, gt=0, le=60, description="Idle poll (other instances' rows).")
    max_attempts: int = Field(10, ge=1, le=100)
    backoff_base_s: float = Field(2.0, gt=0, le=3600)
    backoff_max_s: float = Field(3600.0, gt=0, le=86_400)
    rate_limits: dict[str, RateLimit] = Field(default_factory=lambda: dict(_RATES))
    dedupe_window_s: float = Field(300.0, ge=0, le=86_400)
    retention_days: int = Field(30, ge=1, le=3650)
    scheduler_tick_s: float = Field(1.0, gt=0, le=60)
    price_reload_s: float = Field(5.0, gt=0, le=300)
    test_sends_per_hour: int = Field(20, ge=1, le=10_000)


class NotificationLive(RuntimeSettings):
    """Reloadable without a restart (config service, `notification/settings`); None keeps
    the environment's value."""

    max_attempts: int | None = Field(None, ge=1, le=100)
    backoff_base_s: float | None = Field(None, gt=0, le=3600)
    backoff_max_s: float | None = Field(None, gt=0, le=86_400)
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    dedupe_window_s: float | None = Field(None, ge=0, le=86_400)
