"""Repository over the risk service's tables; every method runs in the caller's session.

User-owned lookups (stops, reports, alerts) filter by organisation (and user where the
object is personal) in the WHERE clause, so another organisation's object is not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.services.risk.models import (
    AccountOwnerRow,
    AccountRow,
    AlertRow,
    BalanceRow,
    PositionRow,
    ReportRow,
    ReturnRow,
    RuleVersionRow,
    StopRow,
)

__all__ = ["GLOBAL_ORG", "RiskStore"]

GLOBAL_ORG = "*"  # alerts about the whole platform (global kill switch)


def _insert(s: AsyncSession, table: Any) -> Any:
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class RiskStore:
    # -- rule versions ---------------------------------------------------------------
    async def latest_rules(self, s: AsyncSession, *, lock: bool = False) -> RuleVersionRow | None:
        q = select(RuleVersionRow).order_by(RuleVersionRow.version.desc()).limit(1)
        return (await s.scalars(q.with_for_update() if lock else q)).first()

    async def rule_version(self, s: AsyncSession, version: int) -> RuleVersionRow | None:
        return await s.get(RuleVersionRow, version)

    async def rule_history(self, s: AsyncSession, limit: int) -> Sequence[RuleVersionRow]:
        q = select(RuleVersionRow).order_by(RuleVersionRow.version.desc()).limit(limit)
        return (await s.scalars(q)).all()

    async def unmirrored(self, s: AsyncSession) -> RuleVersionRow | None:
        """The newest version, if the config service has not received it yet."""
        row = await self.latest_rules(s)
        return row if row is not None and row.config_version is None else None

    async def max_config_version(self, s: AsyncSession) -> int:
        q = select(func.max(RuleVersionRow.config_version))
        return int((await s.scalar(q)) or 0)

    # -- alerts ------------------------------------------------------------------------
    async def add_alert(self, s: AsyncSession, values: dict[str, Any]) -> bool:
        """Insert unless an alert with the same `dedupe` key exists; True if inserted."""
        stmt = _insert(s, AlertRow.__table__).values(**values)
        if values.get("dedupe") is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe"])
        result = await s.execute(stmt)
        return bool(getattr(result, "rowcount", 1) == 1)

    async def alerts(
        self, s: AsyncSession, org: str | None, severity: str | None, limit: int
    ) -> Sequence[AlertRow]:
        q = select(AlertRow)
        if org is not None:
            q = q.where(AlertRow.org_id.in_((org, GLOBAL_ORG)))
        if severity is not None:
            q = q.where(AlertRow.severity == severity)
        return (await s.scalars(q.order_by(AlertRow.at_ns.desc()).limit(limit))).all()

    # -- real-time view ----------------------------------------------------------------
    async def all_accounts(self, s: AsyncSession) -> Sequence[AccountRow]:
        return (await s.scalars(select(AccountRow))).all()

    async def all_owners(self, s: AsyncSession) -> Sequence[AccountOwnerRow]:
        return (await s.scalars(select(AccountOwnerRow))).all()

    async def add_owner(
        self, s: AsyncSession, account_id: str, org: str, user_id: str, at_ns: int
    ) -> None:
        """Idempotent (the event is delivered at least once); the first owner stays."""
        stmt = _insert(s, AccountOwnerRow.__table__).values(
            account_id=account_id, org_id=org, user_id=user_id, created_ns=at_ns
        )
        await s.execute(stmt.on_conflict_do_nothing(index_elements=["account_id"]))

    async def all_positions(self, s: AsyncSession) -> Sequence[PositionRow]:
        return (await s.scalars(select(PositionRow))).all()

    async def all_balances(self, s: AsyncSession) -> Sequence[BalanceRow]:
        return (await s.scalars(select(BalanceRow))).all()

    async def save(self, s: AsyncSession, rows: Sequence[Any]) -> None:
        """Upsert the real-time rows: one INSERT .. ON CONFLICT DO UPDATE per table."""
        by_table: dict[Any, list[dict[str, Any]]] = {}
        for row in rows:
            table = type(row).__table__
            by_table.setdefault(table, []).append(
                {c.name: getattr(row, c.key) for c in table.columns}
            )
        for table, values in by_table.items():
            keys = [c.name for c in table.primary_key.columns]
            stmt = _insert(s, table)
            stmt = stmt.on_conflict_do_update(
                index_elements=keys,
                set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
            )
            await s.execute(stmt, values)

    async def add_return(self, s: AsyncSession, account_id: str, at_ns: int, value: str) -> None:
        s.add(ReturnRow(account_id=account_id, at_ns=at_ns, value=value))

    async def returns(self, s: AsyncSession, account_id: str, limit: int) -> list[str]:
        q = (
            select(ReturnRow.value)
            .where(ReturnRow.account_id == account_id)
            .order_by(ReturnRow.at_ns.desc())
            .limit(limit)
        )
        return list((await s.scalars(q)).all())

    # -- stops -------------------------------------------------------------------------
    async def active_stops(self, s: AsyncSession) -> Sequence[StopRow]:
        q = select(StopRow).where((StopRow.status == "active") | (~StopRow.done))
        return (await s.scalars(q.where(StopRow.status != "cancelled"))).all()

    async def stops(self, s: AsyncSession, org: str, user_id: str) -> Sequence[StopRow]:
        q = select(StopRow).where(StopRow.org_id == org, StopRow.user_id == user_id)
        return (await s.scalars(q.order_by(StopRow.created_ns.desc()).limit(500))).all()

    async def stop(
        self, s: AsyncSession, stop_id: str, org: str | None, user_id: str | None = None
    ) -> StopRow | None:
        row = await s.get(StopRow, stop_id, with_for_update=True)
        if row is None or (org is not None and row.org_id != org):
            return None
        if user_id is not None and row.user_id != user_id:
            return None
        return row

    # -- reports -----------------------------------------------------------------------
    async def reports(
        self, s: AsyncSession, org: str | None, scope: str | None, key: str | None, limit: int
    ) -> Sequence[ReportRow]:
        q = select(ReportRow)
        if org is not None:
            q = q.where(ReportRow.org_id == org)
        if scope is not None:
            q = q.where(ReportRow.scope == scope)
        if key is not None:
            q = q.where(ReportRow.key == key)
        return (await s.scalars(q.order_by(ReportRow.created_ns.desc()).limit(limit))).all()

    async def report(self, s: AsyncSession, report_id: str, org: str | None) -> ReportRow | None:
        row = await s.get(ReportRow, report_id)
        if row is None or (org is not None and row.org_id != org):
            return None
        return row

    async def daily_report_exists(self, s: AsyncSession, scope: str, key: str, day: int) -> bool:
        q = select(ReportRow.id).where(
            ReportRow.scope == scope, ReportRow.key == key, ReportRow.day == day,
            ReportRow.kind == "daily",
        )  # fmt: skip
        return (await s.scalars(q.limit(1))).first() is not None
