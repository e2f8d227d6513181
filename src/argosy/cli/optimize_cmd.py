"""`argosy optimize STRATEGY --data FILE`: a parameter search with a progress bar.

Runs in this process on a pool of worker processes (all cores unless --workers), on a
kline CSV (../shared/data/ohlcv layout). With --storage postgresql://host/db and --study
NAME, run the same command on several machines at once: they join one Optuna study (Optuna's
RDBStorage; trial numbers are unique across machines) and each adds its own --trials.
Register with `app.command("optimize")(optimize_cmd.optimize)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from argosy.kernel.errors import ArgosyError

if TYPE_CHECKING:
    from argosy.services.strategy.optimizer import OptimizeResult

__all__ = ["optimize", "parse_range", "parse_walk_forward"]

console = Console()


def parse_range(text: str) -> tuple[str, dict[str, Any]]:
    """"fast=2:50" or "k=0.5:3:0.25" -> ("fast", {"low": 2, "high": 50[, "step": ...]})."""
    name, sep, spec = text.partition("=")
    parts = spec.split(":")
    if not sep or not name or len(parts) not in (2, 3):
        raise typer.BadParameter(f"range must look like name=low:high[:step], got {text!r}")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise typer.BadParameter(f"range bounds must be numbers, got {text!r}") from None
    as_num = [int(n) if n.is_integer() else n for n in numbers]
    out: dict[str, Any] = {"low": as_num[0], "high": as_num[1]}
    if len(as_num) == 3:
        out["step"] = as_num[2]
    return name.strip(), out


def parse_walk_forward(text: str | None) -> dict[str, int] | None:
    """"20000:5000" -> train 20,000 bars, test 5,000 bars."""
    if not text:
        return None
    try:
        train, test = (int(v) for v in text.split(":"))
    except ValueError:
        raise typer.BadParameter("--walk-forward must be TRAIN:TEST bars") from None
    return {"train": train, "test": test}


def _print(result: OptimizeResult) -> None:
    objectives = result.request.objectives
    table = Table(title=f"best of {result.trials} trials ({result.request.method})")
    table.add_column("#")
    table.add_column("params")
    for name in objectives:
        table.add_column(name, justify="right")
    table.add_column("trades", justify="right")
    for r in result.best[:20]:
        table.add_row(str(r.number), json.dumps(r.params),
                      *(f"{v:.4g}" for v in r.values), str(r.metrics.get("trades", "")))
    console.print(table)
    console.print(f"{result.trials_per_s:.1f} trials/s on {result.workers} workers, "
                  f"peak RSS {result.peak_rss_kb / 1024:.0f} MB (this process), "
                  f"{result.worker_peak_rss_kb / 1024:.0f} MB (largest worker)")
    wf = result.walk_forward
    if wf:
        console.print(f"walk-forward: {len(wf['windows'])} windows, IS mean {wf['is_mean']}, "
                      f"OOS mean {wf['oos_mean']}, efficiency {wf['efficiency']}, "
                      f"PBO {wf['pbo']['pbo'] if wf['pbo'] else 'n/a'}")
        for warning in wf["warnings"]:
            console.print(f"[bold yellow]overfitting warning:[/] {warning}")


def optimize(
    strategy: Annotated[str, typer.Argument(help="sma_crossover, ema_crossover, "
                                                 "rsi_mean_reversion, bollinger_breakout")],
    data: Annotated[Path, typer.Option(help="kline CSV: open_time_ms,open,high,low,close,volume",
                                       exists=True, dir_okay=False)],
    method: Annotated[str, typer.Option(help="grid, random, tpe or nsga2")] = "tpe",
    objective: Annotated[list[str] | None, typer.Option(
        help="repeat for multi-objective, e.g. --objective sharpe --objective max_drawdown"
    )] = None,
    trials: Annotated[int, typer.Option(min=1)] = 200,
    param: Annotated[list[str] | None, typer.Option(
        help="narrow a range: name=low:high[:step] (repeatable)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="default: every core")] = None,
    seed: int = 0,
    fee: float = 0.001,
    start_ms: Annotated[int | None, typer.Option(help="first bar open time (ms)")] = None,
    end_ms: Annotated[int | None, typer.Option(help="exclusive (ms)")] = None,
    walk_forward: Annotated[str | None, typer.Option(help="TRAIN:TEST bars")] = None,
    storage: Annotated[str | None, typer.Option(
        help="Optuna RDB storage shared by several machines: postgresql://host/db "
             "(tables in schema optuna; ?schema=name to choose) or sqlite:///file")] = None,
    study: Annotated[str | None, typer.Option(help="study name (with --storage)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Search a pure-signal strategy's parameters on the vectorized backtest."""
    # imported here: numpy, optuna and the pool would slow every other `argosy` command
    from argosy.services.strategy.domain.vectorized import FillRule
    from argosy.services.strategy.optimizer import (
        OptimizeRequest,
        result_document,
        run_optimization,
    )
    from argosy.services.strategy.optimizer_data import load_ohlcv_csv, periods_per_year

    space = dict(parse_range(p) for p in param or [])
    try:
        bars, times = load_ohlcv_csv(data, start_ms, end_ms)
        req = OptimizeRequest(
            strategy, method, tuple(objective or ["sharpe"]), n_trials=trials,  # type: ignore[arg-type]
            seed=seed, space=space, rule=FillRule(fee=fee),
            periods_per_year=periods_per_year(times), workers=workers, storage=storage,
            study_name=study, walk_forward=parse_walk_forward(walk_forward))
        req.validate()
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                      disable=as_json) as bar:
            task = bar.add_task(f"{strategy} {method}", total=trials)
            result = run_optimization(req, bars,
                                      progress=lambda done, _t: bar.update(task, completed=done))
    except ArgosyError as exc:
        console.print(f"[red]argosy optimize: {exc}[/]")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(result_document(result), default=str))
    else:
        _print(result)
