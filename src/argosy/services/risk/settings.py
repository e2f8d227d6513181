"""Settings of the risk service (env prefix ARGOSY_RISK_).

Defaults suit a laptop: a breach cancels and flattens (the safe reaction for an unattended
bot), the real-time view is flushed every second, returns for VaR are taken hourly, and
the daily report runs at 00:05 UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["RiskSettings"]


class RiskSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_RISK_", extra="ignore", frozen=True)

    breach_policy: Literal["alert", "cancel", "flatten"] = Field(
        "flatten",
        description="On a daily-loss or drawdown breach: alert only, cancel open orders, or "
        "cancel and close every position with market orders. The account's kill switch is "
        "engaged in every case but `alert`.",
    )
    breach_confirm_s: float = Field(
        2.0,
        ge=0,
        le=300,
        description="A breach must last this long before it is acted on: the events of "
        "one trade arrive on separate topics and may be seen out of order.",
    )
    flush_s: float = Field(1.0, gt=0, le=60, description="Real-time view → database.")
    return_interval_s: float = Field(3600, gt=0, description="Length of one VaR return.")
    var_level: float = Field(0.95, gt=0.5, lt=1)
    var_lookback: int = Field(500, ge=10, le=100_000, description="Returns used for VaR.")
    report_hour_utc: int = Field(0, ge=0, le=23)
    report_minute_utc: int = Field(5, ge=0, le=59)
    daily_reports: bool = True
    config_sync_s: float = Field(5.0, gt=0, description="Retry mirroring rules to config.")
    consumer_members: int = Field(2, ge=1, le=32)
    trading_timeout_s: float = Field(5.0, gt=0, le=60)
    pdf_reports: bool = Field(True, description="Also render PDF (xhtml2pdf) next to HTML.")
    exposure_publish_s: float = Field(
        1.0,
        gt=0,
        le=60,
        description="`risk.exposure.<account>` at most once per account per this many "
        "seconds; changes in between are merged (the last value wins).",
    )
    action_retry_s: float = Field(
        1.0,
        gt=0,
        le=60,
        description="First retry delay of a protective action that failed (a close the "
        "venue refused, an unreachable trading service); doubled on every failure.",
    )
    action_retry_max_s: float = Field(60.0, gt=0, le=3600, description="Retry delay cap.")
    action_alert_after: int = Field(
        5,
        ge=1,
        le=1000,
        description="A critical alert once a protective action has failed this many times.",
    )
