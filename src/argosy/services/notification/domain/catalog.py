"""The event types a notification can be about, and what a template may use for each.

Why a catalogue: templates are edited by people at runtime, so a template that names a
variable the event never provides must be refused when it is saved, not discovered when a
trader's fill mail fails at 3 a.m. Each type declares its variables and sample values; the
template validator renders against the samples and checks the AST against the declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from argosy.kernel.errors import Invalid

__all__ = [
    "CHANNELS",
    "COMMON_VARIABLES",
    "EVENT_TYPES",
    "SEVERITIES",
    "Channel",
    "EventType",
    "Severity",
    "check_channel",
    "check_event_type",
    "check_severity",
    "event_type",
]

Channel = Literal["email", "sms", "push", "webhook", "telegram", "inapp"]
Severity = Literal["info", "warning", "critical"]

CHANNELS: Final[tuple[Channel, ...]] = ("email", "sms", "push", "webhook", "telegram", "inapp")
SEVERITIES: Final[tuple[Severity, ...]] = ("info", "warning", "critical")

#: every template may use these, whatever the event
COMMON_VARIABLES: Final = frozenset({"app_name", "base_url", "event_type", "severity", "at"})

_COMMON_SAMPLE: Final[dict[str, Any]] = {
    "app_name": "Argosy", "base_url": "https://argosy.example.com",
    "at": "2026-11-25T09:30:00Z",
}


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    severity: Severity  # the default; risk alerts carry their own
    sample: Mapping[str, Any]
    #: sent to the address in the event itself (verification, reset, invite): the user may
    #: have no preferences yet, and cannot opt out of their own password reset
    transactional: bool = False
    #: repeated identical alerts within the window are sent once; fills, reports and the
    #: like are distinct events even when their words match, so they are never collapsed
    dedupe: bool = False
    #: variables that differ between repeats of the same alert (its id): left out of the
    #: comparison; the time is never part of it
    volatile: frozenset[str] = frozenset()
    variables: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", frozenset(self.sample))

    def sample_context(self, severity: Severity | None = None) -> dict[str, Any]:
        return {**_COMMON_SAMPLE, **self.sample, "event_type": self.name,
                "severity": severity or self.severity}


_ORDER = {"account_id": "acc_01JD0000000000000000000000", "instrument": "BTC-USDT.binance",
          "side": "buy", "quantity": "0.5", "order_id": "ord_01JD0000000000000000000000"}
_RISK = {"alert_id": "ra_1", "kind": "daily_loss_limit", "scope": "account",
         "message": "Daily loss 5.2% exceeds the 5% limit", "account_id": _ORDER["account_id"]}

EVENT_TYPES: Final[dict[str, EventType]] = {e.name: e for e in (
    EventType("email_verification", "Confirm the email address of a new account", "info",
              {"email": "alice@example.com", "token": "ev_sample", "expires_at":
               "2026-11-27T09:30:00Z", "verify_url": "https://argosy.example.com/verify-email"
               "?token=ev_sample"}, transactional=True),
    EventType("password_reset", "A password reset was requested", "warning",
              {"email": "alice@example.com", "token": "pr_sample", "expires_at":
               "2026-11-25T10:00:00Z", "reset_url": "https://argosy.example.com/reset-password"
               "?token=pr_sample"}, transactional=True),
    EventType("invite", "Someone invited the user into their organisation", "info",
              {"email": "bob@example.com", "token": "pr_sample", "expires_at":
               "2026-11-27T09:30:00Z", "invite_url": "https://argosy.example.com/register"
               "?invite=pr_sample"}, transactional=True),
    EventType("registration_repeated", "Someone registered with the user's address", "warning",
              {"email": "alice@example.com", "ip": "203.0.113.7",
               "login_url": "https://argosy.example.com/login",
               "reset_url": "https://argosy.example.com/forgot-password"},
              transactional=True),
    EventType("new_device_login", "Login from a device not seen before", "warning",
              {"email": "alice@example.com", "device_id": "dev_1", "ip": "203.0.113.7",
               "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"}, dedupe=True),
    EventType("kyc_changed", "KYC verification state changed", "info",
              {"state": "approved", "previous": "submitted", "reason": "", "actor":
               "user:reviewer"}),
    EventType("order_filled", "An order was (partly) filled", "info",
              {**_ORDER, "fill_id": "fil_1", "price": "67250.5", "fee": "0.0005",
               "fee_asset": "BTC", "liquidity": "taker"}),
    EventType("order_rejected", "An order was rejected", "warning",
              {**_ORDER, "type": "limit", "price": "67000", "status": "rejected",
               "reason": "insufficient balance"}, dedupe=True),
    EventType("risk_alert", "A risk rule was breached or acted", "warning", _RISK, dedupe=True,
              volatile=frozenset({"alert_id"})),
    EventType("kill_switch", "A kill switch stopped trading", "critical",
              {**_RISK, "kind": "kill_switch", "message": "Kill switch engaged: max drawdown",
               "scope": "organisation"}, dedupe=True, volatile=frozenset({"alert_id"})),
    EventType("deployment_stopped", "A live strategy stopped on an error", "warning",
              {"deployment_id": "dep_1", "strategy": "grid-1", "account_id":
               _ORDER["account_id"], "reason": "error", "error": "venue rejected order"},
              dedupe=True),
    EventType("report_ready", "A report is ready to download", "info",
              {"report_id": "rep_1", "kind": "monthly", "title": "November performance",
               "object_key": "reports/rep_1.pdf"}),
    EventType("price_alert", "A price alert the user set fired", "warning",
              {"alert_id": "pa_1", "instrument": "BTC-USDT.binance", "condition":
               "crossed above 70000", "level": "70000", "price": "70012.5", "change_pct": "",
               "window": "", "note": ""}, dedupe=True),
    EventType("digest", "Several low-severity notifications in one message", "info",
              {"count": 2, "items": [
                  {"event_type": "order_filled", "severity": "info", "at":
                   "2026-11-25T09:00:00Z", "title": "Filled: buy 0.5 BTC-USDT.binance",
                   "body": "0.5 @ 67250.5"},
                  {"event_type": "report_ready", "severity": "info", "at":
                   "2026-11-25T09:10:00Z", "title": "Report ready", "body": "November"}]}),
    EventType("test", "A test message the user sent to themself", "info",
              {"channel": "email", "message": "Hello from Argosy"}),
)}


def event_type(name: str, field: str = "event_type") -> EventType:
    try:
        return EVENT_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(EVENT_TYPES))
        raise Invalid(f"unknown event type {name!r}; known: {known}", field=field) from None


def check_event_type(name: str, field: str = "event_type") -> str:
    return event_type(name, field).name


def check_channel(name: str, field: str = "channel") -> Channel:
    for channel in CHANNELS:
        if channel == name:
            return channel
    raise Invalid(f"unknown channel {name!r}; known: {', '.join(CHANNELS)}", field=field)


def check_severity(name: str, field: str = "severity") -> Severity:
    for severity in SEVERITIES:
        if severity == name:
            return severity
    raise Invalid(f"unknown severity {name!r}; known: {', '.join(SEVERITIES)}", field=field)
