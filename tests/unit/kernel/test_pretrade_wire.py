"""The wire schema of rules: round trip to the kernel, and errors that name the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from argosy.contracts.v1.risk import RuleSetOut, RuleSetWrite, ruleset_to_wire
from argosy.kernel.errors import Invalid
from argosy.kernel.pretrade import RuleKind

RULES: list[dict[str, Any]] = [
    {"id": "qty", "kind": "max_order_quantity", "limit": "1E+2"},
    {"id": "band", "kind": "price_band_bps", "limit": "50", "scope": {"org": "o1"}},
    {"id": "rate", "kind": "order_rate", "limit": "10", "window_ms": 1000},
    {
        "id": "ban",
        "kind": "restricted_instruments",
        "instruments": ["LUNA-USDT.binance"],
        "scope": {"account_id": "acc_1"},
    },
    {"id": "hours", "kind": "trading_hours", "hours": [{"start": "22:00", "end": "02:00"}]},
    {
        "id": "pos",
        "kind": "max_position",
        "limit": "-0",
        "scope": {"instrument": "BTC-USDT.binance"},
    },
]


def convert(rules: list[dict[str, Any]], kills: list[dict[str, Any]] | None = None) -> Any:
    return RuleSetOut.model_validate(
        {"version": 3, "rules": rules, "kill_switches": kills or []}
    ).to_ruleset()


def test_round_trip_is_canonical() -> None:
    rs = convert(RULES, [{"level": "account", "key": "acc_9", "reason": "ops"}])
    assert rs.version == 3
    assert rs.rules[0].limit == Decimal(100)
    assert rs.rules[2].window_ns == 1_000_000_000
    assert rs.rules[4].hours[0].start_minute == 22 * 60
    wire = ruleset_to_wire(rs)
    assert wire.rules[0].limit == "100"  # 1E+2 comes back in plain form
    assert wire.rules[5].limit == "0"  # and -0 as 0
    assert wire.to_ruleset() == rs
    assert rs.kill_switches[0].id == "kill:account:acc_9"


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"id": "a", "kind": "max_order_quantity", "limit": "abc"}, "rules[1].limit"),
        ({"id": "a", "kind": "max_order_quantity", "limit": "NaN"}, "rules[1].limit"),
        ({"id": "a", "kind": "max_order_quantity", "limit": "-1"}, "rules[1].limit"),
        ({"id": "a", "kind": "max_order_quantity"}, "rules[1].limit"),
        ({"id": "a", "kind": "order_rate", "limit": "5"}, "rules[1].window_ms"),
        ({"id": "a", "kind": "max_drawdown", "limit": "2"}, "rules[1].limit"),
        (
            {"id": "a", "kind": "trading_hours", "hours": [{"start": "25:00", "end": "01:00"}]},
            "rules[1].hours[0].start",
        ),
        (
            {"id": "a", "kind": "trading_hours", "hours": [{"start": "01:00", "end": "01:00"}]},
            "rules[1].hours[0].end",
        ),
        (
            {"id": "a", "kind": "max_position", "limit": "1", "scope": {"instrument": "BTC"}},
            "rules[1].scope.instrument",
        ),
        ({"id": "qty", "kind": "max_position", "limit": "1"}, "rules[1].id"),
        ({"id": "b", "kind": "max_order_quantity", "limit": "5"}, "rules[1].scope"),
    ],
)
def test_semantic_errors_name_the_field(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as exc:
        convert([RULES[0], rule])
    assert exc.value.field == field


def test_bad_kill_switch_names_field() -> None:
    with pytest.raises(Invalid) as exc:
        convert([], [{"level": "account"}])
    assert exc.value.field == "kill_switches[0].key"


def test_shape_errors_are_pydantic_errors() -> None:
    with pytest.raises(ValidationError):
        RuleSetWrite.model_validate({"rules": [{"id": "x", "kind": "max_fun", "limit": "1"}]})
    with pytest.raises(ValidationError):
        RuleSetWrite.model_validate({"rules": [], "surprise": 1})


def test_every_kernel_kind_has_a_wire_name() -> None:
    for kind in RuleKind:
        RuleSetWrite.model_validate({"rules": [{"id": "x", "kind": kind.value}]})
