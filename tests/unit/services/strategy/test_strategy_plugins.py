"""Plugins: the strategies directory (reloaded on change), entry points, and failures that
are reported instead of breaking the registry."""

from __future__ import annotations

import asyncio
import contextlib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.strategy import plugins
from argosy.services.strategy.plugins import StrategyRegistry

PLUGIN = '''
from argosy.services.strategy.domain.params import Param
from argosy.services.strategy.domain.strategy import Strategy


class MomentumBurst(Strategy):
    """Buys after {n} rising bars."""

    bars = Param({n}, low=1, high=50, doc="rising bars in a row")
'''


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text)


def test_directory_plugins_are_listed_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "burst.py", PLUGIN.format(n=3))
    _write(tmp_path, "broken.py", "import does_not_exist\n")
    _write(tmp_path, "clash.py", PLUGIN.replace("MomentumBurst", "SmaCrossover")
           .format(n=1).replace("class SmaCrossover(Strategy):",
                                "class SmaCrossover(Strategy):\n    name = 'sma_crossover'"))
    _write(tmp_path, "_private.py", "raise SystemExit('never imported')\n")
    registry = StrategyRegistry(tmp_path, entry_points_enabled=False)
    info = registry.get("momentum_burst")
    assert info.source == "file:burst.py"
    assert info.params[0].default == 3
    assert "sma_crossover" in registry.strategies  # the built-in kept its name
    assert registry.strategies["sma_crossover"].source == "builtin"
    assert "ModuleNotFoundError" in registry.errors["file:broken.py"]
    assert any("already taken" in e for e in registry.errors.values())
    with pytest.raises(Invalid) as info_error:
        registry.get("nope")
    assert info_error.value.field == "strategy"


def test_entry_points_are_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [
        EntryPoint("grid2", "argosy.services.strategy.domain.builtins.grid:Grid",
                   plugins.ENTRY_POINT_GROUP),
        EntryPoint("bad", "argosy.no_such_module:X", plugins.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(plugins, "entry_points", lambda group: found)
    registry = StrategyRegistry(None)
    # Grid's name is taken by the built-in: reported, not replaced
    assert any("already taken" in e for e in registry.errors.values())
    assert "entry_point:bad" in registry.errors


async def test_a_changed_file_is_reloaded_without_restart(tmp_path: Path) -> None:
    _write(tmp_path, "burst.py", PLUGIN.format(n=3))
    registry = StrategyRegistry(tmp_path, entry_points_enabled=False)
    generation = registry.generation
    watcher = asyncio.create_task(registry.watch())
    try:
        await asyncio.sleep(0.5)  # let the watcher start
        _write(tmp_path, "burst.py", PLUGIN.format(n=7))
        async with asyncio.timeout(20):
            while registry.generation == generation or \
                    registry.get("momentum_burst").params[0].default != 7:
                await asyncio.sleep(0.05)
        _write(tmp_path, "burst.py", "syntax error here\n")
        async with asyncio.timeout(20):
            while "file:burst.py" not in registry.errors:
                await asyncio.sleep(0.05)
        assert "momentum_burst" not in registry.strategies
        assert "sma_crossover" in registry.strategies
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
