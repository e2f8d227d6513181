"""The strategy registry: built-ins, the `argosy.strategies` entry points and a directory.

A plugin is any `Strategy` subclass defined in an entry point's module (or the object it
names) or in a `*.py` file of `strategies_dir`. Its name is the class's `name` attribute,
or the class name in snake case. A plugin that fails to import, or that reuses a taken
name, is recorded in `errors` (shown by GET /strategies) and skipped: one bad file never
stops the service or hides the other strategies.

The directory is watched (watchfiles): a change reloads the directory's plugins, so a new
version is used by the next backtest without a restart. Runs already started keep the
class they were given (backtests re-resolve the name in their worker process).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import structlog

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.builtins import BUILTINS, MODEL_BUILTINS
from argosy.services.strategy.domain.strategy import Strategy, StrategyInfo

__all__ = ["ENTRY_POINT_GROUP", "StrategyRegistry", "strategy_name"]

log = structlog.get_logger("argosy.strategy.plugins")

ENTRY_POINT_GROUP = "argosy.strategies"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def strategy_name(cls: type[Strategy]) -> str:
    return cls.name or _CAMEL.sub("_", cls.__name__).lower()


def _classes(module: ModuleType) -> list[type[Strategy]]:
    return [obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Strategy) and obj.__module__ == module.__name__
            and not obj.__name__.startswith("_")]


class StrategyRegistry:
    def __init__(self, directory: Path | None = None, *, entry_points_enabled: bool = True
                 ) -> None:
        self.directory = directory
        self._entry_points = entry_points_enabled
        self.strategies: dict[str, StrategyInfo] = {}
        self.errors: dict[str, str] = {}
        self.generation = 0
        self.load()

    def load(self) -> None:
        """Rebuild the whole registry (built-ins, entry points, directory)."""
        strategies = {name: StrategyInfo(name, cls, "builtin") for name, cls in
                      {**BUILTINS, **MODEL_BUILTINS}.items()}
        errors: dict[str, str] = {}
        if self._entry_points:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    loaded = ep.load()
                    found = _classes(loaded) if isinstance(loaded, ModuleType) else [loaded]
                except Exception:
                    errors[f"entry_point:{ep.name}"] = traceback.format_exc(limit=-3)
                    continue
                self._add(strategies, errors, found, f"entry_point:{ep.value}")
        for path in self._files():
            source = f"file:{path.name}"
            try:
                module = self._import(path)
            except Exception:
                errors[source] = traceback.format_exc(limit=-3)
                log.warning("strategy.plugin_failed", source=source)
                continue
            self._add(strategies, errors, _classes(module), source)
        self.strategies, self.errors = strategies, errors
        self.generation += 1

    def _files(self) -> Iterable[Path]:
        if self.directory is None or not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.py") if not p.name.startswith("_"))

    def _import(self, path: Path) -> ModuleType:
        name = f"argosy_strategy_plugins.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    @staticmethod
    def _add(strategies: dict[str, StrategyInfo], errors: dict[str, str],
             classes: list[type[Strategy]], source: str) -> None:
        for cls in classes:
            if not (isinstance(cls, type) and issubclass(cls, Strategy)):
                errors[source] = f"{cls!r} is not a Strategy subclass"
                continue
            name = strategy_name(cls)
            if name in strategies:
                errors[f"{source}:{name}"] = (f"strategy name {name!r} is already taken by "
                                             f"{strategies[name].source}")
                continue
            strategies[name] = StrategyInfo(name, cls, source)

    def get(self, name: str) -> StrategyInfo:
        found = self.strategies.get(name)
        if found is None:
            raise Invalid(f"unknown strategy {name!r}; known: {sorted(self.strategies)}",
                          field="strategy")
        return found

    def listing(self) -> list[StrategyInfo]:
        return [self.strategies[name] for name in sorted(self.strategies)]

    async def watch(self) -> None:
        """Reload when a file of the directory changes (runs for the service's life)."""
        if self.directory is None:
            return
        from watchfiles import awatch

        self.directory.mkdir(parents=True, exist_ok=True)
        async for changes in awatch(self.directory, recursive=False):
            log.info("strategy.plugins_changed", files=sorted(p for _, p in changes))
            self.load()
