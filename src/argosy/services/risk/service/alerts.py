"""Alerts: stored (the audit trail of every breach, action and kill switch) and published
as `risk.alert.<severity>` through the outbox in the same transaction, so an alert is never
published without being stored or stored without being published."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.topics import risk_alert
from argosy.contracts.v1.events import RiskAlert, Severity
from argosy.contracts.v1.risk import AlertOut
from argosy.kernel.ids import new_id
from argosy.services.risk.models import AlertRow
from argosy.services.risk.service._context import Caller, Deps
from argosy.services.risk.store import GLOBAL_ORG

__all__ = ["AlertSpec", "AlertsService", "raise_alert"]

_NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class AlertSpec:
    severity: Severity
    kind: str
    message: str
    scope: str  # account | user | org | global
    key: str | None
    org: str | None
    user_id: str | None = None
    account_id: str | None = None
    dedupe: str | None = None  # same key twice = one alert (breaches, stop triggers)


async def raise_alert(s: AsyncSession, d: Deps, spec: AlertSpec, actor: str) -> str | None:
    """Store and publish; None when a `dedupe` twin already exists."""
    now = d.now()
    alert_id = new_id("ral")
    inserted = await d.store.add_alert(
        s,
        {
            "id": alert_id, "severity": spec.severity, "kind": spec.kind,
            "message": spec.message, "scope": spec.scope, "key": spec.key,
            "org_id": spec.org or GLOBAL_ORG, "user_id": spec.user_id,
            "account_id": spec.account_id, "actor": actor, "dedupe": spec.dedupe, "at_ns": now,
        },
    )  # fmt: skip
    if not inserted:
        return None
    event = RiskAlert(
        org=spec.org or GLOBAL_ORG,
        user_id=spec.user_id or "",
        at_ms=now // _NS_PER_MS,
        alert_id=alert_id,
        severity=spec.severity,
        kind=spec.kind,
        message=spec.message,
        account_id=spec.account_id,
        scope=spec.scope,
    )
    await d.outbox.add(s, risk_alert(spec.severity), event.model_dump(), msg_id=alert_id)
    return alert_id


def alert_out(row: AlertRow) -> AlertOut:
    return AlertOut(
        alert_id=row.id,
        severity=row.severity,
        kind=row.kind,
        message=row.message,
        scope=row.scope,
        key=row.key,
        account_id=row.account_id,
        at_ms=row.at_ns // _NS_PER_MS,
    )


class AlertsService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def list(self, c: Caller, severity: str | None, limit: int) -> list[AlertOut]:
        c.require("risk:read")
        async with self.d.db.read() as s:
            rows = await self.d.store.alerts(s, c.org, severity, limit)
        return [alert_out(r) for r in rows]
