"""Pure rules of the trading engine: the order state machine, order checks, the ledger."""
