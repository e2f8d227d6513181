"""What the use-case modules share: their dependencies and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field

from argosy.kernel.clock import Clock
from argosy.kernel.errors import Unauthorized
from argosy.platform.auth.internal import Principal
from argosy.platform.db.engine import Database
from argosy.platform.db.outbox import Outbox
from argosy.services.trading.domain.pretrade import AllowAll, PreTradeGate
from argosy.services.trading.instruments import InstrumentCatalog
from argosy.services.trading.marks import Marks
from argosy.services.trading.settings import TradingSettings
from argosy.services.trading.store import TradingStore
from argosy.services.trading.venues import VenueRegistry

__all__ = ["Caller", "Deps", "GateHolder"]


@dataclass(frozen=True, slots=True)
class Caller:
    """A user as the gateway vouched for them."""

    user_id: str
    org: str
    principal: Principal

    @classmethod
    def of(cls, p: Principal) -> Caller:
        if p.kind != "user" or not p.org:
            raise Unauthorized("a user identity with an organisation is required")
        return cls(p.subject.split(":", 1)[1], p.org, p)

    def require(self, permission: str) -> None:
        self.principal.require(permission)


@dataclass
class GateHolder:
    """The pre-trade gate in force; swapped whole when the risk rules reload."""

    gate: PreTradeGate = field(default_factory=AllowAll)
    source: str = "builtin"  # builtin | risk:<version> | unavailable


@dataclass
class Deps:
    db: Database
    store: TradingStore
    outbox: Outbox
    clock: Clock
    settings: TradingSettings
    instruments: InstrumentCatalog
    marks: Marks
    venues: VenueRegistry
    gate: GateHolder = field(default_factory=GateHolder)

    def now(self) -> int:
        return self.clock.now_ns()
