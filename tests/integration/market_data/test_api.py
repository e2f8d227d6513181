"""The public API over real stored history: answers, pagination, and every kind of bad
input refused with a 4xx that names the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from argosy.contracts import headers as h
from argosy.kernel.instruments import InstrumentId
from argosy.platform.auth.internal import Principal
from tests.integration.market_data.conftest import SPOT, MakeMarket, Market
from tests.integration.market_data.test_backfill import spot_trade_zips

pytestmark = pytest.mark.integration

PAGES = "/api/v1/market"


async def loaded(market: Market, tmp_path: Path) -> None:
    out = tmp_path / "zips"
    out.mkdir(exist_ok=True)
    for path in spot_trade_zips(out):
        await market.svc.backfiller.archive(InstrumentId.parse(SPOT), path)
    async with market.runtime.db.transaction() as s:  # type: ignore[union-attr]
        await market.svc.store.set_subscription(s, SPOT, source="api", active=False,
                                                by="test", now=1)


def error(response: Any) -> tuple[int, str | None, str]:
    body = response.json()["error"]
    return response.status_code, body.get("field"), body["message"]


async def test_candles_and_trades_paginate_and_refuse_bad_input(
    make_market: MakeMarket, tmp_path: Path
) -> None:
    async with make_market(None, instruments=()) as market:
        await loaded(market, tmp_path)
        start = "2024-08-08T23:54:00Z"
        whole = (await market.get(f"{PAGES}/candles", instrument=SPOT, interval="1m",
                                  start=start, limit=100)).json()
        assert len(whole["items"]) == 12
        assert whole["next_cursor"] is None
        pages, cursor = [], None
        while True:
            params: dict[str, Any] = {"instrument": SPOT, "interval": "1m", "start": start,
                                      "limit": 5}
            if cursor:
                params["cursor"] = cursor
            page = (await market.get(f"{PAGES}/candles", **params)).json()
            pages += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == whole["items"]
        latest = (await market.get(f"{PAGES}/candles", instrument=SPOT, interval="5m",
                                   limit=2)).json()
        assert [c["ts_open_ns"] for c in latest["items"]] == [
            c["ts_open_ns"] for c in (await market.get(
                f"{PAGES}/candles", instrument=SPOT, interval="5m", start=start)).json()["items"]
        ][-2:]
        # trades: many share a millisecond; the cursor must neither skip nor repeat one
        seen: list[str] = []
        cursor = None
        while True:
            params = {"instrument": SPOT, "start": start, "limit": 777}
            if cursor:
                params["cursor"] = cursor
            page = (await market.get(f"{PAGES}/trades", **params)).json()
            seen += [t["trade_id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 19904 == len(set(seen))
        assert seen == sorted(seen, key=int)

        bad = [
            ("candles", {"instrument": "BTC-USDT.nowhere"}, 404, "instrument"),
            ("candles", {"instrument": "BTCUSDT"}, 422, "instrument"),
            ("candles", {"instrument": SPOT, "interval": "2m"}, 422, "interval"),
            ("candles", {"instrument": SPOT, "start": "2024-08-09", "end": "2024-08-08"},
             422, "start"),
            ("candles", {"instrument": SPOT, "interval": "1s", "start": "2014-01-01",
                         "end": "2024-01-01"}, 422, "end"),
            ("candles", {"instrument": SPOT, "limit": 0}, 422, "limit"),
            ("candles", {"instrument": SPOT, "limit": 100_000}, 422, "limit"),
            ("candles", {"instrument": SPOT, "start": "1723161255342"}, 422, "start"),
            ("candles", {"instrument": SPOT, "start": "yesterday"}, 422, "start"),
            ("candles", {"instrument": SPOT, "start": start, "cursor": "garbage"}, 422,
             "cursor"),
            ("candles", {"instrument": SPOT, "source": "tea-leaves"}, 422, "source"),
            ("trades", {"instrument": SPOT, "start": "2024-01-01", "end": "2024-08-08"}, 422,
             "end"),
            ("trades", {"instrument": SPOT, "limit": 10_001}, 422, "limit"),
            ("book", {"instrument": SPOT, "depth": 0}, 422, "depth"),
            ("book", {"instrument": SPOT}, 404, "instrument"),
            ("ticker", {"instrument": "ETH-USDT.nowhere"}, 404, "instrument"),
            ("continuity", {"instrument": SPOT, "start_day": "2024-08-09",
                            "end_day": "2024-08-01"}, 422, "end_day"),
            ("continuity", {"instrument": SPOT, "start_day": "2024-01-01",
                            "end_day": "2024-12-31"}, 422, "end_day"),
            ("continuity", {"instrument": SPOT, "start_day": "08/08/2024"}, 422, "start_day"),
        ]
        for route, params, status, field in bad:
            response = await market.get(f"{PAGES}/{route}", **params)
            got = error(response)
            assert got[:2] == (status, field), (route, params, got)
            assert got[2]
        # a cursor from another query is refused too
        other = (await market.get(f"{PAGES}/candles", instrument=SPOT, interval="1m",
                                  start=start, limit=2)).json()["next_cursor"]
        response = await market.get(f"{PAGES}/candles", instrument=SPOT, interval="5m",
                                    start=start, cursor=other)
        assert error(response)[:2] == (422, "cursor")


async def test_identity_permissions_and_subscriptions(make_market: MakeMarket) -> None:
    async with make_market(None, instruments=()) as market:
        assert (await market.client.get(f"{PAGES}/instruments")).status_code == 401
        nobody = market.headers(frozenset({"orders:read"}))
        assert (await market.client.get(f"{PAGES}/instruments", headers=nobody)
                ).status_code == 403
        reader = market.headers(frozenset({"market:read"}))
        body = {"instrument": "ETH-USDT-PERP.binance"}
        assert (await market.client.post(f"{PAGES}/subscriptions", json=body, headers=reader)
                ).status_code == 403
        bad = await market.client.post(f"{PAGES}/subscriptions", json={"instrument": "ETH"},
                                       headers=market.headers())
        assert error(bad)[:2] == (422, "instrument")
        unknown = await market.client.post(f"{PAGES}/subscriptions",
                                           json={"instrument": "BTC-USDT.nosuchvenue"},
                                           headers=market.headers())
        assert error(unknown)[:2] == (422, "instrument")
        added = await market.client.post(f"{PAGES}/subscriptions", json=body,
                                         headers=market.headers())
        assert added.status_code == 201
        subs = (await market.get(f"{PAGES}/subscriptions")).json()["items"]
        assert [(s["instrument"], s["active"], s["source"]) for s in subs] == [
            ("ETH-USDT-PERP.binance", True, "api")]
        await market.svc.feeds.apply()  # binance is off here: reported, not connected
        subs = (await market.get(f"{PAGES}/subscriptions")).json()["items"]
        assert subs[0]["state"] == "off"
        path = f"{PAGES}/subscriptions/ETH-USDT-PERP.binance"
        assert (await market.client.delete(path, headers=reader)).status_code == 403
        assert (await market.client.delete(path, headers=market.headers())).status_code == 204
        assert (await market.client.delete(path, headers=market.headers())).status_code == 404
        # A remote admin (a user through the gateway) may not name files on this machine.
        admin = {h.IDENTITY: market.runtime.auth.mint(
            Principal("user:u1", frozenset({"market:read", "market:admin"})))}
        archive = {"instrument": "BTC-USDT.binance", "source": "archive",
                   "paths": ["/etc/passwd"]}
        refused = await market.client.post(f"{PAGES}/backfill", json=archive, headers=admin)
        assert error(refused)[:2] == (403, "paths")
        spec = (await market.client.get("/openapi.json")).json()
        assert {f"{PAGES}/{p}" for p in ("instruments", "candles", "trades", "book", "ticker",
                                         "continuity", "subscriptions")} <= set(spec["paths"])


async def test_public_reads_when_enabled(make_market: MakeMarket) -> None:
    async with make_market(None, instruments=(), public_reads=True) as market:
        assert (await market.client.get(f"{PAGES}/instruments")).status_code == 200
        response = await market.client.post(f"{PAGES}/subscriptions",
                                             json={"instrument": SPOT})
        assert response.status_code == 401
