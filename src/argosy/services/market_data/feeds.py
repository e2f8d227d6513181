"""Which venues are connected, for which instruments, and keeping it that way.

The wanted list is the active rows of `subscriptions` (the config document plus what
admins added or removed through the API). `apply` converges the connectors on it: Binance
spot and USD-M through the native connector (one `BinanceMarketFeed` per market, pointed
at Binance or at a replay venue), other venues through ccxt. Instrument metadata comes
from exchangeInfo (ccxt: load_markets), is stored, and is refreshed every
`instruments_refresh_s`; an instrument the venue does not list is reported as such rather
than subscribed blindly. A venue that cannot be reached is retried at every pass and shown
in `status()`: the service keeps serving history meanwhile.

`maintain` is the housekeeping tick: book snapshots (periodic and after every resync),
the service's crossed-book check, and the cache of tickers and tops of book.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import structlog

from argosy.kernel.clock import Clock
from argosy.kernel.errors import ArgosyError
from argosy.kernel.instruments import InstrumentId
from argosy.platform.db.engine import Database
from argosy.services.market_data.continuity import ContinuityTracker
from argosy.services.market_data.domain.continuity import Cause, cause_of_alarm
from argosy.services.market_data.domain.routing import Route, route
from argosy.services.market_data.events import MarketEvents
from argosy.services.market_data.history import History
from argosy.services.market_data.models import InstrumentRow
from argosy.services.market_data.pipeline import Pipeline
from argosy.services.market_data.settings import MarketDataSettings
from argosy.services.market_data.store import MarketStore
from argosy.venues.alarms import FeedAlarm
from argosy.venues.binance.book_sync import SyncState
from argosy.venues.binance.feed import BinanceMarketFeed
from argosy.venues.binance.instruments import VenueInstrument
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.rest import BinanceRestClient
from argosy.venues.binance.ws import StreamSettings
from argosy.venues.ccxt_venue import CcxtVenue

__all__ = ["FeedManager", "binance_urls"]

log = structlog.get_logger("argosy.market_data.feeds")


def binance_urls(settings: MarketDataSettings, market: str) -> tuple[str, str] | None:
    """(REST base, WS base) of a Binance market under the configured mode; None when off
    or when replay mode has no replay venue to point at."""
    if settings.binance_mode == "off":
        return None
    if settings.binance_mode == "replay":
        if not settings.replay_url:
            return None
        base = settings.replay_url.rstrip("/")
        host = urlsplit(base).netloc
        return base, f"ws://{host}" + ("/fstream" if market == "usdm" else "")
    if market == "usdm":
        return settings.usdm_rest_url, settings.usdm_ws_url
    return settings.spot_rest_url, settings.spot_ws_url


def _row(vi: VenueInstrument, now: int) -> InstrumentRow:
    i = vi.instrument
    return InstrumentRow(
        instrument_id=str(vi.id), venue=i.venue, market=vi.market.value, symbol=vi.symbol,
        base=i.base, quote=i.quote, kind=i.kind.value, status=vi.status,
        tick_size=i.tick_size.to_str(), lot_size=i.lot_size.to_str(), min_qty=i.min_qty.to_str(),
        min_notional=i.min_notional.to_str(), max_qty=i.max_qty.to_str() if i.max_qty else None,
        source="exchangeInfo", updated_ns=now)


class FeedManager:
    def __init__(self, settings: MarketDataSettings, pipeline: Pipeline,
                 tracker: ContinuityTracker, db: Database, store: MarketStore,
                 events: MarketEvents, history: History, clock: Clock) -> None:
        self.settings, self.pipeline, self.tracker = settings, pipeline, tracker
        self.db, self.store, self.events, self.history, self.clock = (
            db, store, events, history, clock)
        self.binance: dict[str, BinanceMarketFeed] = {}
        self.ccxt: dict[str, CcxtVenue] = {}
        self.recorded: dict[str, Route] = {}
        self.instrument_status: dict[str, dict[str, str]] = {}
        self.venue_status: dict[str, dict[str, Any]] = {}
        self._listed: dict[str, dict[str, VenueInstrument]] = {}
        self._listed_at: dict[str, float] = {}
        self._syncs: dict[str, int] = {}
        self._snapshot_at = 0.0
        self._wake = asyncio.Event()

    # --- converging on the wanted list -----------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.apply()
                except ArgosyError as error:
                    log.warning("md_apply_failed", error=error.message)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.subscriptions_poll_s)
                self._wake.clear()
        finally:
            await self.close()

    async def wanted(self) -> dict[str, Route]:
        async with self.db.read() as s:
            rows = await self.store.subscriptions(s)
        return {r.instrument_id: route(InstrumentId.parse(r.instrument_id)) for r in rows
                if r.active}

    async def apply(self) -> None:
        wanted = await self.wanted()
        for key in [k for k in self.recorded if k not in wanted]:
            await self._stop(self.recorded.pop(key))
        by_venue: dict[str, list[Route]] = {}
        for key, r in wanted.items():
            by_venue.setdefault(r.market if r.native else r.venue, []).append(r)
            self.instrument_status.setdefault(key, {"state": "pending", "detail": ""})
        for name, routes in by_venue.items():
            native = routes[0].native
            try:
                await (self._apply_binance(name, routes) if native
                       else self._apply_ccxt(name, routes))
            except (ArgosyError, OSError, RuntimeError) as error:
                message = getattr(error, "message", None) or repr(error)
                self.venue_status[name] = {"state": "unreachable", "error": message[:300]}
                for r in routes:
                    if r.key not in self.recorded:
                        self._state(r.key, "waiting", f"{name}: {message[:200]}")
        for key in [k for k in self.instrument_status if k not in wanted]:
            del self.instrument_status[key]

    def listed(self, market: str) -> dict[str, VenueInstrument] | None:
        """What the venue listed at the last refresh (None: not reached yet)."""
        return self._listed.get(market)

    def _state(self, key: str, state: str, detail: str = "") -> None:
        self.instrument_status[key] = {"state": state, "detail": detail}

    def _feed(self, market: str) -> BinanceMarketFeed | None:
        feed = self.binance.get(market)
        if feed is not None:
            return feed
        urls = binance_urls(self.settings, market)
        if urls is None:
            return None
        rest_url, ws_url = urls
        feed = BinanceMarketFeed(
            BinanceMarket(market), self.pipeline.ingest, on_alarm=self.on_alarm,
            rest=BinanceRestClient(BinanceMarket(market), base_url=rest_url, clock=self.clock),
            ws_url=ws_url, clock=self.clock,
            stream_settings=StreamSettings(stale_after_s=self.settings.stale_after_s),
        )
        self.binance[market] = feed
        self.venue_status[market] = {"state": "connecting", "rest": rest_url, "ws": ws_url}
        return feed

    async def _apply_binance(self, market: str, routes: list[Route]) -> None:
        feed = self._feed(market)
        if feed is None:
            why = ("ARGOSY_MARKET_DATA_BINANCE_MODE=off" if self.settings.binance_mode == "off"
                   else "replay mode without a replay venue: no recordings were found "
                        "(set ARGOSY_MARKET_DATA_REPLAY_DATA_DIR) or no replay_url was given")
            self.venue_status[market] = {"state": "off", "error": why}
            for r in routes:
                self._state(r.key, "off", why)
            return
        await self._refresh(market, feed)
        listed = self._listed[market]
        for r in routes:
            if r.key in self.recorded:
                continue
            vi = listed.get(r.symbol)
            if vi is None:
                self._state(r.key, "unlisted", f"{r.symbol} is not listed on binance {market}")
                continue
            if not vi.trading:
                self._state(r.key, "halted", f"venue status {vi.status}")
                continue
            await self._seed(r.key)
            feed.add_instrument(r.symbol, r.instrument_id)
            self.pipeline.subscribed.add(r.key)
            await feed.subscribe(r.symbol)
            self.recorded[r.key] = r
            self._state(r.key, "recording")
            log.info("md_recording", instrument=r.key, market=market)

    async def _refresh(self, market: str, feed: BinanceMarketFeed) -> None:
        due = time.monotonic() - self._listed_at.get(market, -1e12)
        if market in self._listed and due < self.settings.instruments_refresh_s:
            return
        info = await feed.rest.exchange_info()
        self._listed[market] = info.by_symbol()
        self._listed_at[market] = time.monotonic()
        now = self.clock.now_ns()
        async with self.db.transaction() as s:
            await self.store.upsert_instruments(s, [_row(vi, now) for vi in info.instruments])
        self.venue_status[market] = {**self.venue_status.get(market, {}), "state": "connected",
                                     "listed": len(info.instruments), "error": None}

    async def _seed(self, key: str) -> None:
        """Live mode: continue from what storage holds, so a restart is a visible gap."""
        if self.settings.binance_mode != "live" and route(InstrumentId.parse(key)).native:
            return
        last = await self.history.last_trade(key)
        if last is not None and last[0] > 0:
            self.pipeline.guard.seed(key, last[0])
            self.tracker.downtime[key] = last[1]

    async def _apply_ccxt(self, venue: str, routes: list[Route]) -> None:
        client = self.ccxt.get(venue)
        if client is None:
            client = CcxtVenue(venue, self.pipeline.ingest, on_alarm=self.on_alarm,
                               config=self.settings.ccxt_options.get(venue), clock=self.clock)
            self.ccxt[venue] = client
            ids = await client.load_markets()
            self.venue_status[venue] = {"state": "connected", "listed": len(ids),
                                        "capabilities": client.caps.as_row()}
        for r in routes:
            if r.key in self.recorded:
                continue
            if r.symbol not in client.normalizer.ids:
                self._state(r.key, "unlisted", f"{r.symbol} is not listed on {venue}")
                continue
            self.pipeline.subscribed.add(r.key)
            await client.subscribe(r.symbol, trades=True,
                                   book=client.caps.order_book is not None,
                                   quotes=client.caps.ticker is not None)
            self.recorded[r.key] = r
            self._state(r.key, "recording", f"ccxt: {client.caps.as_row()}")

    async def _stop(self, r: Route) -> None:
        self.pipeline.subscribed.discard(r.key)
        self.instrument_status.pop(r.key, None)
        if r.native:
            feed = self.binance.get(r.market)
            if feed is not None:
                await feed.stream.unsubscribe(feed.stream_names(r.symbol))
        else:
            client = self.ccxt.pop(r.venue, None)
            if client is not None:  # ccxt has no unsubscribe: restart without it
                await client.close()
                for other in [k for k, v in self.recorded.items() if v.venue == r.venue]:
                    self.recorded.pop(other)
        log.info("md_stopped", instrument=r.key)

    async def close(self) -> None:
        for feed in self.binance.values():
            with contextlib.suppress(Exception):
                await feed.close()
        for client in self.ccxt.values():
            with contextlib.suppress(Exception):
                await client.close()

    # --- alarms ----------------------------------------------------------------------------
    def on_alarm(self, alarm: FeedAlarm) -> None:
        self.events.alarm(alarm.venue, alarm.to_dict())
        found = cause_of_alarm(alarm.kind)
        if found is None:
            return
        cause, _stream = found
        on_market = [k for k, r in self.recorded.items()
                     if (r.market if r.native else r.venue) == (alarm.market or alarm.venue)]
        if cause in (Cause.RECONNECT, Cause.STALE_FEED):
            chains, guard = self.pipeline.chains, self.pipeline.guard
            self.tracker.connection_lost(
                on_market, cause, {k: chains[k].last_ts for k in on_market if k in chains},
                {k: guard.last_id(k) for k in on_market})
            return
        if cause is Cause.TRADE_GAP:
            return  # the pipeline's guard reports the exact ids
        for key in on_market:
            if self.recorded[key].symbol == alarm.symbol:
                self.tracker.book_gap(key, cause, alarm.message)

    def backfilled(self, key: str) -> int:
        r = self.recorded.get(key)
        feed = self.binance.get(r.market) if r is not None and r.native else None
        return feed.stats.backfilled if feed is not None else 0

    # --- housekeeping ----------------------------------------------------------------------
    async def maintain(self, every_s: float = 0.25, now: Callable[[], float] = time.monotonic
                       ) -> None:
        while True:
            await asyncio.sleep(every_s)
            self.tick(now())
            try:
                await self.pipeline.flush_cache()
            except ArgosyError as error:
                log.warning("md_cache_failed", error=error.message)

    def tick(self, now: float) -> None:
        for market, feed in self.binance.items():
            if feed.stats.syncs != self._syncs.get(market, 0):
                self._syncs[market] = feed.stats.syncs
                for key, r in self.recorded.items():
                    if r.native and r.market == market and \
                            feed.sync_state(r.symbol) is SyncState.SYNCED:
                        self.pipeline.snapshot(key, "resync")
                        self.tracker.book_resynced(key)
        if now - self._snapshot_at >= self.settings.book_snapshot_s:
            self._snapshot_at = now
            for key in self.recorded:
                self.pipeline.snapshot(key, "periodic")
        rebuild, self.pipeline.rebuild = self.pipeline.rebuild, []
        for key, start, end in rebuild:
            self.tracker.rebuild(key, start, end)
        for key in self.pipeline.check_books():
            self.events.alarm("argosy", {
                "venue": key.rpartition(".")[2], "kind": "crossed_book",
                "message": f"{key}: the stored book is crossed", "ts_ns": self.clock.now_ns(),
                "market": "", "symbol": key, "details": {"source": "market-data"}})
            self.tracker.book_gap(key, Cause.CROSSED_BOOK, "crossed in the service's book")

    def status(self) -> dict[str, Any]:
        feeds = {m: {"connects": f.stream.stats.connects,
                     "disconnects": f.stream.stats.disconnects, "stale": f.stream.stats.stale,
                     "frames": f.stream.stats.data_frames, "trades": f.stats.trades,
                     "backfilled": f.stats.backfilled, "syncs": f.stats.syncs,
                     "sequence_gaps": f.stats.sequence_gaps,
                     "malformed": dict(f.stream.stats.malformed)}
                 for m, f in self.binance.items()}
        return {"binance_mode": self.settings.binance_mode, "venues": self.venue_status,
                "feeds": feeds, "instruments": self.instrument_status}
