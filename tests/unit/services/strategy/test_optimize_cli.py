"""`argosy optimize` end to end in-process: parse, search on real bars, print JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from argosy.cli.main import app
from argosy.cli.optimize_cmd import parse_range, parse_walk_forward

START_MS = 1_640_995_200_000


def test_parse_range_and_walk_forward() -> None:
    assert parse_range("fast=2:50") == ("fast", {"low": 2, "high": 50})
    assert parse_range("k=0.5:3:0.25") == ("k", {"low": 0.5, "high": 3, "step": 0.25})
    assert parse_walk_forward("2000:500") == {"train": 2000, "test": 500}
    for bad in ("fast", "fast=2", "fast=a:b"):
        with pytest.raises(typer.BadParameter):
            parse_range(bad)


def test_optimize_command_prints_the_best_trials(shared_data: Path) -> None:
    data = shared_data / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv"
    result = CliRunner().invoke(app, [
        "optimize", "sma_crossover", "--data", str(data), "--method", "random",
        "--trials", "12", "--workers", "1", "--param", "fast=2:20", "--param", "slow=21:80",
        "--end-ms", str(START_MS + 6000 * 60_000), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output.strip().splitlines()[-1])
    assert body["trials"] == 12
    assert 2 <= body["best"][0]["params"]["fast"] <= 20


def test_optimize_command_rejects_a_range_outside_the_declared_one(shared_data: Path) -> None:
    data = shared_data / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv"
    result = CliRunner().invoke(app, ["optimize", "sma_crossover", "--data", str(data),
                                      "--param", "fast=0:20", "--trials", "2"])
    assert result.exit_code == 2
    assert "fast" in result.output
