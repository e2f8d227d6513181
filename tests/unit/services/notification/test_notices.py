"""Platform events become notices; events nobody needs to hear about do not."""

from __future__ import annotations

from typing import Any

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.notices import CONSUMED_TOPICS, notice_from

BASE = {"org": "org_1", "user_id": "usr_1", "at_ms": 1_700_000_000_000}


def test_verification_mail_goes_to_the_event_address_with_a_link() -> None:
    n = notice_from("users.email.verification_requested", {
        **BASE, "email": "a@example.com", "token": "ev_a+b", "expires_at_ms": 1_700_086_400_000,
        "locale": "zh-CN"}, "https://argosy.example.com/")
    assert n is not None
    assert (n.event_type, n.to, n.locale, n.known_email) == (
        "email_verification", "a@example.com", "zh-CN", "a@example.com")
    assert n.variables["verify_url"] == "https://argosy.example.com/verify-email?token=ev_a%2Bb"
    assert n.variables["expires_at"].startswith("2023-11-15T")


def test_reset_and_invite_are_told_apart() -> None:
    body: dict[str, Any] = {**BASE, "email": "b@example.com", "token": "t",
                            "expires_at_ms": 1, "locale": "en"}
    reset = notice_from("users.password.reset_requested", {**body, "purpose": "reset"}, "x")
    invite = notice_from("users.password.reset_requested", {**body, "purpose": "invite"}, "x")
    assert reset is not None
    assert invite is not None
    assert (reset.event_type, invite.event_type) == ("password_reset", "invite")


def test_trading_risk_strategy_analytics() -> None:
    order = {**BASE, "account_id": "a", "order_id": "o", "instrument": "BTC-USDT.binance",
             "side": "buy", "type": "limit", "quantity": "1", "status": "accepted"}
    assert notice_from("trading.order.a", order, "x") is None
    rejected = notice_from("trading.order.a", {**order, "status": "rejected"}, "x")
    assert rejected is not None
    assert rejected.variables["reason"] == ""
    alert = {**BASE, "alert_id": "r", "severity": "info", "kind": "kill_switch",
             "message": "stop"}
    kill = notice_from("risk.alert.info", alert, "x")
    assert kill is not None
    assert (kill.event_type, kill.severity) == ("kill_switch", "critical")
    dep = {**BASE, "deployment_id": "d", "strategy": "s", "reason": "requested"}
    assert notice_from("strategy.deployment.stopped", dep, "x") is None
    failed = notice_from("strategy.deployment.stopped", {**dep, "reason": "error",
                                                         "error": "boom"}, "x")
    assert failed is not None
    assert failed.event_type == "deployment_stopped"
    report = notice_from("analytics.report.ready", {**BASE, "report_id": "r", "kind": "m",
                                                    "title": "T", "object_key": "k"}, "x")
    assert report is not None
    assert report.severity == "info"


def test_malformed_payloads_are_invalid_without_echoing_values() -> None:
    with pytest.raises(Invalid) as err:
        notice_from("users.email.verification_requested",
                    {**BASE, "email": "a@example.com", "token": "ev_SECRET"}, "x")
    assert "ev_SECRET" not in err.value.message
    assert "expires_at_ms" in err.value.message
    with pytest.raises(Invalid):
        notice_from("trading.fill.a", ["not", "an", "object"], "x")


def test_unrelated_topics_and_the_subscription_list() -> None:
    assert notice_from("users.session.revoked", BASE, "x") is None
    assert "trading.fill.*" in CONSUMED_TOPICS
    assert "risk.alert.*" in CONSUMED_TOPICS
