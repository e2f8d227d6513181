"""Placing, cancelling and amending orders.

Place: parse and check (shape, instrument filters, reduce-only, balance, the pre-trade
gate) → store as `new` in one transaction (the idempotency key decides replay vs 409) →
send (sending.py). Until the account's reconciliation with its venue has succeeded, new
orders are refused and cancels are allowed: fail-closed. Bad input raises before anything
is written, so no rejected input ever becomes a live order.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.v1.trading import AmendIn, CancelAllIn, CancelAllOut, OrderIn, OrderOut
from argosy.kernel.errors import Conflict, Invalid, NotFound, Unavailable, VenueError
from argosy.kernel.ids import new_id, validate_client_order_id
from argosy.kernel.instruments import InstrumentId, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import OrderStatus, OrderType, TimeInForce
from argosy.services.trading.domain.checks import (
    OrderSpec,
    check_balance,
    check_reduce_only,
    check_shape,
    check_with_instrument,
    reference_price,
    requirement,
)
from argosy.services.trading.domain.ledger import unrealized
from argosy.services.trading.domain.lifecycle import is_open
from argosy.services.trading.domain.pretrade import OrderContext
from argosy.services.trading.events import order_event
from argosy.services.trading.models import AccountRow, OrderRow, TransitionRow
from argosy.services.trading.service._accounts import locked_by, owned_account
from argosy.services.trading.service._context import Caller, Deps
from argosy.services.trading.service._views import order_out
from argosy.services.trading.service.execution import Executions, transition
from argosy.services.trading.service.ledger import position_state
from argosy.services.trading.service.market_feed import MarketFeed
from argosy.services.trading.service.recovery import Reconciler
from argosy.services.trading.service.sending import Sender

__all__ = ["OrdersService", "parse_spec"]

S = OrderStatus


def _amount(text: str | None, kind: type[Price] | type[Quantity], field: str
            ) -> Price | Quantity | None:
    if text is None:
        return None
    try:
        return kind(text)
    except Invalid as exc:
        raise Invalid(f"{field}: {exc.message}", field=field) from None


def parse_spec(body: OrderIn) -> OrderSpec:
    qty = _amount(body.quantity, Quantity, "quantity")
    price = _amount(body.price, Price, "price")
    stop = _amount(body.stop_price, Price, "stop_price")
    assert isinstance(qty, Quantity)
    return OrderSpec(Side(body.side), OrderType(body.type), qty,
                     price if isinstance(price, Price) else None,
                     stop if isinstance(stop, Price) else None, body.trailing_bps,
                     TimeInForce(body.time_in_force), body.expire_at, body.reduce_only)


class OrdersService:
    def __init__(self, d: Deps, sender: Sender, executions: Executions,
                 reconciler: Reconciler, feed: MarketFeed) -> None:
        self.d, self.sender, self.executions = d, sender, executions
        self.reconciler, self.feed = reconciler, feed
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # submissions per account, for the order-rate rule (the last minutes are enough)
        self._recent: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=1000))

    async def place(self, c: Caller, body: OrderIn) -> tuple[OrderOut, bool]:
        """The order, and whether it was created now (False: an idempotent replay)."""
        c.require("orders:write")
        d = self.d
        async with d.db.read() as s:
            account = await owned_account(d, s, c, body.account_id)
        coid = validate_client_order_id(body.client_order_id) if body.client_order_id \
            else new_id("c")
        instrument = await d.instruments.get(body.instrument)
        spec = parse_spec(body)
        check_shape(spec, d.now())
        key = str(instrument.id)
        fingerprint = spec.fingerprint(account.id, key)
        handle = d.venues.known(account.id)
        if handle is None or handle.ephemeral:  # the paper venue needs a book to match on
            await self.feed.ensure_book(key)
        async with self._locks[account.id]:
            replay = await self._replay(account.id, coid, fingerprint)
            if replay is not None:
                return replay, False
            await self.reconciler.ensure_ready(account)
            order = await self._store(c, account, coid, fingerprint, key, spec)
        await self.sender.send(account, order.id)
        async with d.db.read() as s:
            row = await d.store.order(s, order.id)
            assert row is not None
            return order_out(row), True

    async def _replay(self, account_id: str, coid: str, fingerprint: str) -> OrderOut | None:
        async with self.d.db.read() as s:
            existing = await self.d.store.order_by_client_id(s, account_id, coid)
        if existing is None:
            return None
        if existing.fingerprint != fingerprint:
            raise Conflict(f"client_order_id {coid} was used for a different order "
                           f"({existing.id})", field="client_order_id",
                           code="duplicate_client_order_id")
        return order_out(existing)

    async def _store(self, c: Caller | None, account: AccountRow, coid: str, fingerprint: str,
                     key: str, spec: OrderSpec, *, parent_algo_id: str | None = None,
                     also: Callable[[AsyncSession], Awaitable[None]] | None = None
                     ) -> OrderRow:
        """Check and store one order as `new`. Execution algorithms (service/algos.py) store
        their children here with `parent_algo_id`, and `also` writes the parent's
        checkpoint in the same transaction."""
        d = self.d
        instrument = await d.instruments.get(key)
        taker = d.marks.taker_price(key, spec.side is Side.BUY)
        ref = reference_price(spec, taker)
        check_with_instrument(spec, instrument, ref)
        now = d.now()
        async with d.db.transaction() as s:
            await self._serialize(s, account.id)
            open_rows = await d.store.open_orders(s, account.id)
            if len(open_rows) >= d.settings.max_open_orders:
                raise Invalid(f"at most {d.settings.max_open_orders} open orders per account",
                              field="account_id", code="too_many_open_orders")
            pos = await d.store.position(s, account.id, key)
            pos_qty = Decimal(pos.quantity) if pos else Decimal(0)
            pending = sum((Decimal(o.quantity) - Decimal(o.filled_quantity) for o in open_rows
                           if o.reduce_only and o.instrument == key and o.side == spec.side),
                          Decimal(0))
            check_reduce_only(spec, pos_qty, pending)
            lev = (pos.leverage if pos is not None else None) or d.settings.perp_leverage
            need = requirement(spec, instrument, ref, lev)
            if need is not None:
                bal = await d.store.balance(s, account.id, need.asset)
                instruments = {i: d.instruments.cached(i) for i in {o.instrument
                                                                    for o in open_rows}}
                held = locked_by(open_rows, {k: v for k, v in instruments.items() if v},
                                 {o.instrument: d.marks.mark(o.instrument) for o in open_rows},
                                 d.settings.perp_leverage)
                total = Decimal(bal.total) if bal else Decimal(0)
                check_balance(need, total - held.get(need.asset, Decimal(0)))
            gross, net, equity = await self._exposure(s, account)
            recent = self._recent[account.id]
            decision = d.gate.gate.check(OrderContext(
                account.id, account.org_id, account.user_id, instrument, spec, ref,
                d.marks.mark(key), pos_qty, len(open_rows), now, tuple(recent), gross, net,
                equity))
            if not decision.allowed:
                raise Invalid(f"pre-trade rule {decision.rule}: {decision.reason}",
                              field="rule", code="pre_trade_rejected",
                              details={"rule": decision.rule, "reason": decision.reason})
            row = OrderRow(
                id=new_id("ord"), account_id=account.id, org_id=account.org_id,
                user_id=account.user_id, client_order_id=coid, fingerprint=fingerprint,
                instrument=key, side=spec.side.value, type=spec.type.value,
                quantity=spec.quantity.to_str(),
                price=spec.price.to_str() if spec.price else None,
                stop_price=spec.stop_price.to_str() if spec.stop_price else None,
                trailing_bps=spec.trailing_bps, time_in_force=spec.time_in_force.value,
                expire_at_ns=spec.expire_at_ns, reduce_only=spec.reduce_only,
                status=S.NEW.value, filled_quantity="0", misses=0, created_ns=now,
                updated_ns=now, parent_algo_id=parent_algo_id)
            s.add(row)
            s.add(TransitionRow(order_id=row.id, from_status=None, to_status=S.NEW.value,
                                filled_quantity="0", source="api", ts_ns=now))
            try:
                await s.flush()
            except IntegrityError:
                raise Conflict("client_order_id is being used by a concurrent request",
                               field="client_order_id",
                               code="duplicate_client_order_id") from None
            await order_event(d.outbox, s, row, now)
            if also is not None:
                await also(s)
        recent.append(now)
        return row

    async def _serialize(self, s: AsyncSession, account_id: str) -> None:
        """One order check at a time per account across every trading instance: the
        balance and open-order counts read below must not change under the check. SQLite
        has one writer already; PostgreSQL takes a transaction-scoped advisory lock."""
        if self.d.db.kind == "postgresql":
            digest = hashlib.sha256(f"argosy:trading:account:{account_id}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True)
            await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    async def _exposure(self, s: AsyncSession, account: AccountRow
                        ) -> tuple[Decimal, Decimal, Decimal]:
        """Gross and net exposure and equity in the account currency, at the marks: what
        the exposure, leverage and loss rules judge (positions without a mark count 0)."""
        d = self.d
        gross = net = Decimal(0)
        equity = Decimal(0)
        for b in await d.store.balances(s, [account.id], account.org_id):
            if b.asset == account.currency:
                equity += Decimal(b.total)
        for p in await d.store.positions(s, [account.id], account.org_id):
            mark = d.marks.mark(p.instrument)
            qty = Decimal(p.quantity)
            if mark is None or qty == 0:
                continue
            gross += abs(qty) * mark
            net += qty * mark
            instrument = d.instruments.cached(p.instrument)
            if instrument is not None and instrument.kind is InstrumentKind.SPOT:
                equity += qty * mark
            else:
                equity += unrealized(position_state(p), mark)
        return gross, net, equity

    # -- cancel ------------------------------------------------------------------------
    async def _owned_order(self, c: Caller, order_id: str) -> tuple[AccountRow, OrderRow]:
        async with self.d.db.read() as s:
            row = await self.d.store.order(s, order_id)
            if row is None or row.org_id != c.org or row.user_id != c.user_id:
                raise NotFound("no such order of yours", field="order_id")
            account = await self.d.store.account(s, row.account_id)
        assert account is not None
        return account, row

    async def cancel(self, c: Caller, order_id: str) -> OrderOut:
        c.require("orders:write")
        account, row = await self._owned_order(c, order_id)
        await self.cancel_row(account, row)
        async with self.d.db.read() as s:
            fresh = await self.d.store.order(s, order_id)
            assert fresh is not None
            return order_out(fresh)

    async def cancel_row(self, account: AccountRow, row: OrderRow) -> bool:
        """True when the order is done (cancelled or otherwise terminal) afterwards."""
        d = self.d
        if not is_open(S(row.status)):
            return True
        if row.status == S.NEW:  # never left: cancel locally
            async with d.db.transaction() as s:
                locked = await self.executions.locked_order(s, row.id)
                if locked is not None and locked.status == S.NEW:
                    await transition(d, s, locked, S.CANCELLED, "api", "cancelled before send")
                    return True
        handle = await self.sender.venue(account)
        try:
            async with asyncio.timeout(d.settings.send_timeout_s):
                report = await handle.venue.cancel(
                    InstrumentId.parse(row.instrument), row.id)
        except VenueError:
            report = None
        except TimeoutError:
            return False
        if report is None:  # refused (already done?) or unknown: the venue's view decides
            report = await handle.venue.query(
                InstrumentId.parse(row.instrument), row.id)
            if report is None:
                return False
        await self.executions.apply(account.id, report, "venue")
        return not is_open(report.status)

    async def cancel_all(self, c: Caller, body: CancelAllIn) -> CancelAllOut:
        c.require("orders:write")
        d = self.d
        async with d.db.read() as s:
            if body.account_id is not None:
                accounts = [await owned_account(d, s, c, body.account_id)]
            else:
                accounts = await d.store.user_accounts(s, c.user_id, c.org)
            work = [(a, o) for a in accounts for o in await d.store.open_orders(s, a.id)
                    if body.instrument is None or o.instrument == body.instrument]
        done: list[str] = []
        pending: list[str] = []
        for account, row in work:
            (done if await self.cancel_row(account, row) else pending).append(row.id)
        return CancelAllOut(cancelled=done, pending=pending)

    # -- amend -------------------------------------------------------------------------
    async def amend(self, c: Caller, order_id: str, body: AmendIn) -> OrderOut:
        """Cancel-replace: the venue protocol has no in-place amend, and a replace loses
        queue priority on every venue anyway. The new order carries the new price and/or
        quantity (of the part still unfilled) and `<client id>:a<n>` as its client id."""
        c.require("orders:write")
        if body.quantity is None and body.price is None:
            raise Invalid("give a new quantity or price", field="quantity")
        account, row = await self._owned_order(c, order_id)
        if not is_open(S(row.status)):
            raise Conflict(f"the order is {row.status}", field="order_id", code="not_open")
        if not await self.cancel_row(account, row):
            raise Unavailable("the cancel is not confirmed yet; try again", dependency="venue")
        account, old = await self._owned_order(c, order_id)
        if old.status != S.CANCELLED:
            raise Conflict(f"the order became {old.status} before it could be amended",
                           field="order_id", code="not_open")
        remaining = Decimal(old.quantity) - Decimal(old.filled_quantity)
        base = old.client_order_id.rsplit(":a", 1)
        n = int(base[1]) + 1 if len(base) == 2 and base[1].isdigit() else 1
        replacement = OrderIn(
            instrument=old.instrument, side=old.side, type=old.type,
            quantity=body.quantity or Quantity(str(remaining)).to_str(),
            price=body.price or old.price, stop_price=old.stop_price,
            trailing_bps=old.trailing_bps,
            time_in_force=old.time_in_force,
            expire_at=old.expire_at_ns, client_order_id=f"{base[0][:30]}:a{n}",
            reduce_only=old.reduce_only, account_id=old.account_id)
        out, _ = await self.place(c, replacement)
        return out
