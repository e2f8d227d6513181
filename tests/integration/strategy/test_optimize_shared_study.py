"""Two `argosy optimize` processes share one Optuna study through RDBStorage on the real
PostgreSQL (127.0.0.1:5432/test), the way several machines would: both start at once on a
schema that does not exist yet (so they race to create it and Optuna's tables), join the
same study, and each asks, evaluates and tells its own trials.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import optuna
import psycopg
import pytest

from argosy.services.strategy.optimizer_storage import close_storage, open_storage
from tests.support.servers import POSTGRES_URL, SHARED_DATA, require_server

START_MS = 1_640_995_200_000
TRIALS = 12  # per process


@pytest.fixture
def storage_url() -> Iterator[str]:
    """A fresh schema per test, dropped afterwards (the database is shared)."""
    require_server("PostgreSQL", 5432)
    schema = f"optuna_t{uuid.uuid4().hex[:10]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _optimize(url: str, study: str) -> subprocess.Popen[str]:
    data = SHARED_DATA / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv"
    return subprocess.Popen(
        [sys.executable, "-m", "argosy", "optimize", "sma_crossover", "--data", str(data),
         "--method", "tpe", "--trials", str(TRIALS), "--workers", "1",
         "--param", "fast=2:30", "--param", "slow=31:120",
         "--end-ms", str(START_MS + 10_000 * 60_000),
         "--storage", url, "--study", study, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_fill_one_study(storage_url: str) -> None:
    study = f"sma-{uuid.uuid4().hex[:8]}"
    procs = [_optimize(storage_url, study) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, (out + err)[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["trials"] == TRIALS

    storage = open_storage(storage_url)
    try:
        assert isinstance(storage, optuna.storages.RDBStorage)
        assert storage.url.startswith("postgresql+psycopg://")
        loaded = optuna.load_study(study_name=study, storage=storage)
        trials = loaded.get_trials(deepcopy=False)
        numbers = [t.number for t in trials]
        assert len(set(numbers)) == len(numbers)  # one numbering: one study
        assert sorted(numbers) == list(range(2 * TRIALS))  # union = what both asked for
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        assert len({t.user_attrs["worker"] for t in trials}) == 2  # both did their share
        assert all(2 <= t.params["fast"] <= 30 for t in trials)
        assert [s.study_name for s in optuna.get_all_study_summaries(storage)] == [study]
        optuna.delete_study(study_name=study, storage=storage)
        assert optuna.get_all_study_summaries(storage) == []
    finally:
        close_storage(storage)


def test_a_study_outlives_its_process_and_is_joined_again(storage_url: str) -> None:
    """A second run on a later day (or machine) continues the numbering of the first."""
    study = f"sma-{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        proc = _optimize(storage_url, study)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (out + err)[-2000:]
    storage = open_storage(storage_url)
    try:
        trials = optuna.load_study(study_name=study, storage=storage).get_trials()
        assert sorted(t.number for t in trials) == list(range(2 * TRIALS))
        optuna.delete_study(study_name=study, storage=storage)
    finally:
        close_storage(storage)
