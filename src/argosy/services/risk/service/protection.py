"""Automatic protection: breach reactions, server-side stops, kill-switch order cancels.

The consumer only *detects* (it must keep up with the fill stream); every action that calls
the trading service runs here, on one worker fed by a queue, so a slow or unreachable
trading service delays protection but never the real-time view. Actions are idempotent and
their state is in the database (the breach marker on the account row, the stop's status and
`done` flag), so after a crash the next evaluation or the start-up scan does them again and
the derived client order ids make the repeat harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

import structlog

from argosy.contracts.v1.risk import KillSwitchRequest, StopIn, StopOut
from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.ids import new_id
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.money import to_decimal
from argosy.services.risk.domain.book import Owner, RiskBook
from argosy.services.risk.domain.protection import (
    Breach,
    Policy,
    StopSpec,
    StopTrigger,
    backoff_s,
    evaluate_stop,
)
from argosy.services.risk.models import AccountRow, StopRow
from argosy.services.risk.service._context import Caller, Deps
from argosy.services.risk.service.alerts import AlertSpec, raise_alert
from argosy.services.risk.service.rules import RulesService
from argosy.services.risk.trading import CloseNotFilled, TradingGateway

__all__ = ["Protection", "stop_out"]

log = structlog.get_logger("argosy.risk.protection")
_NS_PER_MS = 1_000_000
Action = Callable[[], Awaitable[None]]


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def stop_out(row: StopRow) -> StopOut:
    return StopOut(
        stop_id=row.id, account_id=row.account_id, instrument=row.instrument,
        stop_loss=row.stop_loss, take_profit=row.take_profit, trailing_bps=row.trailing_bps,
        trail_anchor=row.trail_anchor, status=row.status,
        created_at_ms=row.created_ns // _NS_PER_MS,
        triggered_at_ms=None if row.triggered_ns is None else row.triggered_ns // _NS_PER_MS,
    )  # fmt: skip


class Protection:
    def __init__(
        self, deps: Deps, book: RiskBook, rules: RulesService, trading: TradingGateway | None
    ) -> None:
        self.d, self.book, self.rules, self.trading = deps, book, rules, trading
        self.queue: asyncio.Queue[Action] = asyncio.Queue()
        self.handled: set[str] = set()  # account:kind@day breaches already acted on
        # account -> (owner, {breach key: first seen ns}): breaches awaiting confirmation
        self.pending: dict[str, tuple[Owner, dict[str, int]]] = {}
        self._confirm_ns = int(deps.settings.breach_confirm_s * 1e9)
        self._stops: dict[str, dict[str, StopRow]] = {}  # instrument -> id -> active stop
        self.actions_done = 0
        self._failures: dict[Action, int] = {}  # failed attempts of actions being retried
        self._about: dict[Action, tuple[Owner, str, str]] = {}  # owner, account, what
        self._delayed = 0  # failed actions waiting for their retry delay

    # -- start-up and worker ---------------------------------------------------------
    async def load(self) -> None:
        async with self.d.db.read() as s:
            rows = await self.d.store.active_stops(s)
            accounts = await self.d.store.all_accounts(s)
        for acct in accounts:
            if acct.breached:
                self.handled.add(f"{acct.account_id}:{acct.breached}")
        for row in rows:
            if row.status == "active":
                self._stops.setdefault(row.instrument, {})[row.id] = row
            elif row.status == "triggered" and not row.done:
                self.queue.put_nowait(self._closer(row.id))  # crashed before the close

    async def run(self) -> None:
        while True:
            action = await self.queue.get()
            try:
                await action()
                self.actions_done += 1
                self._failures.pop(action, None)
                self._about.pop(action, None)
            except Exception:
                await self._failed(action)
            finally:
                self.queue.task_done()

    async def _failed(self, action: Action) -> None:
        """Retry with exponential backoff (capped): a close the venue keeps refusing must not
        hammer it every second forever, nor hold up the other actions while it waits. After
        `action_alert_after` failures a critical alert says protection is not getting
        through (once per action); the retries go on, since giving up would leave the
        position open."""
        settings = self.d.settings
        n = self._failures[action] = self._failures.get(action, 0) + 1
        delay = backoff_s(n, settings.action_retry_s, settings.action_retry_max_s)
        log.warning("risk.action_failed", attempt=n, retry_in_s=delay, exc_info=True)
        if n == settings.action_alert_after:
            owner, account_id, what = self._about.get(action, (None, None, "protective action"))
            try:
                async with self.d.db.transaction() as s:
                    await raise_alert(
                        s, self.d,
                        AlertSpec("critical", "protection_failing",
                                  f"{what} failed {n} times; retrying every {delay:g}s at most",
                                  "account" if account_id else "global", account_id,
                                  owner.org if owner else None,
                                  owner.user_id if owner else None, account_id),
                        "service:risk",
                    )  # fmt: skip
            except Exception:
                log.error("risk.alert_failed", what=what, exc_info=True)
        self._delayed += 1
        asyncio.get_running_loop().call_later(delay, self._requeue, action)

    def _requeue(self, action: Action) -> None:
        self._delayed -= 1
        self.queue.put_nowait(action)

    async def idle(self) -> None:
        """Wait until no action is queued or waiting for a retry (tests and shutdown)."""
        while True:
            await self.queue.join()
            if not self._delayed:
                return
            await asyncio.sleep(0.01)

    # -- breaches ------------------------------------------------------------------------
    def observe(self, account_id: str, owner: Owner, found: list[Breach], day: int) -> None:
        """The breaches of one account now. A breach is acted on once it has lasted
        `breach_confirm_s`: the fill, position and balance events of one trade arrive on
        separate topics, and a balance seen before its position must not flatten an account.
        """
        now = self.d.now()
        current = {f"{account_id}:{b.kind}@{day}": b for b in found}
        waiting = self.pending.get(account_id, (owner, {}))[1]
        for key in [k for k in waiting if k not in current]:
            del waiting[key]  # recovered within the confirmation window
        for key, breach in current.items():
            if key in self.handled:
                continue
            since = waiting.setdefault(key, now)
            if now - since >= self._confirm_ns:
                del waiting[key]
                self.handled.add(key)
                self.queue.put_nowait(self._breach_action(account_id, owner, breach, day))
        if waiting:
            self.pending[account_id] = (owner, waiting)
        else:
            self.pending.pop(account_id, None)

    def _breach_action(self, account_id: str, owner: Owner, breach: Breach, day: int) -> Action:
        attempts = [0]  # closes that ended unfilled: the next one needs a new client id

        async def act() -> None:
            try:
                await self._act_on_breach(
                    account_id, owner, breach, f"{breach.kind}@{day}", attempts[0]
                )
            except CloseNotFilled:
                attempts[0] += 1
                raise

        self._about[act] = (owner, account_id, f"{breach.kind} breach action on {account_id}")
        return act

    async def _act_on_breach(
        self, account_id: str, owner: Owner, breach: Breach, key: str, attempt: int = 0
    ) -> None:
        policy = Policy(self.d.settings.breach_policy)
        async with self.d.db.transaction() as s:
            await raise_alert(
                s, self.d,
                AlertSpec("critical", breach.kind, f"{account_id}: {breach.message}; "
                          f"policy {policy}", "account", account_id, owner.org,
                          owner.user_id, account_id, dedupe=f"breach:{account_id}:{key}"),
                "service:risk",
            )  # fmt: skip
        if policy is not Policy.ALERT:
            await self.rules.engage_for_breach(account_id, f"{breach.kind} breach ({key})")
        if self.trading is not None and policy is not Policy.ALERT:
            await self.trading.cancel_all(owner, account_id)
            if policy is Policy.FLATTEN:
                for h in self.book.combine([account_id]).holdings:
                    await self.trading.close(
                        owner, account_id, h.instrument, h.quantity, f"breach:{key}", attempt
                    )
        async with self.d.db.transaction() as s:
            row = await s.get(AccountRow, account_id)
            if row is not None:
                row.breached = key
        log.warning("risk.breach_handled", account_id=account_id, breach=key, policy=policy)

    async def on_kill_switch(self, req: KillSwitchRequest) -> None:
        """Cancel the open orders of every known account under an engaged kill switch."""
        if self.trading is None:
            return
        for account_id in self.book.accounts():
            owner = self.book.owner(account_id)
            if owner is None:
                continue
            covered = (
                req.level == "global"
                or (req.level == "org" and owner.org == req.key)
                or (req.level == "user" and owner.user_id == req.key)
                or (req.level == "account" and account_id == req.key)
            )
            if covered:
                self.queue.put_nowait(self._canceller(owner, account_id))

    def _canceller(self, owner: Owner, account_id: str) -> Action:
        async def cancel() -> None:
            if self.trading is not None:
                await self.trading.cancel_all(owner, account_id)

        self._about[cancel] = (owner, account_id, f"cancel-all on {account_id}")
        return cancel

    # -- stops ---------------------------------------------------------------------------
    def on_mark(self, instrument: str, mark: Decimal) -> None:
        stops = self._stops.get(instrument)
        if not stops:
            return
        for row in list(stops.values()):
            h = self.book.holding(row.account_id, instrument)
            qty = h.quantity if h is not None else Decimal(0)
            spec = StopSpec(
                _dec(row.stop_loss), _dec(row.take_profit), row.trailing_bps,
                _dec(row.trail_anchor),
            )  # fmt: skip
            fired, anchor = evaluate_stop(spec, qty, mark)
            if anchor is not None and anchor != spec.anchor:
                row.trail_anchor = format(anchor, "f")
                self.queue.put_nowait(self._anchor_saver(row.id, row.trail_anchor))
            if fired is not None:
                del stops[row.id]
                self.queue.put_nowait(self._trigger(row.id, fired, mark))

    def _anchor_saver(self, stop_id: str, anchor: str) -> Action:
        async def save() -> None:
            async with self.d.db.transaction() as s:
                row = await s.get(StopRow, stop_id)
                if row is not None and row.status == "active":
                    row.trail_anchor = anchor

        return save

    def _trigger(self, stop_id: str, fired: StopTrigger, mark: Decimal) -> Action:
        async def trigger() -> None:
            async with self.d.db.transaction() as s:
                row = await self.d.store.stop(s, stop_id, None)
                if row is None or row.status != "active":
                    return
                row.status, row.trigger, row.triggered_ns = "triggered", str(fired), self.d.now()
                await raise_alert(
                    s, self.d,
                    AlertSpec("warning", "stop_triggered",
                              f"{fired} on {row.instrument} at mark {mark}", "account",
                              row.account_id, row.org_id, row.user_id, row.account_id,
                              dedupe=f"stop:{stop_id}"),
                    "service:risk",
                )  # fmt: skip
            # its own action: a refused close is retried (with backoff) as a close, whereas
            # a retried trigger would find the stop triggered already and do nothing
            self.queue.put_nowait(self._closer(stop_id))

        return trigger

    def _closer(self, stop_id: str) -> Action:
        attempts = [0]  # closes that ended unfilled: the next one needs a new client id

        async def close() -> None:
            async with self.d.db.read() as s:
                row = await self.d.store.stop(s, stop_id, None)
            if row is None or row.done:
                return
            self._about[close] = (
                Owner(row.org_id, row.user_id),
                row.account_id,
                f"close of {row.instrument} for stop {stop_id}",
            )
            h = self.book.holding(row.account_id, row.instrument)
            if self.trading is not None and h is not None and h.quantity != 0:
                try:
                    ref = await self.trading.close(
                        Owner(row.org_id, row.user_id), row.account_id, row.instrument,
                        h.quantity, f"stop:{stop_id}", attempts[0],
                    )  # fmt: skip
                except CloseNotFilled:
                    attempts[0] += 1
                    raise
            else:
                ref = None
            async with self.d.db.transaction() as s:
                stored = await s.get(StopRow, stop_id)
                if stored is not None:
                    stored.done, stored.order_ref = True, ref

        return close

    async def create_stop(self, c: Caller, body: StopIn) -> StopOut:
        c.require("orders:write")
        if c.user_id is None or c.org is None:
            raise Invalid("stops belong to a user's account", field="account_id")
        owner = self.book.owner(body.account_id)
        if owner is not None and owner.org != c.org:  # another organisation's: as if absent
            raise NotFound("no such account of yours", field="account_id")
        instrument = str(InstrumentId.parse(body.instrument, "instrument"))
        values = {
            name: to_decimal(getattr(body, name), name)
            for name in ("stop_loss", "take_profit")
            if getattr(body, name) is not None
        }
        if not values and body.trailing_bps is None:
            raise Invalid("give stop_loss, take_profit or trailing_bps", field="stop_loss")
        for name, value in values.items():
            if value <= 0:
                raise Invalid(f"{name} must be positive", field=name)
        row = StopRow(
            id=new_id("stp"), org_id=c.org, user_id=c.user_id, account_id=body.account_id,
            instrument=instrument,
            stop_loss=format(values["stop_loss"], "f") if "stop_loss" in values else None,
            take_profit=format(values["take_profit"], "f") if "take_profit" in values else None,
            trailing_bps=body.trailing_bps, trail_anchor=None, status="active", done=False,
            created_ns=self.d.now(),
        )  # fmt: skip
        async with self.d.db.transaction() as s:
            s.add(row)
        self._stops.setdefault(instrument, {})[row.id] = row
        mark = self.book.mark(instrument)
        if mark is not None:
            self.on_mark(instrument, mark)
        return stop_out(row)

    async def list_stops(self, c: Caller) -> list[StopOut]:
        c.require("orders:read")
        if c.user_id is None or c.org is None:
            return []
        async with self.d.db.read() as s:
            return [stop_out(r) for r in await self.d.store.stops(s, c.org, c.user_id)]

    async def cancel_stop(self, c: Caller, stop_id: str) -> StopOut:
        c.require("orders:write")
        async with self.d.db.transaction() as s:
            row = await self.d.store.stop(s, stop_id, c.org, c.user_id)
            if row is None:
                raise NotFound("no such stop", field="stop_id")
            if row.status == "active":
                row.status, row.done = "cancelled", True
        self._stops.get(row.instrument, {}).pop(stop_id, None)
        return stop_out(row)
