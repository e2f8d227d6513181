"""A user's price alerts: create (validated), list, delete. The evaluator (price_watch.py)
is told at once, so a new alert watches the very next tick."""

from __future__ import annotations

from collections.abc import Callable

from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.ids import new_id
from argosy.kernel.instruments import InstrumentId
from argosy.services.notification.domain.price_alerts import (
    CONDITIONS,
    AlertSpec,
    check_decimal,
)
from argosy.services.notification.models import PriceAlertRow
from argosy.services.notification.schemas import PriceAlertIn, PriceAlertOut
from argosy.services.notification.service._context import Caller, Deps
from argosy.services.notification.service._views import price_alert_out

__all__ = ["MAX_ALERTS_PER_USER", "AlertsService"]

MAX_ALERTS_PER_USER = 100


class AlertsService:
    def __init__(self, deps: Deps, changed: Callable[[], None]) -> None:
        self.d, self._changed = deps, changed

    async def list(self, c: Caller) -> list[PriceAlertOut]:
        c.require("notifications:read")
        async with self.d.db.read() as s:
            rows = await self.d.store.price_alerts(s, c.user_id, c.org)
        return [price_alert_out(r) for r in rows]

    def _check(self, body: PriceAlertIn) -> AlertSpec:
        try:
            instrument = str(InstrumentId.parse(body.instrument))
        except Invalid as exc:
            raise Invalid(f"not a canonical instrument id: {exc.message}",
                          field="instrument") from None
        if body.condition not in CONDITIONS:
            raise Invalid(f"condition must be one of {', '.join(CONDITIONS)}",
                          field="condition")
        moving = body.condition.startswith("move")
        if moving and body.level is not None:
            raise Invalid("move alerts take pct and window_s, not level", field="level")
        if not moving and (body.pct is not None or body.window_s is not None):
            raise Invalid("level alerts take level, not pct or window_s",
                          field="pct" if body.pct is not None else "window_s")
        level = check_decimal(body.level, "level") if body.level is not None else None
        pct = check_decimal(body.pct, "pct") if body.pct is not None else None
        if pct is not None and pct > 1000:
            raise Invalid("at most 1000 percent", field="pct")
        if body.window_s is not None and not 1 <= body.window_s <= 7 * 86400:
            raise Invalid("window_s must be 1 second to 7 days", field="window_s")
        if not 0 <= body.cooldown_s <= 86400:
            raise Invalid("cooldown_s must be 0 to 86400", field="cooldown_s")
        return AlertSpec("new", instrument, body.condition,
                         level, pct, body.window_s, body.repeat, body.cooldown_s)

    async def create(self, c: Caller, body: PriceAlertIn) -> PriceAlertOut:
        c.require("notifications:write")
        spec = self._check(body)
        now = self.d.now()
        async with self.d.db.transaction() as s:
            if await self.d.store.count_price_alerts(s, c.user_id) >= MAX_ALERTS_PER_USER:
                raise Invalid(f"at most {MAX_ALERTS_PER_USER} price alerts per user",
                              field="instrument")
            row = PriceAlertRow(
                id=new_id("pa"), user_id=c.user_id, org_id=c.org, instrument=spec.instrument,
                condition=spec.condition, level=str(spec.level) if spec.level else None,
                pct=str(spec.pct) if spec.pct else None, window_s=spec.window_s,
                repeat=spec.repeat, cooldown_s=spec.cooldown_s, note=body.note,
                state="active", fired_count=0, created_ns=now, updated_ns=now)
            s.add(row)
        self._changed()
        return price_alert_out(row)

    async def delete(self, c: Caller, alert_id: str) -> None:
        c.require("notifications:write")
        async with self.d.db.transaction() as s:
            row = await self.d.store.price_alert(s, alert_id, c.user_id, c.org)
            if row is None:
                raise NotFound("no such price alert", field="alert_id")
            await s.delete(row)
        self._changed()
