"""Use-cases of the trading service; each commits once."""
