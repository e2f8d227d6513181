"""Read-side use-cases over the real-time view: exposure per scope and the dry-run check.

The dry run answers with the same engine the trading service runs, fed from the risk
service's own view of the account (position, exposure, equity, PnL, drawdown). The order
rate and open-order count live in the trading engine, so the dry run counts them as zero
unless the request gives them.
"""

from __future__ import annotations

from decimal import Decimal

from argosy.contracts.v1.risk import CheckRequest, CheckResult, ExposureOut, PositionExposure
from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity, to_decimal
from argosy.kernel.pretrade import OrderContext
from argosy.services.risk.domain.book import Owner
from argosy.services.risk.service._context import Caller, Deps
from argosy.services.risk.service.realtime import RealTime

__all__ = ["ExposureService"]

_SIX = Decimal("0.000001")
EIGHT = _EIGHT = Decimal("0.00000001")  # an estimate: more digits would claim precision it lacks


def _s(value: Decimal) -> str:
    return "0" if value == 0 else format(value.normalize(), "f")


def _ratio(value: Decimal) -> str:
    """Ratios to six places: 1/3 need not travel as 28 digits."""
    return _s(value.quantize(_SIX))


fmt, ratio = _s, _ratio  # shared with the exposure stream, so both say the same numbers


class ExposureService:
    def __init__(self, deps: Deps, rt: RealTime) -> None:
        self.d, self.rt = deps, rt

    def _accounts(self, c: Caller, scope: str, key: str | None) -> tuple[str, list[str]]:
        book = self.rt.book
        if scope == "account":
            if key is None:
                raise Invalid("give the account id as key", field="key")
            owner = book.owner(key)
            if owner is None or (c.org is not None and owner.org != c.org):
                raise NotFound("no risk data for this account", field="key")
            return key, [key]
        if scope == "user":
            key = key or c.user_id
            if key is None:
                raise Invalid("give the user id as key", field="key")
        else:
            key = key or c.org
            if key is None:
                raise Invalid("give the organisation as key", field="key")
            c.may_see_org(key)
        field = "user_id" if scope == "user" else "org"
        found = [
            a for a in book.accounts()
            if (o := book.owner(a)) is not None and getattr(o, field) == key
            and (c.org is None or o.org == c.org)
        ]  # fmt: skip
        return key, found

    async def exposure(self, c: Caller, scope: str, key: str | None) -> ExposureOut:
        c.require("risk:read")
        key, accounts = self._accounts(c, scope, key)
        view = self.rt.view(accounts)
        m = view.metrics
        peak = view.marks.peak_equity if view.marks is not None else m.equity
        usage, liq = view.margin_usage, view.liquidation_distance
        return ExposureOut(
            scope=scope,
            key=key,
            gross_exposure=_s(m.gross), net_exposure=_s(m.net),
            realized_pnl=_s(m.realized), unrealized_pnl=_s(m.unrealized),
            equity=_s(m.equity), peak_equity=_s(max(peak, m.equity)),
            drawdown=_ratio(view.drawdown), day_pnl=_s(view.day_pnl),
            concentration=_ratio(m.concentration),
            leverage=_ratio(m.gross / m.equity) if m.equity > 0 else None,
            var_95=None if view.var is None else _s(view.var[0].quantize(_EIGHT)),
            expected_shortfall_95=None if view.var is None else _s(view.var[1].quantize(_EIGHT)),
            margin_used=_s(view.margin_used),
            margin_usage=None if usage is None else _ratio(usage),
            liquidation_distance=None if liq is None else _ratio(liq),
            positions=[
                PositionExposure(
                    account_id=a, instrument=h.instrument, quantity=_s(h.quantity),
                    mark_price=None if h.mark is None else _s(h.mark),
                    notional=_s(h.notional()), unrealized_pnl=_s(h.unrealized_pnl),
                    realized_pnl=_s(h.realized_pnl),
                )
                for a in accounts for h in self.rt.book.combine([a]).holdings
            ],
        )  # fmt: skip

    async def check(self, c: Caller, req: CheckRequest) -> CheckResult:
        c.require("risk:read")
        instrument = InstrumentId.parse(req.instrument, "instrument")
        owner = self.rt.book.owner(req.account_id)
        if owner is not None and c.org is not None and owner.org != c.org:
            raise NotFound("no such account", field="account_id")
        if owner is None:
            if c.org is None or c.user_id is None:
                raise NotFound("no risk data for this account", field="account_id")
            owner = Owner(c.org, c.user_id)
        holding = self.rt.book.holding(req.account_id, str(instrument))
        mark = req.mark_price or (
            _s(m) if (m := self.rt.book.mark(str(instrument))) is not None else None
        )
        position = (
            to_decimal(req.position_qty, "position_qty") if req.position_qty is not None
            else holding.quantity if holding is not None else Decimal(0)
        )  # fmt: skip
        view = self.rt.view([req.account_id])
        ctx = OrderContext(
            org=owner.org, user_id=owner.user_id, account_id=req.account_id,
            strategy_id=req.strategy_id, instrument_id=instrument, side=Side(req.side),
            quantity=Quantity(req.quantity), price=None if req.price is None else Price(req.price),
            mark_price=None if mark is None else Price(mark), now_ns=self.d.now(),
            position_qty=position, open_orders=req.open_orders or 0, recent_order_ns=(),
            gross_exposure=view.metrics.gross, net_exposure=view.metrics.net,
            equity=view.metrics.equity, day_pnl=view.day_pnl, drawdown=view.drawdown,
        )  # fmt: skip
        d = self.d.rules.engine.check(ctx)
        return CheckResult(
            allowed=d.allowed, rule_id=d.rule_id, code=d.code, reason=d.reason,
            evaluated=list(d.evaluated), version=self.d.rules.version,
        )  # fmt: skip
