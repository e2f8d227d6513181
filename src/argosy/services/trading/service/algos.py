"""Execution algorithms as use-cases: create (TWAP, VWAP, iceberg, POV, SOR), read,
pause, resume, cancel. The driving itself (children, reports, checkpoints) is
algo_driver.py; this module validates, stores the parent and answers.

Tenancy as for orders: an algorithm is visible only to the user who created it, in their
organisation; anyone else's id reads as 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from argosy.contracts.v1.trading import AlgoIn, AlgoOut
from argosy.kernel.errors import ArgosyError, Conflict, Invalid, NotFound, Unavailable
from argosy.kernel.ids import new_id
from argosy.kernel.instruments import Instrument
from argosy.kernel.messages import Side
from argosy.kernel.money import Quantity
from argosy.services.trading.domain.algos import ParentAlgo, VolumeProfile
from argosy.services.trading.domain.algos.schedule import DAY_NS
from argosy.services.trading.domain.sor import RouteRequest, VenueBook, route
from argosy.services.trading.models import AccountRow, AlgoRow
from argosy.services.trading.service._accounts import owned_account
from argosy.services.trading.service._context import Caller, Deps
from argosy.services.trading.service.algo_driver import AlgoDriver
from argosy.services.trading.service.algo_params import (
    NS,
    build,
    decimal_param,
    int_param,
    parse_common,
    price_param,
)

__all__ = ["AlgoService", "CandleFetch"]

# (instrument, interval, start_ns) -> candle rows as GET /api/v1/market/candles answers
CandleFetch = Callable[[str, str, int], Awaitable[Sequence[Mapping[str, Any]]]]
_INTERVALS = {"5m": 300 * NS, "15m": 900 * NS, "1h": 3600 * NS}
_DOMAIN_PARAMS = {"slices", "randomize", "show_quantity", "rate", "min_child", "max_child",
                  "end_ns", "bucket_ns", "bars", "weights"}
PAPER_FEE_BPS = Decimal(10)  # the paper venue's default (Binance spot base tier)


class AlgoService:
    def __init__(self, d: Deps, driver: AlgoDriver, candles: CandleFetch | None) -> None:
        self.d, self.driver, self.candles = d, driver, candles

    # -- create --------------------------------------------------------------------------
    async def create(self, c: Caller, body: AlgoIn) -> tuple[AlgoOut, bool]:
        c.require("orders:write")
        d = self.d
        async with d.db.read() as s:
            account = await owned_account(d, s, c, body.account_id)
            if body.client_algo_id is not None:
                existing = await s.scalar(select(AlgoRow).where(
                    AlgoRow.account_id == account.id,
                    AlgoRow.client_algo_id == body.client_algo_id))
                if existing is not None:
                    return await self._replay(existing, body), False
        instrument = await d.instruments.get(body.instrument)
        key = str(instrument.id)
        await self.driver.feed.ensure_book(key)
        now = d.now()
        params = parse_common(body, instrument, now)
        params["request"] = body.model_dump(mode="json", exclude={"client_algo_id"})
        if body.type == "vwap":
            params["profile"] = await self._profile(key, body.params, now)
        algo_id = new_id("a").replace("_", "")  # 27 characters: children fit 36
        if body.type == "sor":
            params["legs"], params["plan"] = await self._route(c, body, instrument, account)
        try:
            algo = build(algo_id, params, instrument)
        except Invalid as exc:
            if exc.field in _DOMAIN_PARAMS:
                raise Invalid(exc.message, field=f"params.{exc.field}", code=exc.code
                              ) from None
            raise
        await self.driver.orders.reconciler.ensure_ready(account)
        row = AlgoRow(id=algo_id, account_id=account.id, org_id=account.org_id,
                      user_id=account.user_id, client_algo_id=body.client_algo_id,
                      kind=body.type, instrument=key, side=body.side, params=params,
                      state=algo.checkpoint(), status=algo.status.value, reason=None,
                      created_ns=now, updated_ns=now, version=0)
        try:
            async with d.db.transaction() as s:
                s.add(row)
        except IntegrityError:
            raise Conflict("client_algo_id is being used by a concurrent request",
                           field="client_algo_id", code="duplicate_client_algo_id") from None
        await self.driver.drive(algo_id)  # the first step: a due slice, the SOR children
        return await self.view(algo_id), True

    async def _replay(self, row: AlgoRow, body: AlgoIn) -> AlgoOut:
        if row.params.get("request") != body.model_dump(mode="json",
                                                        exclude={"client_algo_id"}):
            raise Conflict(f"client_algo_id {body.client_algo_id} was used for a different "
                           f"algorithm ({row.id})", field="client_algo_id",
                           code="duplicate_client_algo_id")
        return await self.view(row.id)

    async def _profile(self, key: str, p: Mapping[str, Any], now: int) -> dict[str, Any]:
        """The VWAP volume profile from the market-data service's candles (fetched once,
        stored with the parameters, so a restart rebuilds the same schedule)."""
        interval = str(p.get("profile_interval", "15m"))
        if interval not in _INTERVALS:
            raise Invalid(f"profile_interval must be one of {', '.join(_INTERVALS)}",
                          field="params.profile_interval")
        days = int_param(p.get("profile_days"), "params.profile_days", 7, low=1, high=30)
        if self.candles is None:
            raise Unavailable("no market-data client to fetch candles from",
                              dependency="market-data")
        try:
            rows = await self.candles(key, interval, now - days * DAY_NS)
        except ArgosyError as exc:
            raise Unavailable(f"market-data (GET /api/v1/market/candles) is needed for the "
                              f"VWAP volume profile and failed: {exc.message}",
                              dependency="market-data") from None
        bucket = _INTERVALS[interval]
        days_seen: dict[int, dict[int, Decimal]] = {}
        for r in rows:
            ts, volume = int(r["ts_open_ns"]), Decimal(str(r["volume"]))
            day = days_seen.setdefault(ts // DAY_NS, {})
            day[ts % DAY_NS // bucket] = day.get(ts % DAY_NS // bucket, Decimal(0)) + volume
        shares = [Decimal(0)] * (DAY_NS // bucket)
        counted = 0
        for volumes in days_seen.values():
            total = sum(volumes.values(), Decimal(0))
            if total > 0:
                counted += 1
                for b, v in volumes.items():
                    shares[b] += v / total
        if not counted:
            raise Invalid(f"market-data has no {interval} volume for {key} over the last "
                          f"{days} days to learn a profile from", field="params.profile_days")
        profile = VolumeProfile(bucket, tuple(x / counted for x in shares))
        return {"bucket_ns": profile.bucket_ns, "shares": [str(x) for x in profile.shares],
                "days": counted}

    async def _route(self, c: Caller, body: AlgoIn, instrument: Instrument,
                     account: AccountRow) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """One VenueBook per candidate account (its mirrored book, fee, latency, balance),
        routed; returns the legs to send and the plan as the API shows it."""
        d = self.d
        key = str(instrument.id)
        async with d.db.read() as s:
            accounts = [account] if not body.account_ids else \
                [await owned_account(d, s, c, a) for a in dict.fromkeys(body.account_ids)]
            balances = {a.id: {b.asset: Decimal(b.total) for b in await d.store.balances(
                s, [a.id], a.org_id)} for a in accounts}
        bids, asks, _ = self.driver.feed._books.get(key, ([], [], 0))
        side = Side(body.side)
        levels = asks if side is Side.BUY else bids
        if not levels:
            raise Unavailable(f"no order book known for {key} to route on",
                              dependency="market-data")
        books, notes = [], []
        for a in accounts:
            paper = a.kind == "paper"
            latency = Decimal(d.settings.paper_latency_ms) if paper else Decimal(0)
            asset = instrument.quote if side is Side.BUY else instrument.base
            books.append(VenueBook(
                a.id, levels, PAPER_FEE_BPS, PAPER_FEE_BPS, latency,
                balances[a.id].get(asset, Decimal(0)), instrument.lot_size,
                instrument.tick_size, instrument.min_qty, instrument.min_notional.amount))
            if not paper:
                notes.append(f"{a.id}: fee assumed {PAPER_FEE_BPS} bps and latency 0 ms "
                             "(no measured schedule yet)")
        penalty = decimal_param(body.params.get("latency_penalty_bps_per_ms", "0.1"),
                                "params.latency_penalty_bps_per_ms")
        assert penalty is not None
        plan = route(RouteRequest(side, Quantity(body.quantity),
                                  price_param(body.limit_price, "limit_price"), penalty), books)
        out: dict[str, Any] = dict(plan.to_dict())
        out["notes"] = [*plan.notes, *notes]
        if len(accounts) == 1:
            out["notes"].append(f"one candidate account ({accounts[0].id}): the plan walks "
                                "its book only; name more in account_ids to split")
        legs = [{"account_id": a.venue, "quantity": a.quantity.to_str(),
                 "limit_price": a.limit_price.to_str()} for a in plan.allocations]
        return legs, out

    # -- read ----------------------------------------------------------------------------
    async def _owned(self, c: Caller, algo_id: str) -> AlgoRow:
        async with self.d.db.read() as s:
            row = await s.get(AlgoRow, algo_id)
        if row is None or row.org_id != c.org or row.user_id != c.user_id:
            raise NotFound("no such algorithm of yours", field="algo_id")
        return row

    async def get(self, c: Caller, algo_id: str) -> AlgoOut:
        c.require("orders:read")
        await self._owned(c, algo_id)
        return await self.view(algo_id)

    async def list_algos(self, c: Caller, status: str | None, limit: int) -> list[AlgoOut]:
        c.require("orders:read")
        async with self.d.db.read() as s:
            q = select(AlgoRow.id).where(AlgoRow.org_id == c.org,
                                         AlgoRow.user_id == c.user_id)
            if status:
                q = q.where(AlgoRow.status.in_(status.split(",")))
            ids = list(await s.scalars(q.order_by(AlgoRow.id.desc()).limit(limit)))
        return [await self.view(i) for i in ids]

    async def view(self, algo_id: str) -> AlgoOut:
        async with self.d.db.read() as s:
            loaded = await self.driver.load(s, algo_id)
        if loaded is None:
            raise NotFound("no such algorithm", field="algo_id")
        row, algo, children = loaded
        orders = {o.client_order_id: o for o in children}
        body: dict[str, Any] = dict(algo.view())
        kids = []
        for child in body.pop("children"):
            order = orders.get(child["child_id"])
            kids.append({**child, "order_id": order.id if order else None,
                         "account_id": order.account_id if order else None,
                         "order_status": order.status if order else None})
        end = getattr(algo, "end_ns", None)
        return AlgoOut(**body, account_id=row.account_id, client_algo_id=row.client_algo_id,
                       created_ns=row.created_ns, updated_ns=row.updated_ns,
                       end_ns=end if isinstance(end, int) else None, children=kids,
                       plan=row.params.get("plan"))

    # -- control -------------------------------------------------------------------------
    async def _control(self, c: Caller, algo_id: str,
                       action: Callable[[ParentAlgo, int], Any]) -> AlgoOut:
        c.require("orders:write")
        await self._owned(c, algo_id)
        await self.driver.drive(algo_id, action)
        return await self.view(algo_id)

    async def pause(self, c: Caller, algo_id: str) -> AlgoOut:
        return await self._control(c, algo_id, lambda a, now: a.pause(now))

    async def resume(self, c: Caller, algo_id: str) -> AlgoOut:
        return await self._control(c, algo_id, lambda a, now: a.resume(now))

    async def cancel(self, c: Caller, algo_id: str) -> AlgoOut:
        return await self._control(c, algo_id, lambda a, now: a.cancel(now))
