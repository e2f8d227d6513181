"""Pure rules shared by the networked transports: group names and redelivery spacing."""

from __future__ import annotations

import pytest

from argosy.platform.bus._groups import REDELIVERY_MAX_S, durable_name, redelivery_delay


def test_durable_name_keeps_group_and_changes_with_pattern() -> None:
    a = durable_name("risk", "trading.fill.*")
    assert a.startswith("risk_")
    assert len(a) == len("risk_") + 8
    assert a == durable_name("risk", "trading.fill.*")
    assert a != durable_name("risk", "trading.fill.>")


def test_redelivery_delay_grows_then_caps() -> None:
    delays = [redelivery_delay(n) for n in range(1, 6)]
    assert delays == sorted(delays)
    assert delays[1] == 2 * delays[0]
    assert redelivery_delay(1000) == REDELIVERY_MAX_S
    with pytest.raises(ValueError, match="start at 1"):
        redelivery_delay(0)
