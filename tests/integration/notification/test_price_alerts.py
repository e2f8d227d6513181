"""Price alerts against the market data stream (kernel messages published on the bus the
way the market-data service will): fire once on a crossing, or on a % move."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import QuoteTick, Side, TradeTick, to_dict
from argosy.kernel.money import Price, Quantity
from tests.integration.notification._harness import NotifyHarness, Person
from tests.integration.notification._servers import SmtpSink

pytestmark = pytest.mark.integration

BTC = "BTC-USDT.binance"
ALERTS = "/api/v1/alerts/price"


async def _trade(h: NotifyHarness, price: str, ts_s: float | None = None,
                 instrument: str = BTC) -> None:
    ts = int((ts_s if ts_s is not None else time.time()) * 1e9)
    tick = TradeTick(InstrumentId.parse(instrument), Price(price), Quantity("0.1"), Side.BUY,
                     f"t{ts}", ts, ts)
    venue_symbol = instrument.rpartition(".")
    await h.runtime.bus.publish_json(f"md.trade.{venue_symbol[2]}.{venue_symbol[0]}",
                                     to_dict(tick))


async def _watching(h: NotifyHarness, instrument: str = BTC) -> None:
    watch = h.runtime_app_state("price_watch")
    await h.wait_for(lambda: instrument in watch.instruments)


async def _alerts(h: NotifyHarness, who: Person) -> list[dict[str, Any]]:
    return list((await h.call("GET", ALERTS, who)).json()["items"])


async def test_an_alert_fires_once_when_a_trade_crosses_the_level(
    notify_any_db: NotifyHarness, smtp: SmtpSink,
) -> None:
    h = notify_any_db
    alice = h.user()
    await h.prefs(alice, email="alice@example.com")
    r = await h.call("POST", ALERTS, alice, json={"instrument": BTC, "condition": "above",
                                                  "level": "70000", "note": "take profit"})
    assert r.status_code == 201, r.text
    await _watching(h)
    for price in ("69000", "69990.5", "70000.5", "70100", "69000", "71000"):
        await _trade(h, price)
    [mail] = await smtp.wait(1)
    assert mail["Subject"] == f"{BTC} crossed above 70000"
    assert "Last price: 70000.5" in mail.get_body(("plain",)).get_content()
    [alert] = await _alerts(h, alice)
    assert (alert["state"], alert["fired_count"], alert["last_price"]) == (
        "fired", 1, "70000.5")
    await asyncio.sleep(0.3)
    assert len(smtp.messages) == 1
    inbox = (await h.call("GET", "/api/v1/notifications", alice)).json()["items"]
    assert [i["event_type"] for i in inbox] == ["price_alert"]


async def test_move_alerts_and_re_arming(notify: NotifyHarness) -> None:
    alice = notify.user()
    await notify.prefs(alice, events={"price_alert": ["inapp"]})
    await notify.call("POST", ALERTS, alice, json={
        "instrument": BTC, "condition": "move_down", "pct": "5", "window_s": 60})
    await notify.call("POST", ALERTS, alice, json={
        "instrument": "ETH-USDT.binance", "condition": "cross", "level": "3000",
        "repeat": True, "cooldown_s": 0})
    await _watching(notify)
    await _watching(notify, "ETH-USDT.binance")
    now = time.time()
    for i, price in enumerate(("100", "104", "99", "98.7")):  # 5.1% below the high of 104
        await _trade(notify, price, now + i)
    for price in ("2990", "3010", "2995", "3001"):
        await _trade(notify, price, instrument="ETH-USDT.binance")
    await notify.wait_for(lambda: _inbox_titles(notify, alice, 4))
    titles = await _titles(notify, alice)
    assert titles.count("ETH-USDT.binance crossed 3000") == 3
    assert f"{BTC} fell 5% within 60s" in titles
    by = {a["instrument"]: a for a in await _alerts(notify, alice)}
    assert (by[BTC]["state"], by["ETH-USDT.binance"]["state"]) == ("fired", "active")
    assert by["ETH-USDT.binance"]["fired_count"] == 3


async def _titles(h: NotifyHarness, who: Person) -> list[str]:
    items = (await h.call("GET", "/api/v1/notifications", who)).json()["items"]
    return [i["title"] for i in items]


async def _inbox_titles(h: NotifyHarness, who: Person, n: int) -> bool:
    return len(await _titles(h, who)) >= n


async def test_quotes_count_at_their_mid_and_deleting_stops_watching(
    notify: NotifyHarness,
) -> None:
    alice = notify.user()
    alert = (await notify.call("POST", ALERTS, alice, json={
        "instrument": "SOL-USDT.binance", "condition": "below", "level": "150"})).json()
    await _watching(notify, "SOL-USDT.binance")
    ts = time.time_ns()
    for bid, ask in (("151", "152"), ("149", "150.5")):  # mid 151.5, then 149.75
        quote = QuoteTick(InstrumentId.parse("SOL-USDT.binance"), Price(bid), Quantity("1"),
                          Price(ask), Quantity("1"), ts, ts)
        await notify.runtime.bus.publish_json("md.ticker.binance.SOL-USDT", to_dict(quote))
    await notify.wait_for(lambda: _inbox_titles(notify, alice, 1))
    [fired] = await _alerts(notify, alice)
    assert Decimal(fired["last_price"]) == Decimal("149.75")
    r = await notify.call("DELETE", f"{ALERTS}/{alert['id']}", alice)
    assert r.status_code == 204
    watch = notify.runtime_app_state("price_watch")
    await notify.wait_for(lambda: "SOL-USDT.binance" not in watch.instruments)


@pytest.mark.parametrize(("body", "field"), [
    ({"instrument": "BTCUSDT", "condition": "above", "level": "1"}, "instrument"),
    ({"instrument": BTC, "condition": "sideways", "level": "1"}, "condition"),
    ({"instrument": BTC, "condition": "above"}, "level"),
    ({"instrument": BTC, "condition": "above", "level": "-5"}, "level"),
    ({"instrument": BTC, "condition": "above", "level": "lots"}, "level"),
    ({"instrument": BTC, "condition": "move", "pct": "5"}, "window_s"),
    ({"instrument": BTC, "condition": "move", "level": "5", "pct": "5", "window_s": 9},
     "level"),
    ({"instrument": BTC, "condition": "move_up", "pct": "5", "window_s": 0}, "window_s"),
    ({"instrument": BTC, "condition": "above", "level": "1", "window_s": 60}, "window_s"),
    ({"instrument": BTC, "condition": "above", "level": 1}, "level"),
])
async def test_bad_alerts_are_422_naming_the_field(
    notify: NotifyHarness, body: dict[str, Any], field: str,
) -> None:
    alice = notify.user()
    r = await notify.call("POST", ALERTS, alice, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert await _alerts(notify, alice) == []
