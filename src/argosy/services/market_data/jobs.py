"""A backfill as a recorded job: the same code under `argosy backfill` and the admin API.

`BackfillSpec.parse` checks the request before anything runs; `run_job` records the job,
runs it through the `Backfiller`, compares the bars with the venue's klines where there
are any, and records the outcome (rows, bars, mismatches, or the error).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

from argosy.kernel.errors import ArgosyError, Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.platform.db.engine import Database
from argosy.services.market_data.backfill import Backfiller, BackfillResult, Progress
from argosy.services.market_data.domain.queries import DAY_NS, parse_time
from argosy.services.market_data.domain.routing import route
from argosy.services.market_data.models import BackfillJobRow, InstrumentRow, MismatchRow
from argosy.services.market_data.store import MarketStore

__all__ = ["BackfillSpec", "reconcile_window", "run_job"]

log = structlog.get_logger("argosy.market_data.jobs")
_KINDS = ("trades", "aggTrades", "klines")
_MAX_SPAN_NS = 366 * DAY_NS


@dataclass(frozen=True, slots=True)
class BackfillSpec:
    instrument: str
    source: str  # rest | archive
    kind: str = "trades"  # rest only: trades | aggTrades | klines
    start_ns: int | None = None
    end_ns: int | None = None
    from_id: int | None = None
    to_id: int | None = None
    interval: str = "1m"
    paths: tuple[str, ...] = field(default_factory=tuple)
    reconcile: bool = True

    @classmethod
    def parse(cls, data: dict[str, Any]) -> BackfillSpec:
        iid = InstrumentId.parse(str(data.get("instrument", "")), field="instrument")
        source = str(data.get("source", "rest"))
        if source not in ("rest", "archive"):
            raise Invalid("source must be rest or archive", field="source")
        kind = str(data.get("kind", "trades"))
        if kind not in _KINDS:
            raise Invalid(f"kind must be one of {', '.join(_KINDS)}", field="kind")
        start = parse_time(_text(data.get("start")), "start")
        end = parse_time(_text(data.get("end")), "end")
        interval = Interval.parse(str(data.get("interval", "1m"))).value
        paths = tuple(str(p) for p in data.get("paths") or ())
        from_id, to_id = _id(data.get("from_id"), "from_id"), _id(data.get("to_id"), "to_id")
        if source == "archive":
            if not paths:
                raise Invalid("an archive backfill needs paths", field="paths")
        elif kind == "trades" and from_id is None and start is None:
            raise Invalid("give from_id (and to_id) or start and end", field="start")
        elif kind != "trades" and (start is None or end is None):
            raise Invalid(f"a {kind} backfill needs start and end", field="start")
        if start is not None and end is not None:
            if start >= end:
                raise Invalid("start must be before end", field="start")
            if end - start > _MAX_SPAN_NS:
                raise Invalid("one backfill covers at most 366 days; split it", field="end")
        if from_id is not None and to_id is not None and to_id < from_id:
            raise Invalid("to_id must not be below from_id", field="to_id")
        if source == "rest" and not route(iid).native:
            raise Invalid("REST backfill is implemented for Binance instruments",
                          field="instrument")
        return cls(str(iid), source, kind, start, end, from_id, to_id, interval, paths,
                   bool(data.get("reconcile", True)))

    def params(self) -> dict[str, Any]:
        out = asdict(self)
        out["paths"] = list(self.paths)
        return out


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _id(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"{name} must be a non-negative integer", field=name)
    return value


async def _execute(spec: BackfillSpec, bf: Backfiller, progress: Progress
                   ) -> list[BackfillResult]:
    iid = InstrumentId.parse(spec.instrument)
    if spec.source == "archive":
        return [await bf.archive(iid, Path(p), progress=progress) for p in spec.paths]
    if spec.kind == "klines":
        assert spec.start_ns is not None
        assert spec.end_ns is not None
        return [await bf.rest_klines(iid, Interval(spec.interval), start_ns=spec.start_ns,
                                     end_ns=spec.end_ns, progress=progress)]
    if spec.kind == "aggTrades":
        assert spec.start_ns is not None
        assert spec.end_ns is not None
        return [await bf.rest_agg_trades(iid, start_ns=spec.start_ns, end_ns=spec.end_ns,
                                         progress=progress)]
    return [await bf.rest_trades(iid, from_id=spec.from_id, to_id=spec.to_id,
                                 start_ns=spec.start_ns, end_ns=spec.end_ns, progress=progress)]


async def _register(db: Database, store: MarketStore, key: str, now: int) -> None:
    """An instrument only ever backfilled still needs a row, so queries know it."""
    iid = InstrumentId.parse(key)
    r = route(iid)
    async with db.transaction() as s:
        if await store.instrument(s, key) is None:
            await store.upsert_instruments(s, [InstrumentRow(
                instrument_id=key, venue=iid.venue, market=r.market, symbol=r.symbol,
                base=iid.base, quote=iid.quote, kind=iid.kind.value, status="unknown",
                source="backfill", updated_ns=now)])


async def run_job(spec: BackfillSpec, bf: Backfiller, db: Database, store: MarketStore, *,
                  by: str, progress: Progress | None = None, job_id: str | None = None
                  ) -> dict[str, Any]:
    now = bf.clock.now_ns()
    job_id = job_id or uuid.uuid4().hex
    async with db.transaction() as s:
        if await store.job(s, job_id) is None:
            store.add(s, BackfillJobRow(
                id=job_id, instrument_id=spec.instrument, source=spec.source, kind=spec.kind,
                params=spec.params(), status="running", rows=0, bars=0, detail="",
                created_by=by, created_ns=now))
    await _register(db, store, spec.instrument, now)
    status, detail, rows, bars = "done", "", 0, 0
    try:
        results = await _execute(spec, bf, progress or (lambda _r, _f: None))
        rows = sum(r.rows for r in results)
        bars = sum(r.bars_1m for r in results)
        stored = sum(r.stored for r in results)
        mismatches = await _reconcile(spec, bf, db, store, results)
        detail = f"{rows} rows read, {stored} new"
        if mismatches is not None:
            detail += f"; {mismatches} differences from the venue's klines"
    except ArgosyError as error:
        status, detail = "failed", error.message
        log.warning("md_backfill_failed", job=job_id, error=error.message)
    async with db.transaction() as s:
        row = await store.job(s, job_id)
        assert row is not None
        row.status, row.detail, row.rows, row.bars = status, detail, rows, bars
        row.finished_ns = bf.clock.now_ns()
        return row.as_dict()


async def _reconcile(spec: BackfillSpec, bf: Backfiller, db: Database, store: MarketStore,
                     results: list[BackfillResult]) -> int | None:
    trades = [r for r in results if r.stream != "klines" and r.first_ts is not None]
    if not spec.reconcile or not trades:
        return None
    start = min(r.first_ts for r in trades if r.first_ts is not None)
    end = max(r.last_ts for r in trades if r.last_ts is not None) + 1
    return await reconcile_window(bf, db, store, InstrumentId.parse(spec.instrument), start,
                                  end, fetch=spec.source == "rest")


async def reconcile_window(bf: Backfiller, db: Database, store: MarketStore,
                           iid: InstrumentId, start: int, end: int, *, fetch: bool = True
                           ) -> int:
    """Compare our 1m bars with the venue's over [start, end) and record the differences
    (replacing what an earlier check of the same minutes found)."""
    try:
        found = await bf.compare(iid, Interval.M1, start, end, fetch=fetch)
    except ArgosyError as error:
        log.info("md_reconcile_without_rest", instrument=str(iid), error=error.message)
        found = await bf.compare(iid, Interval.M1, start, end, fetch=False)
    now = bf.clock.now_ns()
    lo = start - start % Interval.M1.ns
    async with db.transaction() as s:
        await store.replace_mismatches(s, str(iid), "1m", lo, end, [
            MismatchRow(instrument_id=str(iid), interval="1m", ts_open_ns=m.ts_open,
                        field=m.field, ours=m.ours, theirs=m.theirs, found_ns=now)
            for m in found])
    if found:
        log.warning("md_kline_mismatches", instrument=str(iid), count=len(found),
                    first=found[0].ts_open, field=found[0].field)
    return len(found)
