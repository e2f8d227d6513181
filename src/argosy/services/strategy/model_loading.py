"""Hand a strategy that declares `needs_model` its model from the registry.

The domain does no I/O, so a strategy such as `ml_classifier` names its model in its
parameters and whoever runs it (a live deployment here, a backtest in its worker process)
loads it first. A backtest's worker has no object store: the service reads the model's
bytes and meta and the worker checks and unpickles them (`model_from_bytes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from argosy.kernel.errors import NotFound
from argosy.services.strategy.domain.strategy import Strategy

if TYPE_CHECKING:  # scikit-learn and joblib load only where a model is used
    from argosy.services.strategy.models_registry import ModelRegistry

__all__ = ["model_blob", "needs_model", "provide_model", "use_blob"]


def needs_model(strategy: type[Strategy]) -> bool:
    return bool(getattr(strategy, "needs_model", False))


def _named(params: dict[str, Any]) -> tuple[str, int | None]:
    return str(params["model"]), (int(params.get("version") or 0) or None)


async def _meta(registry: ModelRegistry, params: dict[str, Any], owner: str | None
                ) -> dict[str, Any]:
    """The named version's meta; another caller's model is as absent as a missing one."""
    name, version = _named(params)
    meta = await registry.meta(name, version)
    if owner is not None and meta.get("created_by") not in (None, owner):
        raise NotFound(f"model {name!r} not found", field="params.model")
    return meta


async def provide_model(strategy: Strategy, registry: ModelRegistry,
                        owner: str | None = None) -> None:
    """Load the model the strategy's parameters name (NotFound naming it if absent).
    `owner`: the caller's subject; only its own models are usable."""
    if needs_model(type(strategy)):
        meta = await _meta(registry, strategy.params, owner)
        model = await registry.load(str(meta["name"]), int(meta["version"]))
        strategy.use_model(model)  # type: ignore[attr-defined]


async def model_blob(strategy: type[Strategy], params: dict[str, Any],
                     registry: ModelRegistry, owner: str | None = None
                     ) -> tuple[bytes, dict[str, Any]] | None:
    """(model bytes, meta) for a worker process; None for strategies without a model."""
    if not needs_model(strategy):
        return None
    meta = await _meta(registry, params, owner)
    name = str(meta["name"])
    blob = await registry.objects.get(f"models/{name}/{int(meta['version']):06d}/model.joblib")
    return blob, meta


def use_blob(strategy: Strategy, model: tuple[bytes, dict[str, Any]] | None) -> None:
    if model is not None and needs_model(type(strategy)):
        from argosy.services.strategy.models_registry import model_from_bytes

        strategy.use_model(model_from_bytes(*model))  # type: ignore[attr-defined]
