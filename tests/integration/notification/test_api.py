"""The public API: bad input is a 422 naming the field and changes nothing; a user only
ever sees their own things; templates need notifications:admin and stay in their org."""

from __future__ import annotations

from typing import Any

import pytest

from argosy.platform.auth.internal import Principal
from tests.integration.notification._harness import NotifyHarness
from tests.integration.notification._servers import SmtpSink

pytestmark = pytest.mark.integration

PREFS = "/api/v1/notifications/preferences"
TEMPLATES = "/api/v1/notifications/templates"
GOOD = {"email": "alice@example.com", "phone": "+4915112345678",
        "events": {"order_filled": ["email"]}, "quiet_hours": {"start": "22:00", "end": "07:00"},
        "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(("change", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"phone": "0151 1234567"}, "phone"),
    ({"telegram_chat_id": "chat me"}, "telegram_chat_id"),
    ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"locale": "english"}, "locale"),
    ({"events": {"order_filled": ["email", "carrier-pigeon"]}}, "events.order_filled[1]"),
    ({"events": {"order_exploded": ["email"]}}, "events.order_exploded"),
    ({"severity_channels": {"fatal": ["sms"]}}, "severity_channels.fatal"),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
    ({"digest": {"interval_minutes": 0}}, "digest.interval_minutes"),
    ({"digest": {"severities": ["critical"]}}, "digest.severities"),
    ({"user_id": "usr_someone_else"}, "user_id"),
])
async def test_bad_preferences_are_422_naming_the_field_and_change_nothing(
    notify: NotifyHarness, change: dict[str, Any], field: str,
) -> None:
    alice = notify.user()
    before = await notify.prefs(alice, **GOOD)
    r = await notify.call("PUT", PREFS, alice, json={**GOOD, **change})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    after = (await notify.call("GET", PREFS, alice)).json()
    assert after == {**before, "webhook_secret": None}


async def test_other_users_things_are_404(notify: NotifyHarness, smtp: SmtpSink) -> None:
    alice, bob = notify.user(), notify.user()
    await notify.prefs(alice, email="alice@example.com", events={"order_filled": ["email",
                                                                                  "inapp"]})
    await notify.publish("trading.fill.acc_1", notify.fill(alice))
    [delivery, _] = await notify.settled(alice, 2)
    [item] = (await notify.call("GET", "/api/v1/notifications", alice)).json()["items"]
    alert = (await notify.call("POST", "/api/v1/alerts/price", alice, json={
        "instrument": "BTC-USDT.binance", "condition": "above", "level": "70000"})).json()
    for method, url in [
        ("POST", f"/api/v1/notifications/{item['id']}/read"),
        ("GET", f"/api/v1/notifications/deliveries/{delivery['id']}"),
        ("DELETE", f"/api/v1/alerts/price/{alert['id']}"),
        ("DELETE", "/api/v1/notifications/push/subscriptions/psub_nope"),
    ]:
        r = await notify.call(method, url, bob)
        assert r.status_code == 404, (url, r.text)
        assert r.json()["error"]["code"] == "not_found"
    for url in ("/api/v1/notifications", "/api/v1/notifications/deliveries",
                "/api/v1/alerts/price"):
        assert (await notify.call("GET", url, bob)).json()["items"] == []
    assert (await notify.call("GET", f"/api/v1/notifications/deliveries/{delivery['id']}",
                              alice)).status_code == 200


async def test_identity_and_permissions(notify: NotifyHarness) -> None:
    assert (await notify.call("GET", PREFS, None)).status_code == 401
    viewer = notify.user("viewer")
    assert (await notify.call("GET", PREFS, viewer)).status_code == 200
    r = await notify.call("PUT", PREFS, viewer, json={})
    assert r.status_code == 403
    assert (await notify.call("GET", TEMPLATES, notify.user("trader"))).status_code == 403
    service = Principal("service:risk", frozenset({"notifications:read"}))
    assert (await notify.call("GET", PREFS, service)).status_code == 401


def _template(**kw: Any) -> dict[str, Any]:
    return {"event_type": "order_filled", "channel": "email", "locale": "en",
            "subject": "Fill {{ instrument }}", "body": "{{ side }} {{ quantity }}",
            "html": "<b>{{ price }}</b>", **kw}


