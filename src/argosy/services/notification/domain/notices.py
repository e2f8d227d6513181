"""Turn the platform's events (contracts/v1) into notices: what happened, to whom, how bad,
and the variables its templates may use.

Only events a person should hear about become notices: an order that was merely accepted,
a deployment stopped on request, or a session revocation do not. A payload that does not
match its contract raises `Invalid`; the consumer logs and drops it, since redelivering a
malformed message cannot make it valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from argosy.contracts.topics import (
    ANALYTICS_REPORT_READY,
    STRATEGY_DEPLOYMENT_STOPPED,
    USERS_EVENTS,
    topic_matches,
)
from argosy.contracts.v1.events import DeploymentStopped, FillEvent, OrderEvent, ReportReady
from argosy.contracts.v1.events import RiskAlert as RiskAlertEvent
from argosy.contracts.v1.users import (
    EmailVerificationRequested,
    KycChanged,
    NewDeviceLogin,
    PasswordResetRequested,
    RegistrationRepeated,
)
from argosy.kernel.clock import NS_PER_MS, ns_to_iso
from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.catalog import Severity, event_type

__all__ = ["CONSUMED_TOPICS", "Notice", "notice_from"]


@dataclass(frozen=True)
class Notice:
    event_type: str
    severity: Severity
    user_id: str
    org: str
    at_ms: int
    variables: Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)  # for webhooks, push and in-app
    to: str | None = None  # transactional mail goes here
    locale: str | None = None  # the locale the event asks for (users events)
    known_email: str | None = None  # an address the users service vouches for


def _iso_ms(ms: int) -> str:
    return ns_to_iso(ms * NS_PER_MS)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """None renders as "None" in Jinja; a missing reason should render as nothing."""
    return {k: "" if v is None else v for k, v in values.items()}


def _verification(p: Mapping[str, Any], base: str) -> Notice:
    e = EmailVerificationRequested.model_validate(p)
    url = f"{base}/verify-email?token={quote(e.token)}"
    return Notice("email_verification", "info", e.user_id, e.org, e.at_ms,
                  {"email": e.email, "token": e.token, "verify_url": url,
                   "expires_at": _iso_ms(e.expires_at_ms)},
                  to=e.email, locale=e.locale, known_email=e.email)


def _reset(p: Mapping[str, Any], base: str) -> Notice:
    e = PasswordResetRequested.model_validate(p)
    variables = {"email": e.email, "token": e.token, "expires_at": _iso_ms(e.expires_at_ms)}
    if e.purpose == "invite":
        variables["invite_url"] = f"{base}/register?invite={quote(e.token)}"
        return Notice("invite", "info", e.user_id, e.org, e.at_ms, variables, to=e.email,
                      locale=e.locale, known_email=e.email)
    variables["reset_url"] = f"{base}/reset-password?token={quote(e.token)}"
    return Notice("password_reset", "warning", e.user_id, e.org, e.at_ms, variables,
                  to=e.email, locale=e.locale, known_email=e.email)


def _repeated(p: Mapping[str, Any], base: str) -> Notice:
    """The owner hears of a registration with their address; the registrant never learns
    whether the address had an account."""
    e = RegistrationRepeated.model_validate(p)
    v = {"email": e.email, "ip": e.ip, "login_url": f"{base}/login",
         "reset_url": f"{base}/forgot-password"}
    return Notice("registration_repeated", "warning", e.user_id, e.org, e.at_ms, v,
                  to=e.email, locale=e.locale, known_email=e.email)


def _new_device(p: Mapping[str, Any], _: str) -> Notice:
    e = NewDeviceLogin.model_validate(p)
    v = {"email": e.email, "device_id": e.device_id, "ip": e.ip, "user_agent": e.user_agent}
    return Notice("new_device_login", "warning", e.user_id, e.org, e.at_ms, v, v,
                  known_email=e.email)


def _kyc(p: Mapping[str, Any], _: str) -> Notice:
    e = KycChanged.model_validate(p)
    v = _clean({"state": e.state, "previous": e.previous, "reason": e.reason,
                "actor": e.actor})
    return Notice("kyc_changed", "info", e.user_id, e.org, e.at_ms, v, v)


def _fill(p: Mapping[str, Any], _: str) -> Notice:
    e = FillEvent.model_validate(p)
    v = {k: getattr(e, k) for k in ("account_id", "order_id", "fill_id", "instrument", "side",
                                    "price", "quantity", "fee", "fee_asset", "liquidity")}
    return Notice("order_filled", "info", e.user_id, e.org, e.at_ms, v, v)


def _order(p: Mapping[str, Any], _: str) -> Notice | None:
    e = OrderEvent.model_validate(p)
    if e.status != "rejected":
        return None
    v = _clean({k: getattr(e, k) for k in ("account_id", "order_id", "instrument", "side",
                                           "type", "quantity", "price", "status", "reason")})
    return Notice("order_rejected", "warning", e.user_id, e.org, e.at_ms, v, v)


def _risk(p: Mapping[str, Any], _: str) -> Notice:
    e = RiskAlertEvent.model_validate(p)
    kind = "kill_switch" if e.kind == "kill_switch" else "risk_alert"
    severity: Severity = "critical" if kind == "kill_switch" else e.severity
    v = _clean({"alert_id": e.alert_id, "kind": e.kind, "message": e.message,
                "account_id": e.account_id, "scope": e.scope})
    return Notice(kind, severity, e.user_id, e.org, e.at_ms, v, v)


def _deployment(p: Mapping[str, Any], _: str) -> Notice | None:
    e = DeploymentStopped.model_validate(p)
    if e.reason == "requested":
        return None
    v = _clean({"deployment_id": e.deployment_id, "strategy": e.strategy,
                "account_id": e.account_id, "reason": e.reason, "error": e.error})
    return Notice("deployment_stopped", "warning", e.user_id, e.org, e.at_ms, v, v)


def _report(p: Mapping[str, Any], _: str) -> Notice:
    e = ReportReady.model_validate(p)
    v = {"report_id": e.report_id, "kind": e.kind, "title": e.title,
         "object_key": e.object_key}
    return Notice("report_ready", "info", e.user_id, e.org, e.at_ms, v, v)


_Reader = Callable[[Mapping[str, Any], str], Notice | None]

#: topic pattern → reader; `CONSUMED_TOPICS` is what the service subscribes to
_READERS: dict[str, _Reader] = {
    USERS_EVENTS["email_verification"]: _verification,
    USERS_EVENTS["password_reset"]: _reset,
    USERS_EVENTS["new_device_login"]: _new_device,
    USERS_EVENTS["kyc_changed"]: _kyc,
    USERS_EVENTS["registration_repeated"]: _repeated,
    "trading.fill.*": _fill,
    "trading.order.*": _order,
    "risk.alert.*": _risk,
    STRATEGY_DEPLOYMENT_STOPPED: _deployment,
    ANALYTICS_REPORT_READY: _report,
}
CONSUMED_TOPICS: tuple[str, ...] = tuple(_READERS)


def _problems(exc: ValueError) -> str:
    """Field names and messages only: the payload may hold a reset token."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return type(exc).__name__
    return "; ".join(".".join(str(p) for p in err["loc"]) + ": " + str(err["msg"])
                     for err in errors(include_input=False, include_url=False))


def notice_from(topic: str, payload: Any, base_url: str) -> Notice | None:
    """The notice for one bus message, or None when nobody needs to hear about it."""
    for pattern, reader in _READERS.items():
        if topic_matches(pattern, topic):
            if not isinstance(payload, Mapping):
                raise Invalid("event payload must be a JSON object", field="payload")
            try:
                notice = reader(payload, base_url.rstrip("/"))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                raise Invalid(f"{topic}: payload does not match its contract: "
                              f"{_problems(exc)}", field="payload") from None
            if notice is not None:
                event_type(notice.event_type)  # every notice names a catalogued type
            return notice
    return None
