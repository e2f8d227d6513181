"""Fixtures: a SimClock and a factory for a paper venue holding a small book."""

from __future__ import annotations

import pytest

from argosy.kernel.clock import SimClock
from tests.unit.venues.paper._paper import MakeVenue, venue_factory


@pytest.fixture
def clock() -> SimClock:
    return SimClock(1_000_000_000)


@pytest.fixture
def make_venue(clock: SimClock) -> MakeVenue:
    return venue_factory(clock)
