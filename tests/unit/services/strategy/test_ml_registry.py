"""The model registry on the local object store: versions, metrics, integrity check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from argosy.kernel.errors import Invalid, NotFound
from argosy.platform.objects.local import LocalObjectStore
from argosy.services.strategy.domain.ml import MLSignal, ModelSpec, train_classifier
from argosy.services.strategy.domain.optimize import OHLCV
from argosy.services.strategy.models_registry import ModelRegistry
from tests.unit.services.strategy._bars import Bars


async def test_versions_metrics_load_and_tamper_refusal(btc: Bars, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path, prefix="strategy")
    await store.connect()
    bars = OHLCV(btc.open[:6000], btc.high[:6000], btc.low[:6000], btc.close[:6000],
                 btc.volume[:6000])
    registry = ModelRegistry(store)
    model = train_classifier(bars, ModelSpec("logistic", horizon=3, cv_splits=3))
    first = await registry.register("btc", model)
    second = await registry.register("btc", model, extra={"note": "again"})
    assert (first["version"], second["version"]) == (1, 2)
    assert await registry.versions("btc") == [1, 2]
    assert first["metrics"]["train_rows"] == model.train_rows
    listed = await registry.listing()
    assert [(m["name"], m["versions"], m["note"]) for m in listed] == [("btc", [1, 2], "again")]

    loaded = await registry.load("btc", 1)
    np.testing.assert_array_equal(loaded.predict_proba(bars), model.predict_proba(bars))
    entries, _ = MLSignal(loaded, enter=0.5, exit=0.5).signals(bars)
    assert entries.any()

    await store.put("models/btc/000001/model.joblib", b"not the model")
    with pytest.raises(Invalid):
        await registry.load("btc", 1)
    with pytest.raises(NotFound):
        await registry.meta("btc", 9)
    with pytest.raises(NotFound):
        await registry.load("nope")
