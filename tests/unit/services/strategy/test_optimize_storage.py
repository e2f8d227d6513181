"""Which Optuna storage a URL gets, and what an interrupted search leaves in a shared study."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.optimize import signal_strategy
from argosy.services.strategy.optimizer import (
    OptimizeRequest,
    _ask_tell,
    _Collector,
    open_study,
)
from argosy.services.strategy.optimizer_storage import close_storage, open_storage, postgres_url


@pytest.mark.parametrize("url", [
    "postgresql://u@db.example:5432/argosy",
    "postgres://u@db.example:5432/argosy",
    "postgresql+psycopg://u@db.example:5432/argosy",
    "postgresql+asyncpg://u@db.example:5432/argosy",
])
def test_every_postgres_spelling_uses_psycopg(url: str) -> None:
    assert postgres_url(url) == ("postgresql+psycopg://u@db.example:5432/argosy", "optuna")


def test_schema_is_ours_and_other_query_parameters_reach_libpq() -> None:
    url = "postgresql://h/db?sslmode=require&schema=opt_a&application_name=x"
    assert postgres_url(url) == (
        "postgresql+psycopg://h/db?sslmode=require&application_name=x", "opt_a")
    for bad in ("postgresql://h/db?schema=Opt", 'postgresql://h/db?schema=a";drop',
                "mysql://h/db"):
        with pytest.raises(Invalid) as err:
            postgres_url(bad)
        assert err.value.field == "storage"


def test_sqlite_and_bad_urls(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'opt.db'}")
    assert isinstance(storage, optuna.storages.RDBStorage)
    close_storage(storage)
    with pytest.raises(Invalid):
        open_storage("just-a-name")


def test_an_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(Invalid) as err:
        open_storage("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert err.value.field == "storage"
    assert "cannot reach" in str(err.value)


class _BrokenPool:
    """Evaluates the first chunk, then dies the way a killed worker or Ctrl-C would."""

    def map_chunks(self, chunks: Iterable[list[Any]]) -> Iterator[tuple[list[Any], list[Any]]]:
        it = iter(chunks)
        first = next(it)
        second = next(it)  # asked and handed out, never told
        assert second
        yield first, [{"sharpe": 1.0, "trades": 3}] * len(first)
        raise KeyboardInterrupt


def test_interrupted_search_fails_its_running_trials(tmp_path: Path) -> None:
    """Left RUNNING in a shared study, they would mislead the others' constant liar."""
    req = OptimizeRequest("sma_crossover", "tpe", n_trials=8, chunk=2, study_name="s",
                          storage=f"sqlite:///{tmp_path / 'opt.db'}")
    space = signal_strategy("sma_crossover").space
    storage = open_storage(str(req.storage))
    try:
        study = open_study(req, storage)
        with pytest.raises(KeyboardInterrupt):
            _ask_tell(study, req, space, _BrokenPool(), _Collector(req.objectives, 5),  # type: ignore[arg-type]
                      None)
        states = [t.state for t in study.get_trials(deepcopy=False)]
        assert optuna.trial.TrialState.RUNNING not in states
        assert states.count(optuna.trial.TrialState.FAIL) >= 2
    finally:
        close_storage(storage)
