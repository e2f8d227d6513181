"""The ML classifier strategy: a trained model's P(up) on each closed bar decides.

Long only: buy (all-in with one instrument, as the other long-only built-ins) when the
model's probability that the price rises over its horizon exceeds `enter_above`; sell the
whole position once it falls below `exit_below`; between the two, hold. The probability is published
as the `p_up` signal on every bar.

The model comes from the registry (POST /api/v1/models), named by the `model` and
`version` parameters, but loading it is I/O, which the domain does not do: whoever runs
the strategy (a live deployment, a backtest) reads it from the registry and hands it over
with `use_model` before `on_start`. Each instrument gets its own `BarPredictor`, which
keeps only the window the model's features need, so a bar costs the same on day one and
on day 100, and its probability equals the vectorized `MLSignal.signals` row for the same
bar (tested).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar
from argosy.services.strategy.domain.builtins._long_only import LongOnly
from argosy.services.strategy.domain.params import Param

if TYPE_CHECKING:  # scikit-learn loads only when a model is used, not with every built-in
    from argosy.services.strategy.domain.ml import BarPredictor, MLSignal, TrainedModel

__all__ = ["MlClassifier"]


class MlClassifier(LongOnly):
    """ML classifier: long while a registry model's P(up) > enter_above, flat below exit_below.

    Parameters name the model (`model`, `version` 0 = the latest) and the two thresholds.
    """

    needs_model: ClassVar[bool] = True

    model = Param("", doc="name of a trained model in the registry")
    version = Param(0, low=0, high=1_000_000, doc="model version; 0 = the latest")
    enter_above = Param(0.55, low=0.0, high=1.0, doc="buy when P(up) rises above this")
    exit_below = Param(0.45, low=0.0, high=1.0, doc="sell when P(up) falls below this")

    _signal: MLSignal | None = None

    def validate(self) -> None:
        if not self.model:
            raise Invalid("name the model to use (POST /api/v1/models trains one)",
                          field="params.model")
        if not self.exit_below <= self.enter_above:
            raise Invalid(f"exit_below ({self.exit_below}) must not be above enter_above "
                          f"({self.enter_above})", field="params.exit_below")

    def use_model(self, model: TrainedModel) -> None:
        from argosy.services.strategy.domain.ml import MLSignal

        self._signal = MLSignal(model, self.enter_above, self.exit_below)

    def on_start(self) -> None:
        if self._signal is None:
            raise Invalid(f"model {self.model!r} was not loaded before the start",
                          field="params.model")
        self._predictors: dict[InstrumentId, BarPredictor] = {
            i: self._signal.predictor() for i in self.ctx.instruments}

    def on_bar(self, bar: Bar) -> None:
        predictor = self._predictors.get(bar.instrument_id)
        if predictor is None:
            return
        close = bar.close.value
        p, action = predictor.update(float(bar.open.value), float(bar.high.value),
                                     float(bar.low.value), float(close),
                                     float(bar.volume.value))
        if p == p:  # NaN while the features warm up
            self.signal("p_up", p)
        held = self.position(bar.instrument_id)
        if action == "enter" and held <= 0:
            self.enter(bar.instrument_id, close)
        elif action == "exit" and held > 0:
            self.sell(bar.instrument_id, held)
