"""Exchange adapters shared by market data, trading and backtests.

Filled by the market data and trading issues (#5, #6): binance/ (ws, rest, signing, book
sync), ccxt_venue, paper/ (matching engine) and replay. Nothing here yet.
"""
