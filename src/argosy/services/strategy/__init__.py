"""Strategy engine (8084): Strategy plugins, backtests, optimisation and live deployments
(issue #7).
"""
