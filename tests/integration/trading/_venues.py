"""Fault injection around the real paper venue: the matching is PaperVenue's, only the
wire misbehaves the way exchanges do (an answer lost after the venue took the order, a
fresh order reported missing, a venue that cannot be reached)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from argosy.kernel.clock import LiveClock
from argosy.kernel.errors import VenueReconcile, VenueRetry
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.money import Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, VenueFill
from argosy.services.trading.venues import AccountInfo, PaperFactory, paper_factory
from argosy.venues.execution import ExecutionVenue, VenuePosition

__all__ = ["Faults", "FaultyVenue", "faulty_paper"]


@dataclass
class Faults:
    lose_answers: int = 0  # the venue takes the order, the answer is lost (timeout)
    refuse_sends: int = 0  # VenueRetry before anything happened
    hide_queries: int = 0  # "order does not exist" for fresh orders
    drop_sends: int = 0  # the request never arrives, and the sender cannot know it
    fail_queries: bool = False  # queries fail (reconciliation cannot complete)
    mute_stream: bool = False  # no execution reports pushed: only queries tell
    down: bool = False  # every call fails: the venue cannot be reached
    on_submit: Callable[[OrderRequest], Awaitable[None]] | None = None
    venues: dict[str, FaultyVenue] = field(default_factory=dict)


class FaultyVenue:
    def __init__(self, inner: ExecutionVenue, faults: Faults) -> None:
        self.inner, self.faults = inner, faults
        self.name = inner.name

    def _check(self) -> None:
        if self.faults.down:
            raise VenueRetry("venue unreachable", venue=self.name)

    async def submit(self, order: OrderRequest) -> ExecutionReport:
        self._check()
        if self.faults.refuse_sends:
            self.faults.refuse_sends -= 1
            raise VenueRetry("503 before acceptance", venue=self.name)
        if self.faults.on_submit is not None:
            await self.faults.on_submit(order)
        if self.faults.drop_sends:
            self.faults.drop_sends -= 1
            raise VenueReconcile("timeout: no answer", venue=self.name, venue_code="-1007")
        report = await self.inner.submit(order)
        if self.faults.lose_answers:
            self.faults.lose_answers -= 1
            raise VenueReconcile("timeout after send", venue=self.name, venue_code="-1007")
        return report

    async def cancel(self, instrument_id: InstrumentId, client_order_id: str
                     ) -> ExecutionReport:
        self._check()
        return await self.inner.cancel(instrument_id, client_order_id)

    async def query(self, instrument_id: InstrumentId, client_order_id: str
                    ) -> ExecutionReport | None:
        self._check()
        if self.faults.fail_queries:
            raise VenueRetry("query failed: 502", venue=self.name)
        if self.faults.hide_queries:
            self.faults.hide_queries -= 1
            return None
        return await self.inner.query(instrument_id, client_order_id)

    async def open_orders(self, instrument_id: InstrumentId | None = None
                          ) -> list[ExecutionReport]:
        self._check()
        return await self.inner.open_orders(instrument_id)

    async def fills_since(self, instrument_id: InstrumentId, since_ns: int) -> list[VenueFill]:
        self._check()
        return await self.inner.fills_since(instrument_id, since_ns)

    async def balances(self) -> Mapping[str, Quantity]:
        self._check()
        return await self.inner.balances()

    async def positions(self) -> list[VenuePosition]:
        self._check()
        return await self.inner.positions()

    def reports(self) -> AsyncIterator[ExecutionReport]:
        if self.faults.mute_stream:
            return _silent()
        return self.inner.reports()

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

    def __getattr__(self, name: str) -> object:  # on_book_snapshot, on_trade... pass through
        return getattr(self.inner, name)


async def _silent() -> AsyncIterator[ExecutionReport]:
    await asyncio.Event().wait()
    yield  # type: ignore[misc]  # never reached: an empty, endless stream


def faulty_paper(faults: Faults) -> PaperFactory:
    real = paper_factory(LiveClock())

    def build(account: AccountInfo, instruments: list[Instrument],
              balances: Mapping[str, Decimal]) -> ExecutionVenue:
        venue = FaultyVenue(real(account, instruments, balances), faults)
        faults.venues[account.id] = venue
        return venue

    return build
