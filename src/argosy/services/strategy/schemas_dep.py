"""Request body of POST /api/v1/deployments."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DeploymentRequest"]


class DeploymentRequest(BaseModel):
    """A strategy with its parameters, run live on one of the caller's accounts."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(min_length=1, max_length=128, examples=["sma_crossover"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"fast": 10, "slow": 30}])
    instruments: list[str] = Field(min_length=1, max_length=20,
                                   examples=[["BTC-USDT.binance"]])
    account_id: str = Field(min_length=1, max_length=40, description="A paper or exchange "
                            "account of yours; orders go through the trading API and its "
                            "pre-trade risk like manual orders")
    feed: Literal["bar", "trade", "book"] = Field(
        "bar", description="bar: closed bars from `md.bar.<interval>.*`; trade: trades "
        "(bars built from them, as a trade-mode backtest); book: trades and the L2 book")
    interval: str = Field("1m", description="bar length")
