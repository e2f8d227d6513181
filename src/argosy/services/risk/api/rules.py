"""/api/v1/risk/rules, /check, /kill-switch and /internal/v1/risk/rules."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from argosy.contracts.v1.risk import (
    CheckRequest,
    CheckResult,
    KillSwitchRequest,
    RuleSetOut,
    RuleSetWrite,
)
from argosy.platform.auth.internal import Principal
from argosy.services.risk.api._deps import ERRORS, RequestDeps
from argosy.services.risk.service._context import Caller
from argosy.services.risk.service.exposure import ExposureService
from argosy.services.risk.service.rules import RulesService

__all__ = ["router"]


def router(deps: RequestDeps, rules: RulesService, exposure: ExposureService) -> APIRouter:
    r = APIRouter(tags=["risk rules"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806
    Service = Annotated[Principal, Depends(deps.service)]  # noqa: N806

    @r.get("/api/v1/risk/rules", summary="The rule set in force (rules and kill switches)")
    async def get_rules(c: Who) -> RuleSetOut:
        return await rules.current(c)

    @r.put(
        "/api/v1/risk/rules", summary="Replace the rules (a new version)",
        description="The whole rule set; validated as a whole (contradictions such as two "
        "rules of one kind over the same scope are refused, naming the field). A refused "
        "update leaves the rules in force unchanged. Every version is mirrored to the config "
        "service (`risk/rules`) and published on `risk.rules.changed`. Every rule covering "
        "an order applies (the tightest limit decides). Needs `risk:admin`.",
    )  # fmt: skip
    async def put_rules(body: RuleSetWrite, c: Who) -> RuleSetOut:
        return await rules.replace(c, body)

    @r.get("/api/v1/risk/rules/history", summary="Previous versions, newest first")
    async def history(
        c: Who, limit: Annotated[int, Query(ge=1, le=200)] = 20
    ) -> dict[str, list[RuleSetOut]]:
        return {"items": await rules.history(c, limit)}

    @r.post(
        "/api/v1/risk/check", summary="Dry run: would this order pass?",
        description="Evaluates the order against the rules in force with the account's "
        "current position, exposure, equity, PnL and drawdown as the risk service sees them. "
        "Returns the rules evaluated, in order, and the first that refused.",
    )  # fmt: skip
    async def check(body: CheckRequest, c: Who) -> CheckResult:
        return await exposure.check(c, body)

    @r.post(
        "/api/v1/risk/kill-switch", summary="Engage or release a kill switch",
        description="account / user / org / global. Engaging blocks every order that adds "
        "risk under the scope (reducing orders pass unless `allow_reducing` is false), "
        "cancels the scope's open orders, is audited and published as "
        "`risk.alert.critical`. Needs `risk:admin`; global needs an operator.",
    )  # fmt: skip
    async def kill_switch(body: KillSwitchRequest, c: Who) -> RuleSetOut:
        return await rules.kill_switch(c, body)

    @r.get(
        "/internal/v1/risk/rules", summary="The rule set for the trading engine",
        description="Convert with `RuleSetOut.model_validate(body).to_ruleset()` and build "
        "a `kernel.pretrade.PreTradeEngine`.",
    )  # fmt: skip
    async def internal_rules(_: Service) -> RuleSetOut:
        return await rules.internal()

    return r
