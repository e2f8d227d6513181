"""An exchange account through the trading service: the Binance adapter (venues/binance)
against the protocol-faithful replay Binance server over recorded BTCUSDT data. Unlike a
paper venue, the exchange keeps its state across a restart of the trading service, so this
is the non-ephemeral recovery path: balances adopted from the venue, a lost answer
resolved by a query, and a restart that reconciles without a single new event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.platform.settings import PlatformSettings
from argosy.services.trading.venues import AccountInfo, Credentials, ExchangeFactory
from argosy.venues.binance.execution import BinanceExecution, ExecutionSettings
from argosy.venues.binance.execution import Credentials as BinanceCredentials
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay.recordings import load_recording
from argosy.venues.replay.server import ReplayServer, ReplaySettings
from tests.integration.trading._harness import Person, TradingHarness, running
from tests.integration.trading._market import SPOT
from tests.integration.trading._venues import Faults, FaultyVenue
from tests.integration.venues.test_binance_execution_support import (
    API_KEY,
    API_SECRET,
    open_account,
)
from tests.support.servers import SHARED_DATA

pytestmark = pytest.mark.integration


@pytest.fixture
async def binance(shared_data: Any) -> AsyncIterator[ReplayServer]:
    recording = load_recording([SHARED_DATA / "ws/binance_spot_BTCUSDT_20240808.jsonl.gz"])
    server = await ReplayServer(recording.truncated(20),
                                ReplaySettings(speed=None, start="now")).start()
    open_account(server)
    await server.wait_finished()
    yield server
    await server.close()


def _exchanges(server: ReplayServer, faults: Faults) -> dict[str, ExchangeFactory]:
    def build(account: AccountInfo, creds: Credentials, instruments: list[Instrument]) -> Any:
        settings = ExecutionSettings(
            rest_url=server.rest_url, ws_url=server.ws_url(BinanceMarket.SPOT),
            ws_api_url=f"ws://127.0.0.1:{server.port}/ws-api/v3")
        venue = BinanceExecution(BinanceMarket.SPOT,
                                 BinanceCredentials(creds.api_key, creds.api_secret),
                                 settings=settings, instruments=[InstrumentId.parse(SPOT)])
        return FaultyVenue(venue, faults)

    return {"binance": build}


async def _vault(account_id: str) -> Credentials:
    return Credentials(API_KEY, API_SECRET)  # what the users service's vault reveals


async def _account(h: TradingHarness, who: Person) -> Any:
    async with h.state.trading.db.read() as s:
        return await h.state.trading.store.account(s, who.account)


async def test_exchange_account_recovers_against_the_venue(
        platform_settings: PlatformSettings, binance: ReplayServer) -> None:
    faults = Faults()
    who = Person("usr_x1", "org_x1", "acc_x1")
    exchanges = _exchanges(binance, faults)
    async with running(platform_settings, exchanges=exchanges, credentials=_vault) as h:
        await h.state.intake.open(account_id=who.account, org=who.org, user_id=who.id,
                                  kind="exchange", venue="binance", currency="USDT",
                                  starting_balance=None)
        first = await h.order(who, instrument=SPOT, side="buy", type="market",
                              quantity="0.001", client_order_id="x1")
        assert first["status"] == "filled", first
        faults.lose_answers = 1  # the next answer is lost: the venue has the order
        second = await h.order(who, instrument=SPOT, side="buy", type="market",
                               quantity="0.001", client_order_id="x2")
        assert second["status"] in ("submitted_unknown", "filled")

        async def resolved() -> bool:
            r = await h.call("GET", f"/api/v1/orders/{second['id']}", who)
            return bool(r.json()["status"] == "filled")

        await h.wait_for(resolved, 10)
        summary = await h.state.reconciler.reconcile(await _account(h, who))
        assert summary.balance_adjustments == 0  # our books == the exchange's
        ours = await h.balances(who)
        theirs = await h.state.trading.venues.known(who.account).venue.balances()
        for asset in ("USDT", "BTC"):
            assert ours[asset] == theirs[asset].value
        events = await h.outbox_count()
    async with running(platform_settings, exchanges=exchanges, credentials=_vault) as h:
        await h.wait_for(lambda: h.state.reconciler.is_ready(who.account), 10)
        assert await h.outbox_count() == events  # a restart finds nothing to change
        fills = (await h.call("GET", "/api/v1/fills", who)).json()["items"]
        assert {f["order_id"] for f in fills} == {first["id"], second["id"]}
        assert len({f["fill_id"] for f in fills}) == len(fills)
