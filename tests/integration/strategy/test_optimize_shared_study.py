"""Two processes share one Optuna study through PostgreSQL (127.0.0.1:5432/test), the way
several machines would: each asks, evaluates and tells against the same journal table.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
import optuna
import pytest

from argosy.services.strategy.optimizer_storage import PostgresJournalBackend, open_storage
from tests.support.servers import POSTGRES_URL, SHARED_DATA, require_server

WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from argosy.services.strategy.optimizer import OptimizeRequest, run_optimization
    from argosy.services.strategy.optimizer_data import load_ohlcv_csv, periods_per_year

    def main():
        url, table, study, trials = sys.argv[1:5]
        bars, times = load_ohlcv_csv(Path(sys.argv[5]))
        bars = bars.slice(0, 10_000)
        req = OptimizeRequest("sma_crossover", "tpe", ("sharpe",), n_trials=int(trials),
                              workers=1, chunk=2, study_name=study,
                              storage=f"{url}?journal_table={table}",
                              periods_per_year=periods_per_year(times),
                              space={"fast": {"low": 2, "high": 30},
                                     "slow": {"low": 10, "high": 120}})
        result = run_optimization(req, bars)
        print(result.trials, result.best[0].values[0])

    if __name__ == "__main__":
        main()
""")


@pytest.fixture
def journal_table() -> Iterator[str]:
    require_server("PostgreSQL", 5432)
    table = f"optuna_journal_t{uuid.uuid4().hex[:10]}"
    yield table

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            await conn.close()

    import asyncio
    asyncio.run(drop())


def test_two_processes_fill_one_study(journal_table: str, tmp_path: object) -> None:
    study = f"sma-{uuid.uuid4().hex[:6]}"
    data = SHARED_DATA / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv"
    args = [POSTGRES_URL, journal_table, study, "12", str(data)]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-2000:]
    backend = PostgresJournalBackend(POSTGRES_URL, journal_table)
    try:
        loaded = optuna.load_study(study_name=study,
                                   storage=optuna.storages.JournalStorage(backend))
        trials = loaded.get_trials(deepcopy=False)
        assert len(trials) == 24
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        assert len({t.user_attrs["worker"] for t in trials}) == 2
        assert sorted(t.number for t in trials) == list(range(24))  # one numbering: one study
    finally:
        backend.close()


def test_journal_numbers_are_contiguous_and_ordered(journal_table: str) -> None:
    backend = PostgresJournalBackend(POSTGRES_URL, journal_table)
    try:
        backend.append_logs([{"op": i} for i in range(3)])
        backend.append_logs([{"op": 3}])
        assert [log["op"] for log in backend.read_logs(0)] == [0, 1, 2, 3]
        assert [log["op"] for log in backend.read_logs(2)] == [2, 3]
    finally:
        backend.close()
    assert isinstance(open_storage("sqlite:///:memory:"), optuna.storages.RDBStorage)
