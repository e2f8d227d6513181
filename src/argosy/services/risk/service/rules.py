"""The rule set: read, replace (versioned), kill switches, and the mirror in the config
service.

Every change (rules or a kill switch) is one new row in `rule_versions` and one
`risk.rules.changed` event carrying the whole new set, written in the same transaction
(outbox), so the trading engine reloads without a round trip and never misses a version.
Validation happens before the transaction: a refused update changes nothing, and the rules
in force stay in force.

The config service holds a copy of each version (`risk/rules`) for history and rollback.
Mirroring happens after commit and is retried by `mirror_loop`, because the risk service
must keep working when the config service is down. A rollback done in the config service
comes back through `on_config_change` and becomes a new risk version (its kill switches
are ignored: they are only ever engaged or released here, with an audit entry).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from argosy.contracts.topics import RISK_RULES_CHANGED
from argosy.contracts.v1.risk import (
    KillSwitchIn,
    KillSwitchRequest,
    RuleIn,
    RulesChanged,
    RuleSetOut,
    RuleSetWrite,
    to_ruleset,
)
from argosy.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from argosy.kernel.pretrade import KillSwitch, KillSwitchLevel
from argosy.platform.clients.base import ServiceClient
from argosy.services.risk.domain.book import RiskBook
from argosy.services.risk.models import RuleVersionRow
from argosy.services.risk.service._context import Caller, Deps
from argosy.services.risk.service.alerts import AlertSpec, raise_alert

__all__ = ["CONFIG_NAMESPACE", "RulesService"]

log = structlog.get_logger("argosy.risk.rules")

CONFIG_NAMESPACE = "rules"
_NS_PER_MS = 1_000_000
OnKill = Callable[[KillSwitchRequest], Awaitable[None]]


def _wire(row: RuleVersionRow) -> RuleSetOut:
    return RuleSetOut(
        version=row.version,
        rules=row.content.get("rules", []),
        kill_switches=row.content.get("kill_switches", []),
        updated_at_ms=row.created_ns // _NS_PER_MS,
        updated_by=row.author,
    )


class RulesService:
    def __init__(self, deps: Deps, config: ServiceClient | None = None,
                 book: RiskBook | None = None) -> None:
        self.d = deps
        self._config = config
        self._book = book  # whose accounts are whose: another organisation's reads as absent
        self._on_kill: list[OnKill] = []
        self._lock = asyncio.Lock()
        self._mirroring: set[asyncio.Task[bool]] = set()

    def on_kill_switch(self, hook: OnKill) -> None:
        self._on_kill.append(hook)

    async def load(self) -> None:
        """Refresh the in-memory rules from the newest stored version."""
        async with self.d.db.read() as s:
            row = await self.d.store.latest_rules(s)
        if row is not None and row.version > self.d.rules.version:
            self.d.rules.replace(_wire(row))

    # -- reads -------------------------------------------------------------------------
    async def current(self, c: Caller) -> RuleSetOut:
        c.require("risk:read")
        await self.load()
        return self.d.rules.wire

    async def internal(self) -> RuleSetOut:
        await self.load()
        return self.d.rules.wire

    async def history(self, c: Caller, limit: int) -> list[RuleSetOut]:
        c.require("risk:read")
        async with self.d.db.read() as s:
            return [_wire(r) for r in await self.d.store.rule_history(s, limit)]

    # -- writes ------------------------------------------------------------------------
    async def replace(self, c: Caller, body: RuleSetWrite) -> RuleSetOut:
        c.require("risk:admin")
        if not c.platform_wide:
            for i, rule in enumerate(body.rules):
                if rule.scope.org != c.org:
                    raise Forbidden(
                        "an organisation's administrator writes rules scoped to it only",
                        field=f"rules[{i}].scope.org",
                    )
        to_ruleset(1, body.rules)  # validate before touching anything
        return await self._commit(
            c.actor, "rules", body.comment, body.expected_version,
            lambda current: (body.rules, current.kill_switches),
        )  # fmt: skip

    async def kill_switch(self, c: Caller, req: KillSwitchRequest) -> RuleSetOut:
        c.require("risk:admin")
        level = KillSwitchLevel(req.level)
        if level is KillSwitchLevel.GLOBAL and not c.platform_wide:
            raise Forbidden("only an operator may use the global kill switch", field="level")
        if level is KillSwitchLevel.ORG and not c.platform_wide and req.key != c.org:
            raise Forbidden("another organisation's kill switch", field="key")
        if not c.platform_wide and req.key is not None and self._foreign(c, level, req.key):
            raise NotFound("no such account or user in your organisation", field="key")
        switch = KillSwitch(level, req.key, req.reason, req.allow_reducing)  # validates key
        wire_switch = KillSwitchIn(
            level=req.level, key=req.key, reason=req.reason, allow_reducing=req.allow_reducing
        )

        def change(current: RuleSetOut) -> tuple[list[RuleIn], list[KillSwitchIn]]:
            kept = [
                k for k in current.kill_switches
                if KillSwitch(KillSwitchLevel(k.level), k.key).id != switch.id
            ]  # fmt: skip
            return current.rules, [*kept, wire_switch] if req.engaged else kept

        what = "engaged" if req.engaged else "released"
        out = await self._commit(
            c.actor, "kill_switch", f"kill switch {switch.id} {what}", None, change,
            alert=AlertSpec(
                "critical" if req.engaged else "warning", "kill_switch",
                f"kill switch {switch.id} {what} by {c.actor}"
                + (f": {req.reason}" if req.reason else ""),
                req.level, req.key, c.org if level is not KillSwitchLevel.ORG else req.key,
                account_id=req.key if level is KillSwitchLevel.ACCOUNT else None,
                user_id=req.key if level is KillSwitchLevel.USER else None,
            ),
        )  # fmt: skip
        if req.engaged and req.cancel_orders:
            for hook in self._on_kill:
                await hook(req)
        return out

    def _foreign(self, c: Caller, level: KillSwitchLevel, key: str) -> bool:
        """An account (or a user's accounts) known to belong to another organisation."""
        book = self._book
        if book is None or level not in (KillSwitchLevel.ACCOUNT, KillSwitchLevel.USER):
            return False
        if level is KillSwitchLevel.ACCOUNT:
            owner = book.owner(key)
            return owner is not None and owner.org != c.org
        owners = (book.owner(a) for a in book.accounts())
        return any(o is not None and o.user_id == key and o.org != c.org for o in owners)

    async def engage_for_breach(self, account_id: str, reason: str) -> None:
        """The automatic kill switch of an account (after a drawdown/daily-loss breach)."""
        switch = KillSwitchIn(level="account", key=account_id, reason=reason)

        def change(current: RuleSetOut) -> tuple[list[RuleIn], list[KillSwitchIn]]:
            kept = [
                k for k in current.kill_switches
                if not (k.level == "account" and k.key == account_id)
            ]  # fmt: skip
            return current.rules, [*kept, switch]

        await self._commit("service:risk", "kill_switch", reason, None, change)

    async def _commit(
        self,
        author: str,
        reason: str,
        comment: str | None,
        expected: int | None,
        change: Callable[[RuleSetOut], tuple[list[RuleIn], list[KillSwitchIn]]],
        alert: AlertSpec | None = None,
    ) -> RuleSetOut:
        try:
            out = await self._write(author, reason, comment, expected, change, alert)
        except IntegrityError:  # another instance wrote the same version number first
            raise Conflict(
                "the rules changed concurrently; read them and retry", field="expected_version"
            ) from None
        self.d.rules.replace(out)
        log.info("risk.rules_changed", version=out.version, reason=reason, author=author)
        task = asyncio.get_running_loop().create_task(self.mirror())
        self._mirroring.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._mirroring.discard)
        return out

    async def _write(
        self,
        author: str,
        reason: str,
        comment: str | None,
        expected: int | None,
        change: Callable[[RuleSetOut], tuple[list[RuleIn], list[KillSwitchIn]]],
        alert: AlertSpec | None,
    ) -> RuleSetOut:
        async with self._lock, self.d.db.transaction() as s:
            latest = await self.d.store.latest_rules(s, lock=True)
            current = _wire(latest) if latest is not None else RuleSetOut(version=0, rules=[])
            if expected is not None and expected != current.version:
                raise Conflict(
                    f"the rules are at version {current.version}, not {expected}",
                    field="expected_version",
                )
            rules, switches = change(current)
            version = current.version + 1
            to_ruleset(version, rules, switches)  # the whole set, kill switches included
            now = self.d.now()
            content = {
                "rules": [r.model_dump(mode="json", exclude_defaults=True) for r in rules],
                "kill_switches": [k.model_dump(mode="json") for k in switches],
            }
            row = RuleVersionRow(
                version=version, content=content, reason=reason, author=author,
                comment=comment, created_ns=now, config_version=None,
            )  # fmt: skip
            s.add(row)
            out = _wire(row)
            event = RulesChanged(
                version=version, at_ms=now // _NS_PER_MS,
                reason="rules" if reason != "kill_switch" else "kill_switch", ruleset=out,
            )  # fmt: skip
            await self.d.outbox.add(
                s, RISK_RULES_CHANGED, event.model_dump(mode="json"), msg_id=f"rules-{version}"
            )
            if alert is not None:
                await raise_alert(s, self.d, alert, author)
        return out

    # -- the config service mirror ---------------------------------------------------------
    async def mirror(self) -> bool:
        """Send the newest version to the config service if it has not been; True if done."""
        if self._config is None:
            return True
        async with self.d.db.read() as s:
            row = await self.d.store.unmirrored(s)
        if row is None:
            return True
        body = {
            "content": {**row.content, "risk_version": row.version},
            "comment": row.comment or f"risk rules version {row.version}",
        }
        try:
            doc = await self._config.put_json(
                f"/api/v1/config/documents/risk/{CONFIG_NAMESPACE}", body
            )
        except Exception as exc:  # retried by mirror_loop
            log.info("risk.config_mirror_failed", version=row.version, error=str(exc))
            return False
        async with self.d.db.transaction() as s:
            stored = await self.d.store.rule_version(s, row.version)
            if stored is not None:
                stored.config_version = int(doc.get("version", 0)) or None
        return True

    async def mirror_loop(self) -> None:
        while True:
            await self.mirror()
            await asyncio.sleep(self.d.settings.config_sync_s)

    async def on_config_change(self, _ns: str, content: dict[str, Any] | None, v: int) -> None:
        """A rollback (or edit) in the config service: adopt its rules as a new version.

        Only a document newer than every version this service mirrored counts; an older
        one (a mirror still pending at start-up) must not roll the rules back.
        """
        if not content or int(content.get("risk_version", 0)) == self.d.rules.version:
            return
        async with self.d.db.read() as s:
            if v <= await self.d.store.max_config_version(s):
                return
        await self.load()
        if [r.model_dump(exclude_defaults=True) for r in self.d.rules.wire.rules] == [
            RuleIn.model_validate(r).model_dump(exclude_defaults=True)
            for r in content.get("rules", [])
        ]:
            return
        try:
            rules = [RuleIn.model_validate(r) for r in content.get("rules", [])]
            to_ruleset(1, rules)
        except (Invalid, ValueError) as exc:
            log.error("risk.config_rules_rejected", error=str(exc))
            return
        await self._commit(
            "service:config", "config",
            f"adopted from config version {content.get('risk_version')}", None,
            lambda current: (rules, current.kill_switches),
        )  # fmt: skip
