"""Exchange adapters shared by market data, trading and backtests.

- `binance/`: native Binance spot and USD-M market data (WebSocket streams, REST, the
  documented order book sync, normalization to kernel messages);
- `ccxt_venue`: every other exchange through ccxt, streaming or polling per capability;
- `replay/`: a local Binance that serves real recordings over Binance's protocol, with
  fault injection; the venue the tests and `argosy replay` run against;
- `book`, `alarms`: the Decimal L2 book and the feed alarms every adapter shares.
Trading (issue #6) adds signing and order entry next to them.
"""
