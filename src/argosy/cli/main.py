"""`argosy`: run the platform, serve one service, and operate it."""

from __future__ import annotations

import sys

import typer

from argosy.cli import (
    backtest_cmd,
    config_cmd,
    market_cmd,
    optimize_cmd,
    replay_cmd,
    runner,
    users_cmd,
)
from argosy.kernel.errors import ConfigurationError

__all__ = ["app", "main"]

app = typer.Typer(
    name="argosy", help="Argosy: a self-hosted crypto trading platform.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
app.command("run")(runner.run)
app.command("serve")(runner.serve)
app.command("token")(config_cmd.token)
app.command("replay")(replay_cmd.replay)
app.command("backtest")(backtest_cmd.backtest)
app.command("optimize")(optimize_cmd.optimize)
app.add_typer(config_cmd.app, name="config")
app.add_typer(users_cmd.app, name="users")
app.add_typer(market_cmd.app, name="backfill")


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:
        print(f"argosy: invalid setting {exc.message}", file=sys.stderr)
        sys.exit(2)
