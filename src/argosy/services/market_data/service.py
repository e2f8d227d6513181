"""Use-cases of the market-data API: history reads, live views, subscriptions, jobs.

Every input is checked here (domain/queries.py does the parsing) before storage is asked
anything; an instrument must be known (listed by a connected venue, subscribed, or
backfilled) or the answer is 404 naming it, so a typo is not mistaken for "no data".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from argosy.kernel.clock import Clock
from argosy.kernel.errors import Forbidden, Invalid, NotFound, Unavailable
from argosy.kernel.instruments import InstrumentId
from argosy.platform.auth.internal import Principal
from argosy.platform.cache.base import Cache
from argosy.platform.db.engine import Database
from argosy.services.market_data.backfill import Backfiller
from argosy.services.market_data.domain.continuity import day_report
from argosy.services.market_data.domain.queries import (
    DAY_NS,
    CandleQuery,
    Limits,
    TradeQuery,
    parse_day,
)
from argosy.services.market_data.domain.routing import route
from argosy.services.market_data.feeds import FeedManager
from argosy.services.market_data.history import History
from argosy.services.market_data.jobs import BackfillSpec, run_job
from argosy.services.market_data.models import InstrumentRow
from argosy.services.market_data.pipeline import Pipeline
from argosy.services.market_data.store import MarketStore

__all__ = ["MarketDataService"]


def _num(value: Any) -> str:
    return f"{value.normalize():f}" if value else "0"


def _instrument(row: InstrumentRow, subscribed: bool) -> dict[str, Any]:
    return {
        "instrument_id": row.instrument_id, "venue": row.venue, "market": row.market,
        "symbol": row.symbol, "base": row.base, "quote": row.quote, "kind": row.kind,
        "status": row.status, "tick_size": row.tick_size, "lot_size": row.lot_size,
        "min_qty": row.min_qty, "min_notional": row.min_notional, "max_qty": row.max_qty,
        "source": row.source, "updated_ns": row.updated_ns, "subscribed": subscribed,
    }


class MarketDataService:
    def __init__(self, db: Database, store: MarketStore, history: History,
                 pipeline: Pipeline, feeds: FeedManager, backfiller: Backfiller,
                 cache: Cache | None, clock: Clock, limits: Limits | None = None) -> None:
        self.db, self.store, self.history = db, store, history
        self.pipeline, self.feeds, self.backfiller = pipeline, feeds, backfiller
        self.cache, self.clock = cache, clock
        self.limits = limits or Limits()
        self._jobs: set[asyncio.Task[Any]] = set()

    # --- instruments -----------------------------------------------------------------------
    async def _known(self, iid: InstrumentId) -> None:
        key = str(iid)
        async with self.db.read() as s:
            if await self.store.instrument(s, key) is not None:
                return
            if any(r.instrument_id == key for r in await self.store.subscriptions(s)):
                return
        raise NotFound(f"unknown instrument {key}: no connected venue lists it and it was "
                       "never recorded or backfilled", field="instrument")

    async def instruments(self, *, venue: str | None, kind: str | None, search: str | None,
                          subscribed: bool | None, cursor: str | None, limit: int
                          ) -> dict[str, Any]:
        if not 1 <= limit <= 5000:
            raise Invalid(f"limit must be between 1 and 5000, got {limit}", field="limit")
        if kind not in (None, "spot", "perp"):
            raise Invalid("kind must be spot or perp", field="kind")
        async with self.db.read() as s:
            active = {r.instrument_id for r in await self.store.subscriptions(s) if r.active}
            rows = await self.store.instruments(
                s, venue=venue, kind=kind, search=search, after=cursor, limit=limit,
                ids=sorted(active) if subscribed else None)
        items = [_instrument(r, r.instrument_id in active) for r in rows
                 if subscribed is not False or r.instrument_id not in active]
        return {"items": items,
                "next_cursor": rows[-1].instrument_id if len(rows) == limit else None}

    # --- history ---------------------------------------------------------------------------
    async def candles(self, *, instrument: str, interval: str, start: str | None,
                      end: str | None, limit: int | None, cursor: str | None,
                      source: str) -> dict[str, Any]:
        if source not in ("trades", "exchange"):
            raise Invalid("source must be trades (built here) or exchange (venue klines)",
                          field="source")
        q = CandleQuery.parse(instrument, interval, start, end, limit, cursor, self.limits)
        await self._known(q.instrument)
        rows = await self.history.candles(q, source)
        items: list[dict[str, Any]] = [
            {"ts_open_ns": int(t), "ts_close_ns": int(t) + q.interval.ns, "open": _num(o),
             "high": _num(h), "low": _num(low), "close": _num(c), "volume": _num(v),
             "trades": int(n), "final": True} for t, o, h, low, c, v, n in rows]
        if source == "trades" and len(items) < q.limit:
            items += self._open_bar(q, items)
        nxt = q.next_cursor(items[-1]["ts_open_ns"], len(items)) if items else None
        return {"instrument": str(q.instrument), "interval": q.interval.value,
                "source": source, "items": items, "next_cursor": nxt}

    def _open_bar(self, q: CandleQuery, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        bar = self.pipeline.open_bar(str(q.instrument), q.interval)
        if bar is None or (items and items[-1]["ts_open_ns"] >= bar.ts_open):
            return []
        if (q.start is not None and bar.ts_open < q.start) or (
                q.end is not None and bar.ts_open >= q.end):
            return []
        return [{"ts_open_ns": bar.ts_open, "ts_close_ns": bar.ts_close, "open": _num(bar.open),
                 "high": _num(bar.high), "low": _num(bar.low), "close": _num(bar.close),
                 "volume": _num(bar.volume), "trades": bar.trades, "final": False}]

    async def trades(self, *, instrument: str, start: str | None, end: str | None,
                     limit: int | None, cursor: str | None, stream: str) -> dict[str, Any]:
        if stream not in ("trade", "aggTrade"):
            raise Invalid("stream must be trade or aggTrade", field="stream")
        q = TradeQuery.parse(instrument, start, end, limit, cursor, self.limits)
        await self._known(q.instrument)
        rows = await self.history.trades(q, stream)
        items = [{"trade_id": tid, "ts_ns": int(ts), "price": _num(p), "quantity": _num(qty),
                  "aggressor_side": side} for ts, _seq, tid, p, qty, side in rows]
        nxt = None
        if rows:
            last = rows[-1]
            nxt = q.next_cursor((int(last[0]), int(last[1]), str(last[2])), len(rows))
        return {"instrument": str(q.instrument), "stream": stream, "items": items,
                "next_cursor": nxt}

    # --- live views ------------------------------------------------------------------------
    async def book(self, instrument: str, depth: int) -> dict[str, Any]:
        if not 1 <= depth <= 5000:
            raise Invalid(f"depth must be between 1 and 5000, got {depth}", field="depth")
        iid = InstrumentId.parse(instrument, field="instrument")
        key = str(iid)
        book = self.pipeline.book(key)
        if book is None or key not in self.pipeline.subscribed:
            await self._known(iid)
            raise NotFound(f"no live book for {key}: it is not being recorded",
                           field="instrument")
        r = route(iid)
        feed = self.feeds.binance.get(r.market) if r.native else None
        if feed is not None and feed.book(r.symbol) is None:
            raise Unavailable(f"the book of {key} is being resynchronised; retry shortly",
                              dependency=r.venue)
        bids, asks = book.depth(depth)
        return {"instrument": key, "sequence": book.last_update_id, "ts_ns": self.clock.now_ns(),
                "bids": [[_num(p), _num(q)] for p, q in bids],
                "asks": [[_num(p), _num(q)] for p, q in asks]}

    async def ticker(self, instrument: str | None) -> dict[str, Any]:
        keys = [str(InstrumentId.parse(instrument, field="instrument"))] if instrument else \
            sorted(self.pipeline.subscribed)
        if self.cache is None:
            raise Unavailable("no cache configured", dependency="cache")
        items = []
        for key in keys:
            value = await self.cache.get_json(f"ticker:{key}")
            if value is not None:
                items.append(value)
        if instrument and not items:
            await self._known(InstrumentId.parse(instrument, field="instrument"))
            raise NotFound(f"no ticker for {keys[0]} yet: nothing received", field="instrument")
        return {"items": items}

    # --- continuity ------------------------------------------------------------------------
    async def continuity(self, *, instrument: str, start_day: str | None,
                         end_day: str | None) -> dict[str, Any]:
        iid = InstrumentId.parse(instrument, field="instrument")
        await self._known(iid)
        key = str(iid)
        if start_day is None and end_day is None:
            days = (await self.history.days_with_data(key))[-1:] or [
                parse_day(_today(self.clock.now_ns()))]
        else:
            lo = parse_day(start_day or end_day or "", "start_day")
            hi = parse_day(end_day or start_day or "", "end_day")
            if hi < lo:
                raise Invalid("end_day is before start_day", field="end_day")
            if (hi - lo) // DAY_NS + 1 > self.limits.max_days:
                raise Invalid(f"at most {self.limits.max_days} days per report", field="end_day")
            days = list(range(lo, hi + DAY_NS, DAY_NS))
        out = []
        for day_ns in days:
            stats = await self.history.day_stats(key, day_ns, _today(day_ns))
            async with self.db.read() as s:
                gaps = await self.store.gaps(s, instrument_id=key, start=day_ns,
                                             end=day_ns + DAY_NS, status=None, limit=500)
                mismatches = await self.store.mismatch_count(s, key, day_ns, day_ns + DAY_NS)
            out.append(day_report(stats, [g.as_dict() for g in gaps], mismatches))
        return {"instrument": key, "days": out}

    async def gaps(self, instrument: str | None, status: str | None, limit: int
                   ) -> dict[str, Any]:
        key = str(InstrumentId.parse(instrument, field="instrument")) if instrument else None
        async with self.db.read() as s:
            rows = await self.store.gaps(s, instrument_id=key, start=None, end=None,
                                         status=status, limit=limit)
        return {"items": [r.as_dict() for r in rows]}

    # --- subscriptions ---------------------------------------------------------------------
    async def subscriptions(self) -> dict[str, Any]:
        async with self.db.read() as s:
            rows = await self.store.subscriptions(s)
        status = self.feeds.instrument_status
        return {"items": [{"instrument": r.instrument_id, "active": r.active, "source": r.source,
                           "changed_by": r.changed_by, "changed_ns": r.changed_ns,
                           **status.get(r.instrument_id, {"state": "inactive", "detail": ""})}
                          for r in rows]}

    async def subscribe(self, p: Principal, instrument: str) -> dict[str, Any]:
        iid = InstrumentId.parse(instrument, field="instrument")
        r = route(iid)
        if not r.native and not _ccxt_has(r.venue):
            raise Invalid(f"no connector for venue {r.venue!r}", field="instrument")
        listed = self.feeds.listed(r.market) if r.native else None
        if listed is not None and r.symbol not in listed:
            raise Invalid(f"{iid} is not listed on binance {r.market}", field="instrument")
        async with self.db.transaction() as s:
            await self.store.set_subscription(s, str(iid), source="api", active=True,
                                              by=p.subject, now=self.clock.now_ns())
        self.feeds.wake()
        return {"instrument": str(iid), "active": True}

    async def unsubscribe(self, p: Principal, instrument: str) -> None:
        key = str(InstrumentId.parse(instrument, field="instrument"))
        async with self.db.transaction() as s:
            rows = {r.instrument_id: r for r in await self.store.subscriptions(s)}
            row = rows.get(key)
            if row is None or not row.active:
                raise NotFound(f"{key} is not subscribed", field="instrument")
            await self.store.set_subscription(s, key, source=row.source, active=False,
                                              by=p.subject, now=self.clock.now_ns())
        self.feeds.wake()

    # --- backfill jobs ---------------------------------------------------------------------
    async def start_backfill(self, p: Principal, body: dict[str, Any]) -> dict[str, Any]:
        spec = BackfillSpec.parse(body)
        if spec.source == "archive" and p.kind != "operator":
            # Paths name files on this machine: only an operator holding the platform's
            # internal secret (`argosy backfill archive --service`) may point the service
            # at them, never a remote admin through the gateway.
            raise Forbidden("archive paths can only be given by an operator on the "
                            "platform's machine (argosy backfill archive --service)",
                            field="paths")
        job_id = uuid.uuid4().hex
        task = asyncio.create_task(run_job(spec, self.backfiller, self.db, self.store,
                                           by=p.subject, job_id=job_id))
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)
        for _ in range(50):  # the job row exists before we answer
            if await self.job(job_id, missing_ok=True):
                break
            await asyncio.sleep(0.01)
        return {"id": job_id, "status": "running", "params": spec.params()}

    async def job(self, job_id: str, missing_ok: bool = False) -> dict[str, Any] | None:
        async with self.db.read() as s:
            row = await self.store.job(s, job_id)
        if row is None:
            if missing_ok:
                return None
            raise NotFound(f"no backfill job {job_id}", field="id")
        return row.as_dict()

    async def jobs(self, limit: int) -> dict[str, Any]:
        async with self.db.read() as s:
            return {"items": [r.as_dict() for r in await self.store.jobs(s, limit)]}


def _today(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC).strftime("%Y-%m-%d")


def _ccxt_has(venue: str) -> bool:
    import ccxt  # type: ignore[import-untyped]

    return venue in ccxt.exchanges

