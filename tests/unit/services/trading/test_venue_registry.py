"""Which adapter an exchange account gets: the native one where registered, ccxt for any
other exchange ccxt knows, and a clear 503 naming the venue otherwise."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Unavailable
from argosy.services.trading.venues import (
    AccountInfo,
    Credentials,
    VenueRegistry,
    ccxt_factory,
)
from argosy.venues.ccxt_execution import CcxtExecution


def _account(venue: str | None) -> AccountInfo:
    return AccountInfo("acc_1", "org_1", "usr_1", "exchange", venue, "USDT")


async def test_ccxt_serves_exchanges_without_a_native_adapter() -> None:
    assert ccxt_factory(None) is None
    assert ccxt_factory("nosuchexchange") is None
    build = ccxt_factory("kraken")
    assert build is not None
    venue = build(_account("kraken"), Credentials("k", "s"), [])
    assert isinstance(venue, CcxtExecution)
    await venue.aclose()


async def test_unknown_venue_is_unavailable_and_named() -> None:
    async def creds(_account_id: str) -> Credentials:
        return Credentials("k", "s")

    registry = VenueRegistry(None, {}, creds)
    with pytest.raises(Unavailable) as caught:
        await registry.open(_account("nosuchexchange"), [], {})
    assert "nosuchexchange" in caught.value.message
    assert registry.known("acc_1") is None
