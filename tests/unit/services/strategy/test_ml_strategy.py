"""The `ml_classifier` built-in: a registry model's P(up) drives entries and exits in the
event-driven backtester, bar for bar equal to the vectorized `MLSignal`, on real bars
(FTX BTC-PERP 1m: trained on the first 6,000 bars, traded on the next 3,000)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.messages import Side
from argosy.platform.objects.local import LocalObjectStore
from argosy.services.strategy.backtest import BacktestSpec, run_backtest
from argosy.services.strategy.domain.builtins import MODEL_BUILTINS, MlClassifier
from argosy.services.strategy.domain.ml import MLSignal, ModelSpec, TrainedModel, train_classifier
from argosy.services.strategy.domain.optimize import OHLCV
from argosy.services.strategy.model_loading import model_blob, provide_model, use_blob
from argosy.services.strategy.models_registry import ModelRegistry
from argosy.services.strategy.plugins import StrategyRegistry
from tests.unit.services.strategy._backtests import BTC_FTX, feed_for, iid
from tests.unit.services.strategy._bars import Bars

TRAIN, TRADE = 6000, 3000
PARAMS = {"model": "btc", "enter_above": 0.52, "exit_below": 0.48}


@pytest.fixture(scope="module")
def model(request: pytest.FixtureRequest) -> TrainedModel:
    btc: Bars = request.getfixturevalue("btc_module")
    bars = OHLCV(btc.open[:TRAIN], btc.high[:TRAIN], btc.low[:TRAIN], btc.close[:TRAIN],
                 btc.volume[:TRAIN])
    return train_classifier(bars, ModelSpec("logistic", horizon=3, cv_splits=3))


@pytest.fixture(scope="module")
def btc_module(request: pytest.FixtureRequest) -> Bars:
    from tests.support.servers import SHARED_DATA
    from tests.unit.services.strategy._bars import load_bars

    path = SHARED_DATA / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv"
    if not path.is_file():
        pytest.skip("../shared/data is not present")
    return load_bars(path)


def _spec(btc: Bars, params: dict[str, object] | None = None) -> BacktestSpec:
    start = int(btc.time_ms[TRAIN]) * 1_000_000
    end = int(btc.time_ms[TRAIN + TRADE]) * 1_000_000
    return BacktestSpec(MlClassifier, (iid(BTC_FTX),), params or PARAMS, start_ns=start,
                        end_ns=end, cash=Decimal(100_000))


def test_entries_and_exits_follow_the_vectorized_signal(btc_module: Bars,
                                                        model: TrainedModel) -> None:
    spec = _spec(btc_module)
    feed = feed_for(spec)
    strategy = MlClassifier(PARAMS)
    strategy.use_model(model)
    result = run_backtest(spec, feed, strategy=strategy)
    assert result.status == "completed", result.error
    # the streaming P(up) of every bar equals the vectorized probability of the same bar
    bars = feed.bars
    window = OHLCV(*(np.array([float(getattr(b, k).value) for b in bars])
                     for k in ("open", "high", "low", "close", "volume")))
    signal = MLSignal(model, 0.52, 0.48)
    proba = model.predict_proba(window)
    streamed = np.array([v for _, name, v in result.signals if name == "p_up"])
    finite = proba[np.isfinite(proba)]
    assert len(streamed) == len(finite) > TRADE - 100
    np.testing.assert_allclose(streamed, finite, rtol=1e-12)
    # each fill is at the open after a bar whose signal asked for it, long only
    entries, exits = signal.signals(window)
    opens = {b.ts_open_ns: n for n, b in enumerate(bars)}
    buys = [opens[f.ts_ns] - 1 for f in result.fills if f.side is Side.BUY]
    sells = [opens[f.ts_ns] - 1 for f in result.fills if f.side is Side.SELL]
    assert len(buys) >= 3
    assert len(sells) >= 3
    assert all(entries[k] for k in buys)
    assert all(exits[k] for k in sells)
    # and every such bar while flat (or long) produced one: the vectorized position rule
    held, expected_buys, expected_sells = False, [], []
    for k in range(len(bars) - 1):
        if entries[k] and not held:
            expected_buys.append(k)
            held = True
        elif exits[k] and held:
            expected_sells.append(k)
            held = False
    assert (buys, sells) == (expected_buys, expected_sells)


def test_parameters_and_a_missing_model_are_refused(btc_module: Bars) -> None:
    assert MODEL_BUILTINS["ml_classifier"] is MlClassifier
    assert StrategyRegistry(None).get("ml_classifier").cls is MlClassifier
    with pytest.raises(Invalid) as raised:
        MlClassifier({})
    assert raised.value.field == "params.model"
    with pytest.raises(Invalid) as raised:
        MlClassifier({"model": "m", "enter_above": 0.4, "exit_below": 0.6})
    assert raised.value.field == "params.exit_below"
    with pytest.raises(Invalid):
        MlClassifier({"model": "m", "enter_above": 1.5})  # outside the declared range
    spec = _spec(btc_module)
    result = run_backtest(spec, feed_for(spec), strategy=MlClassifier(PARAMS))
    assert result.status == "failed"
    assert "was not loaded" in (result.error or "")


async def test_the_model_comes_from_the_registry(model: TrainedModel, tmp_path: Path,
                                                 btc_module: Bars) -> None:
    store = LocalObjectStore(tmp_path, prefix="strategy")
    await store.connect()
    registry = ModelRegistry(store)
    await registry.register("btc", model)
    live = MlClassifier(PARAMS)
    await provide_model(live, registry)  # a live deployment: straight from the store
    blob = await model_blob(MlClassifier, PARAMS, registry)  # a backtest worker: bytes
    assert blob is not None
    assert blob[1]["version"] == 1
    worker = MlClassifier(PARAMS)
    use_blob(worker, blob)
    spec = _spec(btc_module)
    a = run_backtest(spec, feed_for(spec), strategy=live)
    b = run_backtest(spec, feed_for(spec), strategy=worker)
    assert a.fills_digest == b.fills_digest
    assert len(a.fills) > 0
    with pytest.raises(NotFound):
        await provide_model(MlClassifier({**PARAMS, "model": "absent"}), registry)
    # a model trained by someone else is as absent as a missing one
    await registry.register("mine", model, extra={"created_by": "user:alice"})
    mine = {**PARAMS, "model": "mine"}
    await provide_model(MlClassifier(mine), registry, "user:alice")
    with pytest.raises(NotFound):
        await provide_model(MlClassifier(mine), registry, "user:bob")
    with pytest.raises(NotFound):
        await model_blob(MlClassifier, mine, registry, "user:bob")
