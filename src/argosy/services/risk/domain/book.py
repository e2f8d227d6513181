"""The real-time risk view: positions, balances and marks per account, and what follows.

Pure and synchronous so the consumer can apply thousands of events a second and a test can
drive it without a loop. Position and balance events carry absolute values (the trading
engine's truth), so applying one twice or late is harmless: the newest `at_ms` wins. A
fill moves the position at once, before its position event arrives, and the position event
then settles it.

Valuation: every amount is in the quote currency, and stablecoin quotes (USDT, USDC, ...)
are taken as one unit, so an account's amounts add up. Equity is the value of the balances
(a non-stable asset at the mark of `<ASSET>-<stable>`) plus perpetuals' unrealized PnL; an
account whose balances were never seen is valued by its PnL alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from argosy.kernel.money import MONEY_CONTEXT

__all__ = ["STABLES", "AccountMetrics", "Holding", "Owner", "RiskBook"]

STABLES = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "DAI", "TUSD"})
_ZERO = Decimal(0)
_mul, _add, _sub = MONEY_CONTEXT.multiply, MONEY_CONTEXT.add, MONEY_CONTEXT.subtract


@dataclass
class Holding:
    """One position as the risk service sees it."""

    instrument: str
    quantity: Decimal = _ZERO
    average_entry: Decimal | None = None
    realized_pnl: Decimal = _ZERO
    unrealized_pnl: Decimal = _ZERO
    mark: Decimal | None = None
    at_ms: int = 0
    leverage: int | None = None  # perpetuals: from the trading service's position event
    liquidation_price: Decimal | None = None

    @property
    def perp(self) -> bool:
        return self.instrument.split(".", 1)[0].endswith("-PERP")

    def revalue(self) -> None:
        if self.mark is not None and self.average_entry is not None:
            self.unrealized_pnl = _mul(self.quantity, _sub(self.mark, self.average_entry))

    def notional(self) -> Decimal:
        price = self.mark if self.mark is not None else self.average_entry
        return _ZERO if price is None else _mul(self.quantity, price)


@dataclass(frozen=True, slots=True)
class Owner:
    org: str
    user_id: str


@dataclass
class _Account:
    owner: Owner
    holdings: dict[str, Holding] = field(default_factory=dict)
    balances: dict[str, tuple[Decimal, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountMetrics:
    gross: Decimal
    net: Decimal
    realized: Decimal
    unrealized: Decimal
    equity: Decimal
    concentration: Decimal  # largest instrument share of gross, 0..1
    holdings: tuple[Holding, ...]
    # Balances were seen, so `equity` is an equity; otherwise it is PnL alone, which has no
    # meaningful peak to measure a drawdown fraction from.
    valued: bool = False


def _instrument_parts(instrument: str) -> tuple[str, str]:
    symbol = instrument.split(".", 1)[0]
    parts = symbol.split("-")
    return parts[0], parts[1] if len(parts) > 1 else ""


class RiskBook:
    def __init__(self) -> None:
        self._accounts: dict[str, _Account] = {}
        self._marks: dict[str, Decimal] = {}
        self._asset_px: dict[str, Decimal] = {}
        self._holders: dict[str, set[str]] = {}  # instrument -> accounts holding it
        self.dirty: set[str] = set()

    # -- input ---------------------------------------------------------------------
    def account(self, account_id: str, owner: Owner) -> _Account:
        acct = self._accounts.get(account_id)
        if acct is None:
            acct = self._accounts[account_id] = _Account(owner)
        return acct

    def owner(self, account_id: str) -> Owner | None:
        acct = self._accounts.get(account_id)
        return None if acct is None else acct.owner

    def accounts(self) -> list[str]:
        return list(self._accounts)

    def _holding(self, account_id: str, owner: Owner, instrument: str) -> Holding:
        acct = self.account(account_id, owner)
        h = acct.holdings.get(instrument)
        if h is None:
            h = acct.holdings[instrument] = Holding(instrument, mark=self._marks.get(instrument))
            self._holders.setdefault(instrument, set()).add(account_id)
        return h

    def apply_position(
        self,
        account_id: str,
        owner: Owner,
        instrument: str,
        *,
        quantity: Decimal,
        average_entry: Decimal | None,
        realized: Decimal,
        unrealized: Decimal,
        mark: Decimal | None,
        at_ms: int,
        leverage: int | None = None,
        liquidation_price: Decimal | None = None,
    ) -> bool:
        """Apply an absolute position; False when it is older than what is held."""
        h = self._holding(account_id, owner, instrument)
        if at_ms < h.at_ms:
            return False
        h.quantity, h.average_entry, h.at_ms = quantity, average_entry, at_ms
        h.realized_pnl, h.unrealized_pnl = realized, unrealized
        if leverage is not None:  # an event without it keeps what an earlier one said
            h.leverage = leverage
        h.liquidation_price = liquidation_price
        if mark is not None and instrument not in self._marks:
            self.set_mark(instrument, mark)
        h.mark = self._marks.get(instrument, mark)
        h.revalue()
        self.dirty.add(account_id)
        return True

    def apply_fill(
        self, account_id: str, owner: Owner, instrument: str, signed_qty: Decimal, price: Decimal
    ) -> None:
        """Move the position now; the position event that follows settles it exactly."""
        h = self._holding(account_id, owner, instrument)
        old = h.quantity
        new = _add(old, signed_qty)
        if old == 0 or (old > 0) == (signed_qty > 0):
            total = _add(_mul(abs(old), h.average_entry or price), _mul(abs(signed_qty), price))
            h.average_entry = MONEY_CONTEXT.divide(total, abs(new)) if new else None
        elif h.average_entry is not None:
            closed = min(abs(old), abs(signed_qty))
            sign = Decimal(1) if old > 0 else Decimal(-1)
            pnl = _mul(_mul(closed, _sub(price, h.average_entry)), sign)
            h.realized_pnl = _add(h.realized_pnl, pnl)
            if new == 0:
                h.average_entry = None
            elif (new > 0) != (old > 0):
                h.average_entry = price
        h.quantity = new
        if h.mark is None:
            h.mark = price
        h.revalue()
        self.dirty.add(account_id)

    def apply_balance(
        self, account_id: str, owner: Owner, asset: str, total: Decimal, at_ms: int
    ) -> None:
        acct = self.account(account_id, owner)
        current = acct.balances.get(asset)
        if current is None or at_ms >= current[1]:
            acct.balances[asset] = (total, at_ms)
            self.dirty.add(account_id)

    def set_mark(self, instrument: str, price: Decimal) -> set[str]:
        """Record a mark; returns the accounts holding the instrument (to re-check)."""
        if price <= 0:
            return set()
        self._marks[instrument] = price
        base, quote = _instrument_parts(instrument)
        if quote in STABLES and not instrument.split(".", 1)[0].endswith("-PERP"):
            self._asset_px[base] = price
        holders = self._holders.get(instrument, set())
        for account_id in holders:
            h = self._accounts[account_id].holdings[instrument]
            h.mark = price
            h.revalue()
        return set(holders)

    def mark(self, instrument: str) -> Decimal | None:
        return self._marks.get(instrument)

    def holding(self, account_id: str, instrument: str) -> Holding | None:
        acct = self._accounts.get(account_id)
        return None if acct is None else acct.holdings.get(instrument)

    def balances(self, account_id: str) -> dict[str, Decimal]:
        acct = self._accounts.get(account_id)
        return {} if acct is None else {k: v for k, (v, _) in acct.balances.items()}

    # -- output --------------------------------------------------------------------
    def metrics(self, account_id: str) -> AccountMetrics:
        acct = self._accounts.get(account_id)
        if acct is None:
            return AccountMetrics(_ZERO, _ZERO, _ZERO, _ZERO, _ZERO, _ZERO, ())
        return self.combine([account_id])

    def combine(self, account_ids: Iterable[str]) -> AccountMetrics:
        gross = net = realized = unrealized = equity = _ZERO
        valued = False
        largest: dict[str, Decimal] = {}
        holdings: list[Holding] = []
        for account_id in account_ids:
            acct = self._accounts.get(account_id)
            if acct is None:
                continue
            pnl_equity = _ZERO
            perp_unrealized = _ZERO
            for h in acct.holdings.values():
                value = h.notional()
                gross = _add(gross, abs(value))
                net = _add(net, value)
                realized = _add(realized, h.realized_pnl)
                unrealized = _add(unrealized, h.unrealized_pnl)
                pnl_equity = _add(pnl_equity, _add(h.realized_pnl, h.unrealized_pnl))
                if h.perp:
                    perp_unrealized = _add(perp_unrealized, h.unrealized_pnl)
                largest[h.instrument] = _add(largest.get(h.instrument, _ZERO), abs(value))
                if h.quantity != 0:
                    holdings.append(h)
            if acct.balances:
                valued = True
                equity = _add(equity, _add(self._balance_value(acct), perp_unrealized))
            else:
                equity = _add(equity, pnl_equity)
        top = max(largest.values(), default=_ZERO)
        concentration = MONEY_CONTEXT.divide(top, gross) if gross else _ZERO
        return AccountMetrics(
            gross, net, realized, unrealized, equity, concentration, tuple(holdings), valued
        )

    def _balance_value(self, acct: _Account) -> Decimal:
        total = _ZERO
        for asset, (amount, _) in acct.balances.items():
            if asset in STABLES:
                total = _add(total, amount)
            elif asset in self._asset_px:
                total = _add(total, _mul(amount, self._asset_px[asset]))
        return total
