"""`make bench`: every benchmark in turn, each printing ratios against its own baseline."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("bench.platform_start", "bench.bus_latency", "bench.users_login",
              "bench.market_book", "bench.gateway_overhead",
              "bench.notification_throughput", "bench.strategy_backtest",
              "bench.paper_matching", "bench.market_service_ingest", "bench.risk_pretrade",
              "bench.strategy_optuna", "bench.trading_orders")


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"\n== {module} ==", flush=True)
        failed += subprocess.call([sys.executable, "-m", module]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
