"""Routing: severity defaults, per-event overrides, quiet hours, digests, transactional."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.catalog import EVENT_TYPES
from argosy.services.notification.domain.routing import (
    Digest,
    Preferences,
    check_event_routes,
    check_severity_routes,
    fingerprint,
    plan,
)
from argosy.services.notification.domain.schedule import QuietHours

NOON = int(datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp()) * 10**9
NIGHT = int(datetime(2026, 6, 1, 23, 0, tzinfo=UTC).timestamp()) * 10**9
FULL = Preferences(email="a@example.com", phone="+4915112345678", telegram_chat_id="42",
                   webhook_url="https://hooks.example.com/x")


def channels(event: str, severity: str, prefs: Preferences = FULL, now: int = NOON) -> list[str]:
    steps, _ = plan(EVENT_TYPES[event], severity, prefs, now)  # type: ignore[arg-type]
    return [s.channel for s in steps]


def test_severity_defaults() -> None:
    assert channels("risk_alert", "info") == ["inapp"]
    assert channels("risk_alert", "warning") == ["inapp", "email"]
    assert channels("kill_switch", "critical") == ["inapp", "email", "sms"]


def test_overrides_per_event_then_per_severity() -> None:
    prefs = Preferences(email="a@example.com", events={"order_filled": ("email", "webhook")},
                        severity_channels={"info": ("email",)})
    steps, skipped = plan(EVENT_TYPES["order_filled"], "info", prefs, NOON)
    assert [s.channel for s in steps] == ["email"]
    assert skipped == ["webhook: no address in preferences"]
    assert channels("report_ready", "info", prefs) == ["email"]


def test_transactional_mail_goes_to_the_event_address_whatever_the_preferences() -> None:
    muted = Preferences(severity_channels={"info": ()})
    steps, _ = plan(EVENT_TYPES["email_verification"], "info", muted, NOON, to="new@example.com")
    assert [(s.channel, s.address, s.not_before_ns) for s in steps] == [
        ("email", "new@example.com", None)]


def test_quiet_hours_hold_interrupting_channels_but_not_critical_inapp_or_webhooks() -> None:
    quiet = QuietHours(time(22, 0), time(7, 0), "UTC")
    prefs = Preferences(email="a@example.com", webhook_url="https://h.example.com",
                        quiet_hours=quiet,
                        severity_channels={"info": ("inapp", "email", "webhook")})
    steps, _ = plan(EVENT_TYPES["report_ready"], "info", prefs, NIGHT)
    held = {s.channel: s.not_before_ns for s in steps}
    seven = int(datetime(2026, 6, 2, 7, 0, tzinfo=UTC).timestamp()) * 10**9
    assert held == {"inapp": None, "email": seven, "webhook": None}
    crit, _ = plan(EVENT_TYPES["kill_switch"], "critical", prefs, NIGHT)
    assert all(s.not_before_ns is None for s in crit)
    day, _ = plan(EVENT_TYPES["report_ready"], "info", prefs, NOON)
    assert all(s.not_before_ns is None for s in day)


def test_digests_batch_low_severity_on_interrupting_channels_only() -> None:
    prefs = Preferences(email="a@example.com", digest=Digest(3600),
                        severity_channels={"info": ("inapp", "email"),
                                           "warning": ("email",)})
    info, _ = plan(EVENT_TYPES["order_filled"], "info", prefs, NOON)
    assert [(s.channel, s.mode) for s in info] == [("inapp", "send"), ("email", "digest")]
    warn, _ = plan(EVENT_TYPES["risk_alert"], "warning", prefs, NOON)
    assert [s.mode for s in warn] == ["send"]
    again, _ = plan(EVENT_TYPES["digest"], "info", prefs, NOON, channels=("email",))
    assert [s.mode for s in again] == ["send"]
    test, _ = plan(EVENT_TYPES["order_filled"], "info", prefs, NOON, channels=("email",),
                   immediate=True)
    assert [s.mode for s in test] == ["send"]


def test_digest_rules() -> None:
    with pytest.raises(Invalid) as err:
        Digest(30)
    assert err.value.field == "digest.interval_minutes"
    with pytest.raises(Invalid):
        Digest(3600, frozenset({"critical"}))


@pytest.mark.parametrize(("raw", "field"), [
    ({"order_filed": ["email"]}, "events.order_filed"),
    ({"order_filled": ["email", "pigeon"]}, "events.order_filled[1]"),
    ({"password_reset": ["sms"]}, "events.password_reset"),
])
def test_event_routes_name_the_bad_entry(raw: dict[str, list[str]], field: str) -> None:
    with pytest.raises(Invalid) as err:
        check_event_routes(raw)
    assert err.value.field == field


def test_severity_routes() -> None:
    assert check_severity_routes({"info": ["email", "email", "inapp"]}) == {
        "info": ("email", "inapp")}
    with pytest.raises(Invalid) as err:
        check_severity_routes({"fatal": ["email"]})
    assert err.value.field == "severity_channels.fatal"


def test_fingerprint_ignores_alert_ids_but_not_content() -> None:
    risk = EVENT_TYPES["risk_alert"]

    def fp(user: str = "u1", severity: str = "warning", **v: str) -> str:
        return fingerprint(risk, severity, user, "email", "a@x.io",
                           {"alert_id": "r1", "message": "loss 5%", "account_id": "a", **v})

    assert fp() == fp(alert_id="r2")
    assert fp() != fp(user="u2")
    assert fp() != fp(severity="critical")
    assert fp() != fp(message="loss 6%")
    assert fp() != fp(account_id="b")
    fills = EVENT_TYPES["order_filled"]
    assert fingerprint(fills, "info", "u", "email", "a", {"fill_id": "1"}) != fingerprint(
        fills, "info", "u", "email", "a", {"fill_id": "2"})
