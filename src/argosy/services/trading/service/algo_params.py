"""From an `AlgoIn` request to the stored parameters, and from those back to the object.

The request is validated once, at creation, into a JSON dict with every default and
relative time resolved (start and end in ns, the VWAP volume profile itself, the SOR
legs), so a restart rebuilds exactly the same algorithm from the `algos.params` column and
then restores its mutable state from `algos.state`. Bad input raises `Invalid` naming the
field as the caller wrote it (`params.duration_s`, `limit_price`...).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from argosy.contracts.v1.trading import AlgoIn
from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.services.trading.domain.algos import (
    Iceberg,
    ParentAlgo,
    ParentSpec,
    Pov,
    Twap,
    VolumeProfile,
    Vwap,
)
from argosy.services.trading.domain.algos.routed import Leg, Routed

__all__ = ["build", "decimal_param", "int_param", "parse_common", "price_param"]

NS = 1_000_000_000
MAX_DURATION_S = 7 * 86_400


def decimal_param(raw: Any, field: str, *, required: bool = True) -> Decimal | None:
    if raw is None:
        if required:
            raise Invalid(f"{field} is required", field=field)
        return None
    if isinstance(raw, float | bool):
        raise Invalid(f"{field} must be a decimal string (or an integer)", field=field)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise Invalid(f"{field} is not a decimal: {raw!r}", field=field) from None
    if not value.is_finite():
        raise Invalid(f"{field} must be finite", field=field)
    return value


def int_param(raw: Any, field: str, default: int | None = None, *, low: int = 0,
              high: int = 2**62) -> int:
    if raw is None:
        if default is None:
            raise Invalid(f"{field} is required", field=field)
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise Invalid(f"{field} must be an integer", field=field)
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{field} must be an integer", field=field) from None
    if not low <= value <= high:
        raise Invalid(f"{field} must be from {low} to {high}", field=field)
    return value


def _quantity(raw: Any, field: str) -> Quantity:
    value = decimal_param(raw, field)
    assert value is not None
    try:
        return Quantity(value)
    except Invalid as exc:
        raise Invalid(f"{field}: {exc.message}", field=field) from None


def price_param(raw: Any, field: str) -> Price | None:
    value = decimal_param(raw, field, required=False)
    try:
        return None if value is None else Price(value)
    except Invalid as exc:
        raise Invalid(f"{field}: {exc.message}", field=field) from None


_ALLOWED = {
    "twap": {"duration_s", "slices", "start_delay_s", "randomize", "seed"},
    "vwap": {"duration_s", "slices", "start_delay_s", "randomize", "seed",
             "profile_interval", "profile_days"},
    "iceberg": {"show_quantity"},
    "pov": {"rate", "min_child", "max_child", "duration_s"},
    "sor": {"latency_penalty_bps_per_ms"},
}


def parse_common(body: AlgoIn, instrument: Instrument, now_ns: int) -> dict[str, Any]:
    """The parameters every kind shares, plus the schedule window where there is one."""
    unknown = set(body.params) - _ALLOWED[body.type]
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid(f"unknown parameter {name!r} for {body.type} (allowed: "
                      f"{', '.join(sorted(_ALLOWED[body.type]))})", field=f"params.{name}")
    quantity = _quantity(body.quantity, "quantity")
    limit = price_param(body.limit_price, "limit_price")
    slippage = decimal_param(body.max_slippage_bps, "max_slippage_bps", required=False)
    out: dict[str, Any] = {
        "kind": body.type, "instrument": str(instrument.id), "side": body.side,
        "quantity": quantity.to_str(), "limit_price": None if limit is None else limit.to_str(),
        "max_slippage_bps": None if slippage is None else str(slippage), "created_ns": now_ns,
    }
    p = body.params
    if body.type in ("twap", "vwap"):
        delay = int_param(p.get("start_delay_s"), "params.start_delay_s", 0,
                          high=MAX_DURATION_S)
        duration = int_param(p.get("duration_s"), "params.duration_s", low=1,
                             high=MAX_DURATION_S)
        out["start_ns"] = now_ns + delay * NS
        out["end_ns"] = out["start_ns"] + duration * NS
        out["slices"] = int_param(p.get("slices"), "params.slices", 10, low=1, high=10_000)
        randomize = decimal_param(p.get("randomize"), "params.randomize", required=False)
        out["randomize"] = str(randomize or 0)
        out["seed"] = int_param(p.get("seed"), "params.seed", 0)
    elif body.type == "iceberg":
        out["show_quantity"] = _quantity(p.get("show_quantity"),
                                         "params.show_quantity").to_str()
    elif body.type == "pov":
        rate = decimal_param(p.get("rate"), "params.rate")
        out["rate"] = str(rate)
        out["min_child"] = _quantity(p.get("min_child"), "params.min_child").to_str()
        out["max_child"] = None if p.get("max_child") is None else \
            _quantity(p.get("max_child"), "params.max_child").to_str()
        pov_duration = p.get("duration_s")
        out["end_ns"] = None if pov_duration is None else now_ns + int_param(
            pov_duration, "params.duration_s", low=1, high=MAX_DURATION_S) * NS
    return out


def _spec(algo_id: str, params: Mapping[str, Any], instrument: Instrument) -> ParentSpec:
    limit, slippage = params["limit_price"], params["max_slippage_bps"]
    return ParentSpec(algo_id, instrument, Side(params["side"]), Quantity(params["quantity"]),
                      limit_price=None if limit is None else Price(limit),
                      max_slippage_bps=None if slippage is None else Decimal(slippage))


def build(algo_id: str, params: Mapping[str, Any], instrument: Instrument) -> ParentAlgo:
    """The algorithm object of `params` (fresh state; `restore` the checkpoint after)."""
    spec = _spec(algo_id, params, instrument)
    created, kind = int(params["created_ns"]), params["kind"]
    if kind == "twap":
        return Twap(spec, created, start_ns=params["start_ns"], end_ns=params["end_ns"],
                    slices=params["slices"], randomize=Decimal(params["randomize"]),
                    seed=params["seed"])
    if kind == "vwap":
        profile = VolumeProfile(int(params["profile"]["bucket_ns"]),
                                tuple(Decimal(s) for s in params["profile"]["shares"]))
        return Vwap(spec, created, start_ns=params["start_ns"], end_ns=params["end_ns"],
                    slices=params["slices"], profile=profile,
                    randomize=Decimal(params["randomize"]), seed=params["seed"])
    if kind == "iceberg":
        return Iceberg(spec, created, show_quantity=Quantity(params["show_quantity"]))
    if kind == "pov":
        return Pov(spec, created, rate=Decimal(params["rate"]),
                   min_child=Quantity(params["min_child"]),
                   max_child=None if params["max_child"] is None
                   else Quantity(params["max_child"]), end_ns=params["end_ns"])
    if kind == "sor":
        legs = [Leg(leg["account_id"], Quantity(leg["quantity"]), Price(leg["limit_price"]))
                for leg in params["legs"]]
        return Routed(spec, created, legs=legs)
    raise Invalid(f"unknown algorithm {kind!r}", field="type")
