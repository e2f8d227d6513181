"""Trading engine (8082): orders, fills, positions and balances; durable before anything
leaves (issue #6).

How an order travels (service/orders.py → sending.py → execution.py):
parse and check (domain/checks.py: shape, tick, lot, min notional, reduce-only, balance)
→ the pre-trade seam (domain/pretrade.py: built-in checks until the risk service's rules
load, then the kernel evaluator) → row committed as `new` → `submitted` committed → the
venue (paper: venues/paper, exchange: venues/binance) → its answer applied through the one
state machine (domain/lifecycle.py), fills booked into positions and balances
(domain/ledger.py), events through the outbox. After a crash, service/recovery.py
reconciles each account with its venue (orders, fills, balances, positions) and refuses
that account's new orders until it has.
"""