@pytest.mark.parametrize(("change", "field"), [
    ({"subject": "{{ instrument }"}, "subject"),
    ({"body": "{{ pnl }}"}, "body"),
    ({"body": "{% if side == 'sell' %}{{ pnl }}{% endif %}"}, "body"),  # not on sample data
    ({"html": "{% for x in items %}{{ x }}{% endfor %}"}, "html"),
    ({"body": "{{ side.__class__ }}"}, "body"),
    ({"channel": "fax"}, "channel"),
    ({"event_type": "order_exploded"}, "event_type"),
    ({"locale": "klingon!"}, "locale"),
    ({"channel": "sms", "html": "<b>x</b>"}, "html"),
])
async def test_bad_templates_are_refused_at_save_time(
    notify: NotifyHarness, change: dict[str, Any], field: str,
) -> None:
    admin = notify.user("admin")
    r = await notify.call("POST", TEMPLATES, admin, json=_template(**change))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    listed = (await notify.call("GET", TEMPLATES, admin, params={"event_type": "order_filled",
                                                                 "channel": "email"})).json()
    assert {t["scope"] for t in listed["items"]} == {"builtin"}


async def test_templates_override_per_organisation_preview_and_are_used(
    notify: NotifyHarness, smtp: SmtpSink,
) -> None:
    admin, stranger = notify.user("admin"), notify.user("admin")
    r = await notify.call("POST", TEMPLATES, admin, json=_template())
    assert r.status_code == 201, r.text
    tpl = r.json()
    assert (tpl["scope"], tpl["version"]) == ("organisation", 1)
    again = await notify.call("POST", TEMPLATES, admin, json=_template(subject="F {{ price }}"))
    assert (again.status_code, again.json()["version"], again.json()["id"]) == (200, 2, tpl["id"])
    preview = await notify.call("POST", f"{TEMPLATES}/{tpl['id']}/preview", admin,
                                json={"data": {"price": "<1>"}})
    assert preview.json() == {"subject": "F <1>",
                              "body": "buy 0.5", "html": "<b>&lt;1&gt;</b>"}
    builtin = await notify.call("POST", f"{TEMPLATES}/builtin.kill_switch.sms.zh-CN/preview",
                                admin, json={})
    assert builtin.json()["body"].startswith("紧急停止")
    bad = await notify.call("POST", f"{TEMPLATES}/{tpl['id']}/preview", admin,
                            json={"data": {"pnl": 1}})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "data.pnl")
    assert (await notify.call("POST", f"{TEMPLATES}/{tpl['id']}/preview", stranger,
                              json={})).status_code == 404
    mine = (await notify.call("GET", TEMPLATES, stranger, params={
        "event_type": "order_filled", "channel": "email", "locale": "en"})).json()["items"]
    assert [t["scope"] for t in mine] == ["builtin"]

    member = notify.user("trader", org=admin.org)
    await notify.prefs(member, email="member@example.com", events={"order_filled": ["email"]})
    await notify.publish("trading.fill.acc_1", notify.fill(member, price="42"))
    [mail] = await smtp.wait(1)
    assert mail["Subject"] == "F 42"
    assert (await notify.call("DELETE", f"{TEMPLATES}/{tpl['id']}", stranger)).status_code == 404
    assert (await notify.call("DELETE", f"{TEMPLATES}/{tpl['id']}", admin)).status_code == 204


async def test_an_operator_sets_platform_wide_templates(notify: NotifyHarness) -> None:
    operator = Principal("operator:ops", frozenset({"notifications:admin"}))
    r = await notify.call("POST", TEMPLATES, operator, json=_template(subject="Platform"))
    assert r.status_code == 201
    assert r.json()["scope"] == "platform"
    someone = notify.user("admin")
    seen = (await notify.call("GET", TEMPLATES, someone, params={
        "event_type": "order_filled", "channel": "email", "locale": "en"})).json()["items"]
    assert [(t["scope"], t["subject"]) for t in seen] == [("platform", "Platform")]


async def test_test_endpoint_channel_checks(notify: NotifyHarness) -> None:
    alice = notify.user()
    for body, status, field in [
        ({"channel": "fax"}, 422, "channel"),
        ({"channel": "email"}, 422, "channel"),  # no address yet
        ({"channel": "push"}, 422, "channel"),  # no browser subscribed
        ({"channel": "email", "message": "x" * 501}, 422, "message"),
    ]:
        r = await notify.call("POST", "/api/v1/notifications/test", alice, json=body)
        assert (r.status_code, r.json()["error"]["field"]) == (status, field), body


async def test_openapi_documents_every_route(notify: NotifyHarness) -> None:
    paths = (await notify.client.get("/openapi.json")).json()["paths"]
    for path, methods in {
        "/api/v1/notifications/preferences": {"get", "put"},
        "/api/v1/notifications": {"get"},
        "/api/v1/notifications/{notification_id}/read": {"post"},
        "/api/v1/notifications/templates": {"get", "post"},
        "/api/v1/notifications/templates/{template_id}/preview": {"post"},
        "/api/v1/alerts/price": {"get", "post"},
        "/api/v1/alerts/price/{alert_id}": {"delete"},
        "/api/v1/notifications/push/subscribe": {"post"},
        "/api/v1/notifications/test": {"post"},
        "/api/v1/notifications/deliveries": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            assert "422" in paths[path][method]["responses"], (path, method)
