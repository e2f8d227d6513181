"""Declared, typed strategy parameters with ranges.

A strategy class declares its parameters as class attributes::

    class Crossover(Strategy):
        fast = Param(10, low=2, high=500, doc="bars in the fast average")

Why a declaration and not free keyword arguments: the API lists them (GET /strategies),
the optimizer samples inside the ranges, the config service validates deployments against
them, and a value out of range is refused before a single bar is read, with an `Invalid`
naming the parameter (HTTP 422). On an instance `self.fast` reads the validated value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from argosy.kernel.errors import Invalid

__all__ = ["Param", "ParamSpec", "validate_params"]

T = TypeVar("T", int, float, str, bool)


@dataclass(frozen=True)
class ParamSpec:
    """The wire description of one parameter (what GET /strategies shows)."""

    name: str
    type: str
    default: Any
    low: float | None
    high: float | None
    choices: tuple[Any, ...] | None
    doc: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default,
                "low": self.low, "high": self.high,
                "choices": list(self.choices) if self.choices is not None else None,
                "doc": self.doc}


class Param(Generic[T]):
    """A declared parameter; its type is the default's type (int, float, str or bool)."""

    def __init__(self, default: T, *, low: float | None = None, high: float | None = None,
                 choices: tuple[T, ...] | None = None, doc: str = "") -> None:
        self.default: T = default
        self.kind: type = type(default)
        self.choices: tuple[T, ...] | None = choices
        self.low, self.high, self.doc = low, high, doc
        self.name = ""
        if low is not None and high is not None and low > high:
            raise ValueError(f"parameter range is empty: low {low} > high {high}")

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Param[T]: ...

    @overload
    def __get__(self, obj: object, owner: type) -> T: ...

    def __get__(self, obj: object | None, owner: type) -> Param[T] | T:
        if obj is None:
            return self
        values: dict[str, Any] = getattr(obj, "_param_values", {})
        value: T = values.get(self.name, self.default)
        return value

    def spec(self) -> ParamSpec:
        return ParamSpec(self.name, self.kind.__name__, self.default, self.low, self.high,
                         self.choices, self.doc)

    def check(self, value: Any) -> T:
        """The value converted to the declared type, or `Invalid` naming the parameter."""
        field = f"params.{self.name}"
        kind = self.kind
        if kind is bool:
            if not isinstance(value, bool):
                raise Invalid(f"parameter {self.name} must be true or false, got {value!r}",
                              field=field)
            return value  # type: ignore[return-value]
        if kind is int:
            if isinstance(value, bool) or not (
                    isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
                raise Invalid(f"parameter {self.name} must be an integer, got {value!r}",
                              field=field)
            value = int(value)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Invalid(f"parameter {self.name} must be a number, got {value!r}",
                              field=field)
            value = float(value)
            if value != value:  # NaN compares false to every bound
                raise Invalid(f"parameter {self.name} must not be NaN", field=field)
        elif not isinstance(value, str):
            raise Invalid(f"parameter {self.name} must be a string, got {value!r}", field=field)
        if self.choices is not None and value not in self.choices:
            raise Invalid(f"parameter {self.name} must be one of {list(self.choices)}, "
                          f"got {value!r}", field=field)
        if (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            raise Invalid(f"parameter {self.name}={value} is outside its range "
                          f"[{self.low}, {self.high}]", field=field,
                          details={"low": self.low, "high": self.high})
        return value  # type: ignore[no-any-return]


def declared(cls: type) -> dict[str, Param[Any]]:
    """The parameters of a class and its bases, in declaration order (bases first)."""
    found: dict[str, Param[Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Param):
                found[name] = value
    return found


def validate_params(cls: type, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every declared parameter's value (defaults filled in); unknown names are refused."""
    params = declared(cls)
    given = dict(values or {})
    unknown = sorted(set(given) - set(params))
    if unknown:
        raise Invalid(f"unknown parameter(s) {unknown} for {cls.__name__}; declared: "
                      f"{sorted(params)}", field=f"params.{unknown[0]}")
    return {name: p.check(given[name]) if name in given else p.default
            for name, p in params.items()}
