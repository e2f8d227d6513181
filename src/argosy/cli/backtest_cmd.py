"""`argosy backtest STRATEGY -i INSTRUMENT ...`: run a backtest here, with a progress bar.

    argosy backtest sma_crossover -i BTC-USD.ftx -p fast=10 -p slow=30
    argosy backtest rsi_mean_reversion -i ETH-BTC.bittrex --interval 5m --cash 10
    argosy backtest market_maker -i BTC-USDT.binance --mode book -p quantity=0.01
    argosy backtest --list

It runs the same engine the strategy service runs (the paper venue's matching over the
recorded data in the service's `data_dir`), in this process: no service needs to be up.
Strategies are the built-ins, the `argosy.strategies` entry points and the service's
`strategies_dir` (or `--strategies-dir`). Exit status 1 when the strategy failed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from argosy.kernel.errors import ArgosyError
from argosy.platform.settings import load_settings
from argosy.services.strategy.backtest import Catalog, load_feed, run_backtest
from argosy.services.strategy.backtest.result import BacktestResult
from argosy.services.strategy.plugins import StrategyRegistry
from argosy.services.strategy.schemas import BacktestRequest
from argosy.services.strategy.settings import StrategySettings

__all__ = ["backtest"]

console = Console()


def _value(text: str) -> Any:
    """`10` -> 10, `0.5` -> 0.5, `true` -> True, anything else stays a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _params(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--param")
        out[name.strip()] = _value(value.strip())
    return out


def _report(result: BacktestResult) -> None:
    table = Table(title=f"backtest {result.status}", show_header=False)
    table.add_row("events", f"{result.events:,} in {result.elapsed_s:.2f} s "
                            f"({result.events_per_s:,.0f}/s)")
    table.add_row("final equity", f"{result.final_equity.quantize(Decimal('1e-8')):f} "
                                  f"(from {result.initial_cash})")
    table.add_row("fills / trades", f"{len(result.fills)} / {len(result.trips)}")
    for name, value in result.metrics.items():
        if name not in ("final_equity", "fills"):
            table.add_row(name, f"{value:.6g}" if isinstance(value, float) else str(value))
    table.add_row("fills digest", result.fills_digest)
    console.print(table)


def backtest(
    strategy: Annotated[str, typer.Argument(help="Strategy name (see --list)")] = "",
    instrument: Annotated[list[str] | None, typer.Option(
        "--instrument", "-i", help="Instrument id, e.g. BTC-USD.ftx (repeat for several)")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="Strategy parameter NAME=VALUE (repeat)")] = None,
    mode: Annotated[str, typer.Option(help="bar, trade or book")] = "bar",
    interval: Annotated[str, typer.Option(help="Bar length")] = "1m",
    start: Annotated[str | None, typer.Option(help="ISO 8601 with zone")] = None,
    end: Annotated[str | None, typer.Option(help="ISO 8601 with zone (exclusive)")] = None,
    cash: Annotated[str, typer.Option(help="Starting quote balance")] = "100000",
    fee_bps: Annotated[str, typer.Option(help="Taker fee, basis points")] = "10",
    maker_fee_bps: Annotated[str | None, typer.Option(help="Maker fee (default: fee)")] = None,
    slippage_bps: Annotated[str, typer.Option(help="Slippage, basis points")] = "0",
    latency_ms: Annotated[float, typer.Option(help="Order latency, milliseconds")] = 0.0,
    data_dir: Annotated[Path | None, typer.Option(help="Recorded data directory")] = None,
    strategies_dir: Annotated[Path | None, typer.Option(help="Plugin directory")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List strategies and data")] = False,
) -> None:
    """Run a strategy over recorded data through the paper venue's matching."""
    settings = load_settings(StrategySettings)
    data = data_dir or settings.data_dir
    registry = StrategyRegistry(strategies_dir or settings.strategies_dir)
    catalog = Catalog(data)
    if list_:
        for info in registry.listing():
            params = ", ".join(f"{p.name}={p.default}" for p in info.params)
            console.print(f"[bold]{info.name}[/] ({params}) - {info.as_dict()['summary']}")
        for source, error in sorted(registry.errors.items()):
            console.print(f"[red]{source}[/]: {error.strip().splitlines()[-1]}")
        for d in catalog.datasets:
            console.print(f"  {d.mode:<5} {d.instrument_id!s:<24} "
                          f"{(d.interval.value if d.interval else ''):<4} {d.path.name}")
        return
    try:
        body = BacktestRequest(
            strategy=strategy, params=_params(param or []), instruments=instrument or [],
            mode=mode, interval=interval, start=start, end=end, cash=cash,
            fee_bps=fee_bps, maker_fee_bps=maker_fee_bps, slippage_bps=slippage_bps,
            latency_ms=latency_ms)
        spec = body.to_spec(registry.get(strategy).cls)
        spec.build()
        with console.status("loading recorded data"):
            feed = load_feed(spec, catalog)
    except ArgosyError as error:
        console.print(f"backtest: {error.message}", style="red", markup=False)
        raise typer.Exit(2) from None
    except ValueError as error:  # pydantic's validation error
        console.print(f"backtest: {error}", style="red", markup=False)
        raise typer.Exit(2) from None
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                  transient=as_json) as progress:
        task = progress.add_task(f"{strategy} over {len(feed):,} events", total=len(feed))
        result = run_backtest(spec, feed,
                              progress=lambda done, total: progress.update(task, completed=done))
    if as_json:
        print(json.dumps(result.summary(), default=str))
    else:
        _report(result)
    if result.error:
        console.print(result.error, style="red", markup=False)
        raise typer.Exit(1)
