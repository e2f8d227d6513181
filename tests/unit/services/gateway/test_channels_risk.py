"""The `risk` private channel: an account's `risk.exposure.<account>` stream."""

from __future__ import annotations

import pytest

from argosy.contracts.topics import risk_exposure
from argosy.kernel.errors import Invalid
from argosy.services.gateway.domain.channels import PRIVATE_KINDS, resolve_channel


def test_risk_channel_maps_to_the_accounts_exposure_topic() -> None:
    ch = resolve_channel("risk", account="acc-1", user_id="u1")
    assert (ch.topic, ch.permission, ch.account) == ("risk.exposure.acc-1", "risk:read", "acc-1")
    assert ch.topic == risk_exposure("acc-1")  # the topic the risk service publishes on
    assert "risk" in PRIVATE_KINDS


@pytest.mark.parametrize("account", [None, "", "a.b", "*", ">", "acc 1"])
def test_risk_channel_needs_a_plain_account_id(account: str | None) -> None:
    with pytest.raises(Invalid) as e:
        resolve_channel("risk", account=account, user_id="u1")
    assert e.value.field == "account"
