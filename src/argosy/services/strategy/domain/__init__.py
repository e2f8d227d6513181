"""Pure computation of the strategy engine: indicators, performance metrics and the
vectorized backtest fast path.

Nothing here does I/O. numpy (and numba for the recursive kernels) are allowed: the
import-linter contract for `services.*.domain` forbids frameworks and I/O, not maths.
"""
