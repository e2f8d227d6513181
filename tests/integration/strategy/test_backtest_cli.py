"""`argosy backtest` runs the engine in-process over the recorded data."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from argosy.cli.main import app


def test_backtest_prints_a_summary_and_refuses_bad_parameters(shared_data: Path) -> None:
    runner = CliRunner()
    args = ["backtest", "sma_crossover", "-i", "BTC-USD.ftx", "-p", "fast=10", "-p",
            "slow=30", "--end", "2022-01-03T00:00:00Z", "--data-dir", str(shared_data)]
    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output.strip().splitlines()[-1])
    assert summary["status"] == "completed"
    assert summary["fills"] > 0
    assert summary["fills_digest"]
    again = json.loads(runner.invoke(app, [*args, "--json"]).output.strip().splitlines()[-1])
    assert again["fills_digest"] == summary["fills_digest"]
    bad = runner.invoke(app, ["backtest", "sma_crossover", "-i", "BTC-USD.ftx", "-p", "fast=0",
                              "--data-dir", str(shared_data)])
    assert bad.exit_code == 2
    assert "fast=0 is outside its range" in bad.output
    listed = runner.invoke(app, ["backtest", "--list", "--data-dir", str(shared_data)])
    assert "pairs_spread" in listed.output
    assert "ftx_perp_BTC-PERP_1m.csv" in listed.output
