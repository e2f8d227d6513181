"""The strategies Argosy ships with, each a plain `Strategy` subclass.

They double as examples of the framework: indicators in streaming form, declared
parameters with ranges, orders through the context. The registry lists them under the
names in `BUILTINS` (plugins may not reuse those names).
"""

from argosy.services.strategy.domain.builtins.bands import BollingerBreakout, RsiMeanReversion
from argosy.services.strategy.domain.builtins.crossover import EmaCrossover, SmaCrossover
from argosy.services.strategy.domain.builtins.grid import Grid
from argosy.services.strategy.domain.builtins.market_maker import MarketMaker
from argosy.services.strategy.domain.builtins.ml_classifier import MlClassifier
from argosy.services.strategy.domain.builtins.pairs import PairsSpread
from argosy.services.strategy.domain.strategy import Strategy

__all__ = [
    "BUILTINS", "MODEL_BUILTINS", "BollingerBreakout", "EmaCrossover", "Grid", "MarketMaker",
    "MlClassifier", "PairsSpread", "RsiMeanReversion", "SmaCrossover",
]

BUILTINS: dict[str, type[Strategy]] = {
    "sma_crossover": SmaCrossover,
    "ema_crossover": EmaCrossover,
    "rsi_mean_reversion": RsiMeanReversion,
    "bollinger_breakout": BollingerBreakout,
    "grid": Grid,
    "market_maker": MarketMaker,
    "pairs_spread": PairsSpread,
}

#: Built-ins that trade a trained model from the registry: listed and run like the others,
#: but kept apart because they name their model with a string parameter (no numeric range
#: for a search) and have no valid default (a model must be named).
MODEL_BUILTINS: dict[str, type[Strategy]] = {
    "ml_classifier": MlClassifier,
}
