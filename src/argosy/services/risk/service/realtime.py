"""The real-time risk view: fills, positions, balances and marks in; exposure, PnL,
drawdown, VaR out; breaches and stop triggers handed to `Protection`.

Events update the in-memory `RiskBook` and nothing else on the hot path; a flush loop
writes the touched accounts to the database every `flush_s`, and the start-up load reads
them back, so a restart resumes from the last flush and the trading engine's absolute
position events heal anything newer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from decimal import Decimal

import structlog

from argosy.contracts.v1.events import BalanceEvent, FillEvent, PositionEvent
from argosy.kernel.pretrade import RuleKind
from argosy.platform.bus.base import Envelope
from argosy.services.risk.domain.book import AccountMetrics, Holding, Owner, RiskBook
from argosy.services.risk.domain.margin import (
    liquidation_distance,
    margin_usage,
    margin_used,
)
from argosy.services.risk.domain.measures import (
    EquityMarks,
    drawdown,
    historical_var,
    roll,
)
from argosy.services.risk.domain.protection import breaches
from argosy.services.risk.models import AccountRow, BalanceRow, PositionRow
from argosy.services.risk.service._context import Deps
from argosy.services.risk.service.protection import Protection

__all__ = ["AccountView", "RealTime"]

log = structlog.get_logger("argosy.risk.realtime")
_PROTECTIVE = (RuleKind.DAILY_LOSS_LIMIT, RuleKind.MAX_DRAWDOWN)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None or text == "" else Decimal(text)


class AccountView:
    """Metrics of one account or an aggregate, with the marks-derived measures."""

    def __init__(
        self,
        metrics: AccountMetrics,
        marks: EquityMarks | None,
        var: tuple[Decimal, Decimal] | None,
    ) -> None:
        self.metrics, self.marks, self.var = metrics, marks, var

    @property
    def drawdown(self) -> Decimal:
        if self.marks is None or not self.metrics.valued:
            return Decimal(0)  # PnL alone has no peak equity to measure a fraction from
        return drawdown(self.marks, self.metrics.equity)

    @property
    def day_pnl(self) -> Decimal:
        return Decimal(0) if self.marks is None else self.marks.day_pnl(self.metrics.equity)

    @property
    def margin_used(self) -> Decimal:
        return margin_used(self.metrics.holdings)

    @property
    def margin_usage(self) -> Decimal | None:
        return margin_usage(self.margin_used, self.metrics.equity)

    @property
    def liquidation_distance(self) -> Decimal | None:
        return liquidation_distance(self.metrics.holdings)


class RealTime:
    def __init__(self, deps: Deps, book: RiskBook, protection: Protection) -> None:
        self.d, self.book, self.protection = deps, book, protection
        self.marks: dict[str, EquityMarks] = {}
        self.returns: dict[str, deque[Decimal]] = {}
        self._new_returns: list[tuple[str, int, Decimal]] = []
        self.events = 0
        self.changed: set[str] = set()  # accounts to stream (`ExposureStream`)
        self._interval_ns = int(deps.settings.return_interval_s * 1e9)

    # -- start-up ------------------------------------------------------------------------
    async def load(self) -> None:
        async with self.d.db.read() as s:
            accounts = await self.d.store.all_accounts(s)
            positions = await self.d.store.all_positions(s)
            balances = await self.d.store.all_balances(s)
            created = await self.d.store.all_owners(s)
            history = {
                a.account_id: await self.d.store.returns(
                    s, a.account_id, self.d.settings.var_lookback
                )
                for a in accounts
            }
        for o in created:  # accounts that may never have traded: the owner only
            self.book.account(o.account_id, Owner(o.org_id, o.user_id))
        owners = {a.account_id: Owner(a.org_id, a.user_id) for a in accounts}
        for a in accounts:
            self.book.account(a.account_id, owners[a.account_id])
            self.marks[a.account_id] = EquityMarks(
                Decimal(a.peak_equity), a.day, Decimal(a.day_start_equity),
                Decimal(a.last_return_equity), a.last_return_ns,
            )  # fmt: skip
            self.returns[a.account_id] = deque(
                (Decimal(v) for v in reversed(history[a.account_id])),
                maxlen=self.d.settings.var_lookback,
            )
        for p in positions:
            owner = owners.get(p.account_id)
            if owner is not None:
                self.book.apply_position(
                    p.account_id, owner, p.instrument, quantity=Decimal(p.quantity),
                    average_entry=_dec(p.average_entry), realized=Decimal(p.realized_pnl),
                    unrealized=Decimal(p.unrealized_pnl), mark=_dec(p.mark_price), at_ms=p.at_ms,
                )  # fmt: skip
        for b in balances:
            owner = owners.get(b.account_id)
            if owner is not None:
                self.book.apply_balance(b.account_id, owner, b.asset, Decimal(b.total), b.at_ms)
        self.book.dirty.clear()
        log.info("risk.realtime_loaded", accounts=len(accounts), positions=len(positions))

    # -- consumers -----------------------------------------------------------------------
    async def on_trading(self, env: Envelope) -> None:
        kind = env.topic.split(".", 2)[1]
        body = env.json()
        if kind == "fill":
            self.apply_fill(FillEvent.model_validate(body))
        elif kind == "position":
            self.apply_position(PositionEvent.model_validate(body))
        elif kind == "balance":
            self.apply_balance(BalanceEvent.model_validate(body))

    def apply_fill(self, e: FillEvent) -> None:
        qty = Decimal(e.quantity)
        owner = Owner(e.org, e.user_id)
        self.book.apply_fill(
            e.account_id, owner, e.instrument, qty if e.side == "buy" else -qty, Decimal(e.price)
        )
        self.touch(e.account_id, owner)

    def apply_position(self, e: PositionEvent) -> None:
        owner = Owner(e.org, e.user_id)
        self.book.apply_position(
            e.account_id, owner, e.instrument, quantity=Decimal(e.quantity),
            average_entry=_dec(e.average_entry), realized=Decimal(e.realized_pnl),
            unrealized=Decimal(e.unrealized_pnl), mark=_dec(e.mark_price), at_ms=e.at_ms,
            leverage=e.leverage, liquidation_price=_dec(e.liquidation_price),
        )  # fmt: skip
        self.touch(e.account_id, owner)

    def apply_balance(self, e: BalanceEvent) -> None:
        owner = Owner(e.org, e.user_id)
        self.book.apply_balance(e.account_id, owner, e.asset, Decimal(e.total), e.at_ms)
        self.touch(e.account_id, owner)

    async def on_account(self, env: Envelope) -> None:
        """`users.account.created`: the owner of every account is known from its creation,
        before any trading event, so another organisation naming it is refused (404).
        Stored in `account_owners` (the account row waits for its first equity), so the
        refusal survives a restart; a failed write is redelivered by the bus."""
        data = env.json()
        try:
            account_id, owner = str(data["account_id"]), Owner(str(data["org"]),
                                                              str(data["user_id"]))
        except (KeyError, TypeError):
            log.warning("risk.bad_account_event", msg_id=env.msg_id)
            return
        known = self.book.owner(account_id)
        if known is not None and known != owner:
            log.warning("risk.account_owner_conflict", account_id=account_id)
            return  # the first owner stays (as in the table): never hand an account over
        async with self.d.db.transaction() as s:
            await self.d.store.add_owner(s, account_id, owner.org, owner.user_id, self.d.now())
        # the owner only: equity marks start with the account's first balance, as before
        # (a day starting at zero equity would hide a daily loss)
        self.book.account(account_id, owner)

    async def on_market(self, env: Envelope) -> None:
        body = env.json()
        instrument = body.get("instrument_id")
        price: Decimal | None = None
        if body.get("type") == "quote":
            price = (Decimal(body["bid_price"]) + Decimal(body["ask_price"])) / 2
        elif body.get("type") == "trades" and body.get("items"):
            price = Decimal(body["items"][-1]["price"])
        elif body.get("type") == "trade":
            price = Decimal(body["price"])
        if instrument and price is not None:
            self.apply_mark(str(instrument), price)

    def apply_mark(self, instrument: str, price: Decimal) -> None:
        for account_id in self.book.set_mark(instrument, price):
            owner = self.book.owner(account_id)
            if owner is not None:
                self.touch(account_id, owner)
        self.protection.on_mark(instrument, price)

    # -- evaluation ----------------------------------------------------------------------
    def touch(self, account_id: str, owner: Owner) -> None:
        """Re-measure one account after a change; hand any breach to protection."""
        self.events += 1
        self.book.dirty.add(account_id)
        self.changed.add(account_id)
        metrics = self.book.metrics(account_id)
        equity = metrics.equity
        now = self.d.now()
        marks = self.marks.get(account_id)
        if marks is None:
            marks = self.marks[account_id] = EquityMarks.start(equity, now)
        marks, ret = roll(marks, equity, now, self._interval_ns)
        self.marks[account_id] = marks
        if ret is not None:
            self.returns.setdefault(account_id, deque(maxlen=self.d.settings.var_lookback)).append(
                ret
            )
            self._new_returns.append((account_id, now, ret))
        ruleset = self.d.rules.ruleset
        if not any(r.kind in _PROTECTIVE for r in ruleset.rules):
            return
        found = breaches(
            ruleset, owner.org, owner.user_id, account_id,
            day_pnl=marks.day_pnl(equity),
            drawdown=drawdown(marks, equity) if metrics.valued else Decimal(0),
        )  # fmt: skip
        if found or account_id in self.protection.pending:
            self.protection.observe(account_id, owner, found, marks.day)

    def recheck(self) -> None:
        """Re-measure accounts with a breach waiting for confirmation (no event needed)."""
        for account_id, (owner, _) in list(self.protection.pending.items()):
            self.touch(account_id, owner)

    def view(self, account_ids: list[str]) -> AccountView:
        metrics = self.book.combine(account_ids)
        if len(account_ids) == 1:
            marks = self.marks.get(account_ids[0])
            rets = list(self.returns.get(account_ids[0], ()))
            var = historical_var(rets, metrics.equity, self.d.settings.var_level)
            return AccountView(metrics, marks, var)
        peak = sum((m.peak_equity for a in account_ids if (m := self.marks.get(a))), Decimal(0))
        start = sum(
            (m.day_start_equity for a in account_ids if (m := self.marks.get(a))), Decimal(0)
        )
        combined = EquityMarks(peak, 0, start, Decimal(0), 0) if account_ids else None
        return AccountView(metrics, combined, None)

    # -- persistence -----------------------------------------------------------------------
    async def flush(self) -> int:
        dirty, self.book.dirty = self.book.dirty, set()
        new_returns, self._new_returns = self._new_returns, []
        if not dirty and not new_returns:
            return 0
        now = self.d.now()
        rows: list[object] = []
        for account_id in dirty:
            owner = self.book.owner(account_id)
            marks = self.marks.get(account_id)
            if owner is None or marks is None:
                continue
            breached = next(
                (k.split(":", 1)[1] for k in self.protection.handled
                 if k.startswith(f"{account_id}:")), None,
            )  # fmt: skip
            rows.append(AccountRow(
                account_id=account_id, org_id=owner.org, user_id=owner.user_id,
                peak_equity=str(marks.peak_equity), day=marks.day,
                day_start_equity=str(marks.day_start_equity),
                last_return_equity=str(marks.last_return_equity),
                last_return_ns=marks.last_return_ns, breached=breached, updated_ns=now,
            ))  # fmt: skip
            for asset, total in self.book.balances(account_id).items():
                rows.append(
                    BalanceRow(
                        account_id=account_id, asset=asset, total=str(total), at_ms=now // 1_000_000
                    )
                )
            for h in self.book.combine([account_id]).holdings or ():
                rows.append(self._position_row(account_id, h))
            for flat in self._flat(account_id):
                rows.append(self._position_row(account_id, flat))
        try:
            async with self.d.db.transaction() as s:
                await self.d.store.save(s, rows)
                for account_id, at_ns, value in new_returns:
                    await self.d.store.add_return(s, account_id, at_ns, str(value))
        except BaseException:
            self.book.dirty |= dirty  # written next time
            self._new_returns[:0] = new_returns
            raise
        return len(dirty)

    def _flat(self, account_id: str) -> list[Holding]:
        """Flat holdings are saved too, so a closed position does not come back."""
        acct = self.book.account(account_id, self.book.owner(account_id) or Owner("", ""))
        return [h for h in acct.holdings.values() if h.quantity == 0]

    @staticmethod
    def _position_row(account_id: str, h: Holding) -> PositionRow:
        return PositionRow(
            account_id=account_id, instrument=h.instrument, quantity=str(h.quantity),
            average_entry=None if h.average_entry is None else str(h.average_entry),
            realized_pnl=str(h.realized_pnl), unrealized_pnl=str(h.unrealized_pnl),
            mark_price=None if h.mark is None else str(h.mark), at_ms=h.at_ms,
        )  # fmt: skip

    async def flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.d.settings.flush_s)
            self.recheck()
            try:
                await self.flush()
            except Exception:
                log.warning("risk.flush_failed", exc_info=True)
