"""The risk service's pre-trade rules: fetched at start, replaced on `risk.rules.changed`.

Trading only evaluates them (the kernel's `PreTradeEngine`, shared with the risk service's
dry run and the backtester); the rules are the risk service's data. Until a rule set has
been loaded, the built-in instrument and balance checks are all that run; once loaded, a
failed reload keeps the last set rather than dropping to none, so a risk outage never
loosens what is enforced. A rule set older than the one in force is ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import ValidationError

from argosy.contracts.v1.risk import RulesChanged, RuleSetOut
from argosy.kernel.errors import ArgosyError
from argosy.kernel.pretrade import PreTradeEngine
from argosy.platform.bus.base import Envelope
from argosy.services.trading.domain.pretrade import KernelGate
from argosy.services.trading.service._context import GateHolder

__all__ = ["RulesFetch", "RulesLoader"]

log = structlog.get_logger("argosy.trading.rules")

RulesFetch = Callable[[], Awaitable[Any]]


class RulesLoader:
    def __init__(self, holder: GateHolder, fetch: RulesFetch | None, retry_s: float) -> None:
        self.holder, self._fetch, self._retry_s = holder, fetch, retry_s
        self.version: int | None = None

    @property
    def loaded(self) -> bool:
        return self.version is not None

    def install(self, wire: RuleSetOut) -> bool:
        """Compile and put in force; False (keeping the current set) when refused."""
        if self.version is not None and wire.version < self.version:
            return False
        try:
            engine = PreTradeEngine(wire.to_ruleset())
        except ArgosyError as exc:
            log.error("rules.refused", version=wire.version, error=exc.message,
                      field=exc.field, keeping=self.holder.source)
            return False
        self.holder.gate = KernelGate(engine)
        self.holder.source = f"risk:{wire.version}"
        self.version = wire.version
        log.info("rules.loaded", version=wire.version, rules=len(wire.rules),
                 kill_switches=len(wire.kill_switches))
        return True

    async def load(self) -> bool:
        if self._fetch is None:
            return False
        try:
            body = await self._fetch()
            return self.install(RuleSetOut.model_validate(body))
        except ArgosyError as exc:
            log.warning("rules.fetch_failed", error=exc.message, keeping=self.holder.source)
        except ValidationError as exc:
            log.error("rules.bad_payload", error=str(exc)[:300], keeping=self.holder.source)
        return False

    async def on_changed(self, env: Envelope) -> None:
        try:
            event = RulesChanged.model_validate(env.json())
        except ValidationError:
            await self.load()  # an older or foreign payload: ask for the set itself
            return
        self.install(event.ruleset)

    async def run(self) -> None:
        """Load at start; retry while nothing is loaded (a change event also loads)."""
        if self._fetch is None:
            return
        while not self.loaded:
            if await self.load():
                return
            await asyncio.sleep(self._retry_s)
