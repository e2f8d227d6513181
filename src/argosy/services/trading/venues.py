"""Which venue an account's orders go to, built on first use and kept for the process.

Paper accounts (every user's default) run on an in-process `PaperVenue` fed from market
data; exchange accounts on the adapter registered for their venue, with credentials
fetched from the users service vault over the internal call and held only in memory.
The choice is a factory per account kind/venue, so a new adapter is one registration.

A paper venue lives in memory: after a restart it knows nothing, so it is `ephemeral` and
recovery re-seeds it from the trading database (balances, then open orders) before
reconciling. An exchange keeps its own state and is only queried.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from argosy.kernel.clock import Clock
from argosy.kernel.errors import Unavailable
from argosy.kernel.instruments import Instrument
from argosy.venues.execution import ExecutionVenue

__all__ = ["AccountInfo", "Credentials", "ExchangeFactory", "PaperFactory", "VenueHandle",
           "VenueRegistry", "ccxt_factory", "paper_factory"]

log = structlog.get_logger("argosy.trading.venues")


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: str
    org: str
    user_id: str
    kind: str  # paper | exchange
    venue: str | None
    currency: str


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    api_secret: str
    passphrase: str | None = None

    def __repr__(self) -> str:  # never in a log line
        return "Credentials(***)"


@dataclass(frozen=True, slots=True)
class VenueHandle:
    venue: ExecutionVenue
    ephemeral: bool  # state lost with the process (paper): re-seed on start


PaperFactory = Callable[[AccountInfo, list[Instrument], Mapping[str, Decimal]], ExecutionVenue]
ExchangeFactory = Callable[[AccountInfo, Credentials, list[Instrument]], ExecutionVenue]
CredentialFetch = Callable[[str], Awaitable[Credentials]]


def paper_factory(clock: Clock, settings: Any = None) -> PaperFactory:
    """PaperVenue from venues/paper, one per account so balances never mix.

    The venue's name carries an incarnation id: its fill and order ids count from 1 in
    every process, and a fill id must never repeat one booked before a restart."""
    incarnation = uuid.uuid4().hex[:8]

    def build(account: AccountInfo, instruments: list[Instrument],
              balances: Mapping[str, Decimal]) -> ExecutionVenue:
        from argosy.venues.paper import PaperSettings, PaperVenue

        base = settings or PaperSettings()
        seeded = PaperSettings(
            latency_ns=base.latency_ns, slippage_bps=base.slippage_bps, fees=base.fees,
            default_fees=base.default_fees, starting_balances=dict(balances),
            queue_model=base.queue_model, default_leverage=base.default_leverage,
            leverage=base.leverage)
        venue: ExecutionVenue = PaperVenue(f"paper-{incarnation}-{account.id}", instruments,
                                           clock, seeded)
        return venue

    return build


class VenueRegistry:
    def __init__(self, paper: PaperFactory | None,
                 exchanges: Mapping[str, ExchangeFactory] | None = None,
                 credentials: CredentialFetch | None = None) -> None:
        self._paper = paper
        self._exchanges = dict(exchanges or {})
        self._credentials = credentials
        self._handles: dict[str, VenueHandle] = {}
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[str, VenueHandle], None]] = []
        self._closing: set[asyncio.Task[Any]] = set()

    def on_new(self, listener: Callable[[str, VenueHandle], None]) -> None:
        """Called once per venue built (the service starts its report consumer there)."""
        self._listeners.append(listener)

    def known(self, account_id: str) -> VenueHandle | None:
        return self._handles.get(account_id)

    def handles(self) -> dict[str, VenueHandle]:
        return dict(self._handles)

    async def open(self, account: AccountInfo, instruments: list[Instrument],
                   balances: Mapping[str, Decimal]) -> VenueHandle:
        async with self._lock:
            found = self._handles.get(account.id)
            if found is not None:
                return found
            handle = await self._build(account, instruments, balances)
            self._handles[account.id] = handle
        for listener in self._listeners:
            listener(account.id, handle)
        return handle

    async def _build(self, account: AccountInfo, instruments: list[Instrument],
                     balances: Mapping[str, Decimal]) -> VenueHandle:
        if account.kind == "paper":
            if self._paper is None:
                raise Unavailable("the paper venue is not available", dependency="paper")
            return VenueHandle(self._paper(account, instruments, balances), ephemeral=True)
        factory = self._exchanges.get(account.venue or "") or ccxt_factory(account.venue)
        if factory is None:
            raise Unavailable(f"no execution adapter for venue {account.venue!r}",
                              dependency=f"venue:{account.venue}")
        if self._credentials is None:
            raise Unavailable("no credential source configured", dependency="users")
        creds = await self._credentials(account.id)
        venue = factory(account, creds, instruments)
        start = getattr(venue, "start", None)
        if start is not None:  # clock sync, user-data stream
            await start()
        log.info("venue.exchange_opened", account=account.id, venue=account.venue)
        return VenueHandle(venue, ephemeral=False)

    def drop(self, account_id: str) -> None:
        handle = self._handles.pop(account_id, None)
        close = getattr(handle.venue, "aclose", None) if handle is not None else None
        if close is not None:  # an exchange connection (ccxt sessions, user streams)
            task = asyncio.get_running_loop().create_task(close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def ccxt_factory(venue: str | None) -> ExchangeFactory | None:
    """Any exchange ccxt knows, for venues without a native adapter (Binance has one)."""
    if not venue:
        return None
    import ccxt  # type: ignore[import-untyped]  # lazily: most runs never need ccxt

    if venue not in ccxt.exchanges:
        return None

    def build(account: AccountInfo, creds: Credentials, _instruments: list[Instrument]) -> Any:
        from argosy.venues.ccxt_execution import CcxtExecution

        return CcxtExecution.connect(venue, api_key=creds.api_key, secret=creds.api_secret,
                                     password=creds.passphrase)

    return build
