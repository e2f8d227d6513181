"""What the use-case modules share: the caller, the dependencies, the rules in force."""

from __future__ import annotations

from dataclasses import dataclass, field

from argosy.contracts.v1.risk import RuleSetOut
from argosy.kernel.clock import Clock
from argosy.kernel.errors import Forbidden, Unauthorized
from argosy.kernel.pretrade import PreTradeEngine, RuleSet
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Bus
from argosy.platform.db.engine import Database
from argosy.platform.db.outbox import Outbox
from argosy.platform.objects.base import ObjectStore
from argosy.services.risk.settings import RiskSettings
from argosy.services.risk.store import RiskStore

__all__ = ["Caller", "Deps", "RulesInForce"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks. Users act within their organisation; operators and services (no
    organisation) see the whole platform."""

    principal: Principal
    org: str | None
    user_id: str | None

    @classmethod
    def of(cls, p: Principal) -> Caller:
        if p.kind == "user":
            if not p.org:
                raise Unauthorized("a user identity with an organisation is required")
            return cls(p, p.org, p.subject.split(":", 1)[1])
        if p.kind in ("operator", "service"):
            return cls(p, None, None)
        raise Unauthorized("an identity is required")

    @property
    def platform_wide(self) -> bool:
        return self.org is None

    @property
    def actor(self) -> str:
        return self.principal.subject

    def require(self, permission: str) -> None:
        self.principal.require(permission)

    def may_see_org(self, org: str) -> None:
        if self.org is not None and self.org != org:
            raise Forbidden("another organisation's data", field="key")


@dataclass
class RulesInForce:
    """The current rule set, compiled; replaced whole on every change."""

    wire: RuleSetOut = field(default_factory=lambda: RuleSetOut(version=0, rules=[]))
    ruleset: RuleSet = field(default_factory=lambda: RuleSet(0))
    engine: PreTradeEngine = field(default_factory=lambda: PreTradeEngine(RuleSet(0)))

    @property
    def version(self) -> int:
        return self.ruleset.version

    def replace(self, wire: RuleSetOut) -> None:
        ruleset = wire.to_ruleset()
        self.wire, self.ruleset, self.engine = wire, ruleset, PreTradeEngine(ruleset)


@dataclass
class Deps:
    db: Database
    store: RiskStore
    outbox: Outbox
    bus: Bus
    clock: Clock
    settings: RiskSettings
    objects: ObjectStore | None
    rules: RulesInForce = field(default_factory=RulesInForce)

    def now(self) -> int:
        return self.clock.now_ns()
