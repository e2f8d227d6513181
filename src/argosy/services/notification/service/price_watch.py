"""Evaluate users' price alerts against the market data stream.

Only instruments with an active alert are subscribed (`md.trade.<venue>.<symbol>` and
`md.ticker...`, kernel messages as JSON); the set follows the database, reloaded when an
alert changes here and every `price_reload_s` for changes made by other instances. Each
tick is evaluated in memory (domain/price_alerts.py); only a firing touches the database:
a conditional update on the alert's firing count decides which instance notifies, so
several instances evaluating the same stream still notify once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from decimal import Decimal

import structlog

from argosy.contracts.topics import market
from argosy.kernel.clock import NS_PER_MS
from argosy.kernel.errors import Invalid
from argosy.kernel.messages import Bar, QuoteTick, TradeTick, from_dict
from argosy.platform.bus.base import Envelope, Subscription
from argosy.services.notification.domain.notices import Notice
from argosy.services.notification.domain.price_alerts import (
    AlertSpec,
    AlertState,
    Condition,
    Firing,
    observe,
)
from argosy.services.notification.models import PriceAlertRow
from argosy.services.notification.service._context import Deps
from argosy.services.notification.service.intake import Intake

__all__ = ["PriceWatch", "spec_of"]

log = structlog.get_logger("argosy.notification.prices")

_KINDS = ("trade", "ticker")
_TWO = Decimal(2)


def spec_of(row: PriceAlertRow) -> AlertSpec:
    condition: Condition = row.condition  # type: ignore[assignment]  # checked on save
    return AlertSpec(row.id, row.instrument, condition,
                     Decimal(row.level) if row.level else None,
                     Decimal(row.pct) if row.pct else None, row.window_s, row.repeat,
                     row.cooldown_s)


@dataclass
class _Watched:
    spec: AlertSpec
    user_id: str
    org: str
    note: str
    fired_count: int


def _price(message: object) -> tuple[str, Decimal, int] | None:
    if isinstance(message, TradeTick):
        return str(message.instrument_id), message.price.value, message.ts_event_ns
    if isinstance(message, QuoteTick):
        mid = (message.bid_price.value + message.ask_price.value) / _TWO
        return str(message.instrument_id), mid, message.ts_event_ns
    if isinstance(message, Bar):
        return str(message.instrument_id), message.close.value, message.ts_close_ns
    return None


class PriceWatch:
    def __init__(self, deps: Deps, intake: Intake) -> None:
        self.d, self._intake = deps, intake
        self._watched: dict[str, _Watched] = {}
        self._states: dict[str, AlertState] = {}
        self._by_instrument: dict[str, list[str]] = {}
        self._subs: dict[str, list[Subscription]] = {}
        self._changed = asyncio.Event()

    def changed(self) -> None:
        self._changed.set()

    @property
    def instruments(self) -> frozenset[str]:
        return frozenset(self._subs)

    async def run(self) -> None:
        try:
            while True:
                self._changed.clear()
                try:
                    await self.reload()
                except Exception as exc:
                    log.warning("notification.price_reload_failed", error=str(exc)[:300])
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.d.settings.price_reload_s):
                        await self._changed.wait()
        finally:
            for subs in self._subs.values():
                for sub in subs:
                    with contextlib.suppress(Exception):
                        await sub.stop()
            self._subs.clear()

    async def reload(self) -> None:
        async with self.d.db.read() as s:
            rows = await self.d.store.active_price_alerts(s)
        watched: dict[str, _Watched] = {}
        for r in rows:
            # the same object stays in place (alerts are never edited), so a firing that
            # commits while this read is in flight still counts on it
            known = self._watched.get(r.id)
            if known is None:
                known = _Watched(spec_of(r), r.user_id, r.org_id, r.note, r.fired_count)
            known.fired_count = max(known.fired_count, r.fired_count)
            watched[r.id] = known
        by_instrument: dict[str, list[str]] = {}
        for alert_id, w in watched.items():
            by_instrument.setdefault(w.spec.instrument, []).append(alert_id)
            self._states.setdefault(alert_id, AlertState())
        for gone in set(self._states) - set(watched):
            del self._states[gone]
        self._watched, self._by_instrument = watched, by_instrument
        for instrument in set(by_instrument) - set(self._subs):
            self._subs[instrument] = [
                await self.d.bus.subscribe(market(kind, instrument), self._on_tick)
                for kind in _KINDS]
        for instrument in set(self._subs) - set(by_instrument):
            for sub in self._subs.pop(instrument):
                await sub.stop()

    async def _on_tick(self, env: Envelope) -> None:
        try:
            seen = _price(from_dict(env.json()))
        except (Invalid, ValueError, TypeError):
            return  # not a market data message we understand
        if seen is None:
            return
        instrument, price, ts_ns = seen
        for alert_id in list(self._by_instrument.get(instrument, ())):
            watched, state = self._watched.get(alert_id), self._states.get(alert_id)
            if watched is None or state is None:
                continue
            fired = observe(watched.spec, state, price, ts_ns)
            if fired is not None:
                await self._fire(watched, fired)

    async def _fire(self, w: _Watched, fired: Firing) -> None:
        spec, d = w.spec, self.d
        now = d.now()
        async with d.db.transaction() as s:
            won = await d.store.fire_price_alert(s, spec.id, w.fired_count, repeat=spec.repeat,
                                                 price=str(fired.price), now=now)
            if won:
                variables = {
                    "alert_id": spec.id, "instrument": spec.instrument,
                    "condition": spec.describe(), "level": str(spec.level or ""),
                    "price": str(fired.price),
                    "change_pct": str(fired.change_pct) if fired.change_pct is not None else "",
                    "window": f"{spec.window_s}s" if spec.window_s else "", "note": w.note}
                notice = Notice("price_alert", "warning", w.user_id, w.org,
                                fired.ts_ns // NS_PER_MS, variables, variables)
                await self._intake.enqueue(s, notice, f"pa:{spec.id}:{w.fired_count + 1}")
        if won:
            w.fired_count += 1
            log.info("notification.price_alert_fired", alert_id=spec.id, price=str(fired.price))
            d.wake()
        else:
            self.changed()  # another instance fired it: resync counts
