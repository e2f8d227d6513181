"""The ML model registry in the object store, and the model use-cases (train, list, load).

Layout under the service's store: `models/<name>/<version:06d>/model.joblib` (the fitted
estimator) beside `meta.json` (kind, features, horizon, CV metrics, training range,
sha256 of the model bytes). Versions are 1, 2, 3... per name. The model is written before
its meta, and a version exists once its meta does, so a reader never sees half a version.
Loading checks the sha256 in the meta before unpickling: the store belongs to this
service alone, and a model file that does not match its meta is refused, not run.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import orjson

from argosy.kernel.errors import Conflict, Invalid, NotFound
from argosy.platform.auth.internal import Principal
from argosy.platform.objects.base import ObjectStore
from argosy.services.strategy.domain.ml import ModelSpec, TrainedModel, train_classifier
from argosy.services.strategy.domain.walkforward import finite_or_none
from argosy.services.strategy.optimizer_data import dataset_path, load_ohlcv_csv
from argosy.services.strategy.schemas_opt import ModelTrainRequest

__all__ = ["ModelRegistry", "ModelService", "model_from_bytes"]

_PREFIX = "models/"


class ModelRegistry:
    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._lock = asyncio.Lock()  # one writer per process picks the next version

    @staticmethod
    def _dir(name: str, version: int) -> str:
        return f"{_PREFIX}{name}/{version:06d}"

    async def versions(self, name: str) -> list[int]:
        infos = await self.objects.list(f"{_PREFIX}{name}/")
        return sorted(int(i.key.split("/")[2]) for i in infos if i.key.endswith("/meta.json"))

    async def register(self, name: str, model: TrainedModel, *,
                       extra: dict[str, Any] | None = None) -> dict[str, Any]:
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        blob = buffer.getvalue()
        async with self._lock:
            version = (max(await self.versions(name), default=0)) + 1
            base = self._dir(name, version)
            if await self.objects.exists(f"{base}/meta.json"):
                raise Conflict(f"model {name} version {version} already exists", field="name")
            meta = {
                "name": name, "version": version, "kind": model.spec.kind,
                "features": list(model.features), "horizon": model.spec.horizon,
                "threshold": model.spec.threshold, "cv_splits": model.spec.cv_splits,
                "params": model.spec.params,
                "metrics": {k: finite_or_none(v) for k, v in model.metrics.items()},
                "cv": [{k: finite_or_none(v) for k, v in fold.items()} for fold in model.cv],
                "sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob),
                "created_ns": time.time_ns(), **(extra or {}),
            }
            await self.objects.put(f"{base}/model.joblib", blob)
            await self.objects.put(f"{base}/meta.json", orjson.dumps(meta),
                                   content_type="application/json")
        return meta

    async def meta(self, name: str, version: int | None = None) -> dict[str, Any]:
        if version is None:
            found = await self.versions(name)
            if not found:
                raise NotFound(f"model {name!r} not found", field="name")
            version = found[-1]
        try:
            raw = await self.objects.get(f"{self._dir(name, version)}/meta.json")
        except NotFound:
            raise NotFound(f"model {name!r} version {version} not found",
                           field="version") from None
        meta: dict[str, Any] = orjson.loads(raw)
        return meta

    async def listing(self) -> list[dict[str, Any]]:
        """Every model with its latest version's meta and its version numbers."""
        infos = await self.objects.list(_PREFIX)
        names = sorted({i.key.split("/")[1] for i in infos if i.key.endswith("/meta.json")})
        out = []
        for name in names:
            versions = await self.versions(name)
            out.append({**await self.meta(name, versions[-1]), "versions": versions})
        return out

    async def load(self, name: str, version: int | None = None) -> TrainedModel:
        meta = await self.meta(name, version)
        blob = await self.objects.get(f"{self._dir(name, meta['version'])}/model.joblib")
        return model_from_bytes(blob, meta)


def model_from_bytes(blob: bytes, meta: dict[str, Any]) -> TrainedModel:
    """The model in `blob` after checking it against its meta; synchronous, so a backtest
    worker process that received (blob, meta) can build an MLSignal without the store."""
    label = f"model {meta.get('name')} v{meta.get('version')}"
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise Invalid(f"{label} does not match its recorded sha256; refusing to load it",
                      field="version")
    model = joblib.load(io.BytesIO(blob))
    if not isinstance(model, TrainedModel):
        raise Invalid(f"{label} is not a trained model", field="version")
    return model


class ModelService:
    """Train on a dataset range in a thread (CPU-bound, off the event loop), register."""

    def __init__(self, registry: ModelRegistry, data_dir: Path) -> None:
        self.registry, self.data_dir = registry, data_dir
        self._gate = asyncio.Semaphore(1)

    async def train(self, who: Principal, body: ModelTrainRequest) -> dict[str, Any]:
        spec = ModelSpec(body.kind, tuple(body.features), body.horizon, body.threshold,
                         body.cv_splits, body.seed, dict(body.params))
        spec.pipeline  # unknown features -> 422 before any work  # noqa: B018
        path = dataset_path(self.data_dir, body.dataset)
        if any(m["name"] == body.name for m in await self.registry.listing()) and not any(
                m["name"] == body.name for m in await self.listing(who.subject)):
            # names are one namespace: another caller's versions are never added to
            raise Conflict(f"the model name {body.name!r} is taken", field="name")
        async with self._gate:
            bars, times = await asyncio.to_thread(load_ohlcv_csv, path, body.start_ms,
                                                  body.end_ms)
            try:
                model = await asyncio.to_thread(train_classifier, bars, spec)
            except (TypeError, ValueError) as exc:  # bad estimator params from the caller
                raise Invalid(f"training failed: {exc}", field="params") from None
        return await self.registry.register(body.name, model, extra={
            "dataset": body.dataset, "start_ms": int(times[0]), "end_ms": int(times[-1]) + 1,
            "bars": len(bars), "created_by": who.subject})

    async def listing(self, owner: str | None = None) -> list[dict[str, Any]]:
        """`owner`: the caller's subject; other callers' models are not listed."""
        models = await self.registry.listing()
        return [m for m in models if owner is None or m.get("created_by") == owner]

    async def get(self, name: str, version: int | None,
                  owner: str | None = None) -> dict[str, Any]:
        meta = await self.registry.meta(name, version)
        if owner is not None and meta.get("created_by") != owner:
            raise NotFound(f"model {name!r} not found", field="name")  # as if absent
        return {**meta, "versions": await self.registry.versions(name)}
