"""Live deployments: a strategy fed from the market bus, trading through the trading API."""
