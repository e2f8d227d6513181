"""Declared parameters: types, ranges, choices and unknown names, refused with the name."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.builtins import BUILTINS, SmaCrossover
from argosy.services.strategy.domain.params import Param, validate_params
from argosy.services.strategy.domain.strategy import Strategy, StrategyInfo


class _Demo(Strategy):
    """Demo strategy.

    Longer text."""

    period = Param(14, low=2, high=100, doc="bars")
    level = Param(0.5, low=0.0, high=1.0)
    side = Param("long", choices=("long", "short"))
    enabled = Param(True)


def test_defaults_and_values_are_typed() -> None:
    demo = _Demo({"period": 20.0, "level": 1})
    assert (demo.period, demo.level, demo.side, demo.enabled) == (20, 1.0, "long", True)
    assert isinstance(demo.period, int)
    assert isinstance(demo.level, float)
    assert _Demo().params == {"period": 14, "level": 0.5, "side": "long", "enabled": True}


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"period": 1}, "params.period", "outside its range [2, 100]"),
    ({"period": 101}, "params.period", "outside"),
    ({"period": 2.5}, "params.period", "integer"),
    ({"period": True}, "params.period", "integer"),
    ({"level": "x"}, "params.level", "number"),
    ({"level": float("nan")}, "params.level", "NaN"),
    ({"side": "up"}, "params.side", "one of"),
    ({"enabled": 1}, "params.enabled", "true or false"),
    ({"bogus": 1}, "params.bogus", "unknown parameter"),
])
def test_bad_values_name_the_parameter(params: dict[str, object], field: str,
                                       words: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_params(_Demo, params)
    assert info.value.field == field
    assert words in info.value.message


def test_strategy_info_lists_parameters_for_the_api() -> None:
    doc = StrategyInfo("demo", _Demo, "test").as_dict()
    assert doc["summary"] == "Demo strategy."
    assert [p["name"] for p in doc["params"]] == ["period", "level", "side", "enabled"]
    assert doc["params"][0] == {"name": "period", "type": "int", "default": 14, "low": 2,
                                "high": 100, "choices": None, "doc": "bars"}
    assert doc["params"][2]["choices"] == ["long", "short"]


def test_every_builtin_is_documented_with_declared_ranges() -> None:
    for name, cls in BUILTINS.items():
        info = StrategyInfo(name, cls, "builtin").as_dict()
        assert info["summary"], name
        assert info["params"], name
        for p in info["params"]:
            assert p["doc"], (name, p["name"])
            assert p["low"] is not None, (name, p["name"])
            assert p["high"] is not None, (name, p["name"])
        cls()  # the defaults are valid


def test_cross_parameter_checks_run_at_construction() -> None:
    with pytest.raises(Invalid, match="shorter"):
        SmaCrossover({"fast": 30, "slow": 30})
