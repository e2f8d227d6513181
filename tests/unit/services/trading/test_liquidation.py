"""USD-M perpetual margin and liquidation price: hand-computed values, long and short, and
the properties that must hold for any position (side of entry, monotone in margin)."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817  (amounts read better short)

import hypothesis.strategies as st
from hypothesis import given, settings

from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.money import MONEY_CONTEXT as M
from argosy.kernel.money import Money, Price, Quantity
from argosy.services.trading.domain.ledger import (
    MAINTENANCE_RATE,
    initial_margin,
    liquidation_price,
    maintenance_margin,
)
from argosy.services.trading.models import PositionRow
from argosy.services.trading.service.margin import margins


def test_initial_and_maintenance_margin_by_hand() -> None:
    # 0.5 BTC at 60,000 = 30,000 notional; 10x → 3,000; 0.4% → 120.
    assert initial_margin(D("0.5"), D("60000"), 10) == D("3000")
    assert initial_margin(D("-0.5"), D("60000"), 10) == D("3000")
    assert maintenance_margin(D("-0.5"), D("60000")) == D("120.0000")
    assert initial_margin(D("0.001"), D("61837.63"), 125) == D("0.49470104")


def test_long_isolated_10x_by_hand() -> None:
    # 1 BTC long at 50,000 backed by its 10x initial margin, 5,000:
    # 5000 + (P - 50000) = 0.004 P  →  P = 45000 / 0.996 = 45180.7228915662650602409638...
    p = liquidation_price(D("1"), D("50000"), D("5000"))
    assert p is not None
    assert str(p)[:16] == "45180.7228915662"
    # at that mark, equity equals maintenance (to the context's precision)
    equity = D("5000") + (p - D("50000"))
    assert abs(equity - maintenance_margin(D("1"), p)) < D("1e-20")


def test_short_isolated_10x_by_hand() -> None:
    # 1 BTC short at 50,000, margin 5,000: 5000 - (P - 50000) = 0.004 P
    # → P = 55000 / 1.004 = 54780.8764940239043824701195...
    p = liquidation_price(D("-1"), D("50000"), D("5000"))
    assert p is not None
    assert str(p)[:16] == "54780.8764940239"


def test_cross_with_wallet_balance_by_hand() -> None:
    # 0.2 BTC long at 60,000 (12,000 notional) on a 3,000 USDT wallet:
    # (0.2·60000 − 3000) / (0.2 · 0.996) = 9000 / 0.1992 = 45180.72289156626...
    p = liquidation_price(D("0.2"), D("60000"), D("3000"))
    assert p is not None
    assert str(p)[:14] == "45180.72289156"
    # the same short: (−12000 − 3000) / (0.2 · −1.004) = 15000 / 0.2008 = 74701.1952...
    s = liquidation_price(D("-0.2"), D("60000"), D("3000"))
    assert s is not None
    assert str(s)[:13] == "74701.1952191"


def test_no_liquidation_when_flat_or_fully_backed() -> None:
    assert liquidation_price(D("0"), D("50000"), D("100")) is None
    assert liquidation_price(D("1"), None, D("100")) is None
    # a 1x long backed by more than its notional cannot be liquidated at any price > 0
    assert liquidation_price(D("1"), D("50000"), D("50000")) is None
    # a 1x short always can (the price may rise without bound)
    short = liquidation_price(D("-1"), D("50000"), D("50000"))
    assert short is not None
    assert short > D("99000")


def test_margin_below_maintenance_is_liquidatable_now() -> None:
    # maintenance at entry is 200; with 100 the price is already past entry
    p = liquidation_price(D("1"), D("50000"), D("100"))
    assert p is not None
    assert p > D("50000")


sizes = st.decimals(min_value=D("0.001"), max_value=D("100"), places=3)
prices = st.decimals(min_value=D("1"), max_value=D("200000"), places=2)
leverages = st.integers(min_value=1, max_value=125)
extra = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)


@settings(max_examples=300, deadline=None)
@given(size=sizes, entry=prices, lev=leverages, more=extra, long=st.booleans())
def test_liquidation_side_and_monotone_in_margin(size: D, entry: D, lev: int, more: D,
                                                 long: bool) -> None:
    qty = size if long else -size
    margin = initial_margin(qty, entry, lev)
    if margin <= maintenance_margin(qty, entry):
        return  # 125x sits below the flat 0.4% maintenance: liquidatable at once
    p = liquidation_price(qty, entry, margin)
    richer = liquidation_price(qty, entry, M.add(margin, more))
    if long:  # None: backed by its whole notional (1x), no positive price liquidates
        assert (p is None) == (lev == 1)
        if p is None:
            assert richer is None
            return
        assert p < entry
        assert richer is None or richer < p
    else:
        assert p is not None
        assert p > entry
        assert richer is not None
        assert richer > p
    # at the liquidation price, equity equals maintenance
    equity = margin + qty * (p - entry)
    assert abs(equity - maintenance_margin(qty, p)) <= abs(qty) * entry * D("1e-25")


def test_maintenance_rate_is_binance_first_tier() -> None:
    assert D("0.004") == MAINTENANCE_RATE



def _perp(base: str) -> Instrument:
    return Instrument("binance", f"{base}USDT", base, "USDT", InstrumentKind.PERP,
                      Price("0.01"), Quantity("0.001"), Quantity("0.001"), Money("5", "USDT"))


def _row(instrument: str, qty: str, entry: str | None, lev: int | None = None) -> PositionRow:
    return PositionRow(account_id="a", instrument=instrument, org_id="o", quantity=qty,
                       average_entry=entry, realized_pnl="0", fees_paid="0", updated_ns=0,
                       leverage=lev)


def test_cross_margin_counts_the_other_positions() -> None:
    btc, eth = _perp("BTC"), _perp("ETH")
    rows = [_row("BTC-USDT-PERP.binance", "0.2", "60000", 20),
            _row("ETH-USDT-PERP.binance", "-2", "3000")]
    out = margins(rows, {"BTC-USDT-PERP.binance": btc, "ETH-USDT-PERP.binance": eth},
                  {"BTC-USDT-PERP.binance": D("61000"), "ETH-USDT-PERP.binance": D("2900")},
                  {"USDT": D("3000")}, 5, MAINTENANCE_RATE)
    b, e = out["BTC-USDT-PERP.binance"], out["ETH-USDT-PERP.binance"]
    assert (b.leverage, e.leverage) == (20, 5)  # its own, and the default
    assert b.initial == D("610")  # 0.2 · 61000 / 20, at the mark
    assert e.initial == D("1160")  # 2 · 2900 / 5
    assert b.maintenance == D("48.8000")  # 12200 · 0.004
    assert e.maintenance == D("23.2000")  # 5800 · 0.004
    # BTC backed by 3000 + ETH's PnL (+200) − ETH's maintenance (23.2) = 3176.8:
    # (12000 − 3176.8) / (0.2 · 0.996) = 8823.2 / 0.1992 = 44293.17269076...
    assert b.liquidation is not None
    assert str(b.liquidation)[:14] == "44293.17269076"
    # ETH backed by 3000 + BTC's PnL (+200) − 48.8 = 3151.2:
    # (−6000 − 3151.2) / (2 · −1.004) = 9151.2 / 2.008 = 4557.370517928...
    assert e.liquidation is not None
    assert str(e.liquidation)[:13] == "4557.37051792"


def test_flat_perp_keeps_its_leverage_and_spot_is_left_out() -> None:
    spot = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT,
                      Price("0.01"), Quantity("0.001"), Quantity("0.001"), Money("5", "USDT"))
    out = margins([_row("BTC-USDT-PERP.binance", "0", None, 50), _row("BTC-USDT.binance",
                                                                      "1", "60000")],
                  {"BTC-USDT-PERP.binance": _perp("BTC"), "BTC-USDT.binance": spot}, {},
                  {"USDT": D("100")}, 1, MAINTENANCE_RATE)
    assert list(out) == ["BTC-USDT-PERP.binance"]
    assert out["BTC-USDT-PERP.binance"].leverage == 50
    assert out["BTC-USDT-PERP.binance"].liquidation is None
