"""Streaming the real-time view: `risk.exposure.<account>` when an account's numbers change.

The consumer only marks accounts as changed (`RealTime.changed`); this loop publishes them
every `exposure_publish_s`, so a burst of fills on one account makes one event per
interval with the last numbers, never one per fill. An account whose numbers did not change
since its last event (a mark on another instrument, a repeated position) publishes nothing.
Events go through the outbox, so the gateway's `/ws` channel `risk` sees them in order.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog

from argosy.contracts.topics import risk_exposure
from argosy.contracts.v1.events import RiskExposure
from argosy.services.risk.service._context import Deps
from argosy.services.risk.service.exposure import EIGHT, fmt, ratio
from argosy.services.risk.service.realtime import RealTime

__all__ = ["ExposureStream"]

log = structlog.get_logger("argosy.risk.stream")
_NS_PER_MS = 1_000_000


def _numbers(e: RiskExposure) -> tuple[str | None, ...]:
    """What must move for an event to be worth publishing (not `at_ms`)."""
    return (e.gross, e.net, e.realized, e.unrealized, e.drawdown, e.leverage, e.var, e.es,
            e.margin_used, e.margin_usage, e.liquidation_distance)  # fmt: skip


class ExposureStream:
    def __init__(self, deps: Deps, rt: RealTime) -> None:
        self.d, self.rt = deps, rt
        self._last: dict[str, tuple[str | None, ...]] = {}  # account -> numbers last published
        self.published = 0

    def event(self, account_id: str) -> RiskExposure | None:
        owner = self.rt.book.owner(account_id)
        if owner is None:
            return None
        view = self.rt.view([account_id])
        m = view.metrics
        return RiskExposure(
            org=owner.org, user_id=owner.user_id, at_ms=self.d.now() // _NS_PER_MS,
            account_id=account_id, gross=fmt(m.gross), net=fmt(m.net),
            realized=fmt(m.realized), unrealized=fmt(m.unrealized),
            drawdown=ratio(view.drawdown),
            leverage=ratio(m.gross / m.equity) if m.equity > 0 else None,
            var=None if view.var is None else fmt(view.var[0].quantize(EIGHT)),
            es=None if view.var is None else fmt(view.var[1].quantize(EIGHT)),
            margin_used=fmt(view.margin_used),
            margin_usage=None if (u := view.margin_usage) is None else ratio(u),
            liquidation_distance=None if (q := view.liquidation_distance) is None else ratio(q),
        )  # fmt: skip

    async def publish(self) -> int:
        """One event per changed account whose numbers moved; how many were published."""
        changed, self.rt.changed = self.rt.changed, set()
        events: list[RiskExposure] = []
        for account_id in sorted(changed):
            e = self.event(account_id)
            if e is None:
                continue
            if self._last.get(account_id) != _numbers(e):
                events.append(e)
        if not events:
            return 0
        try:
            async with self.d.db.transaction() as s:
                for e in events:
                    await self.d.outbox.add(
                        s, risk_exposure(e.account_id), e.model_dump(),
                        msg_id=f"rx-{uuid.uuid4().hex}",
                    )  # fmt: skip
        except BaseException:
            self.rt.changed |= changed  # published next time
            raise
        for e in events:
            self._last[e.account_id] = _numbers(e)
        self.published += len(events)
        return len(events)

    async def loop(self) -> None:
        while True:
            await asyncio.sleep(self.d.settings.exposure_publish_s)
            try:
                await self.publish()
            except Exception:
                log.warning("risk.exposure_publish_failed", exc_info=True)
