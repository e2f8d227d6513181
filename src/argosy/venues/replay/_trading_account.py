"""The fake exchange's account endpoints: spot `/api/v3/account`, USD-M balance, positions.

USD-M positions are marked at the replayed book's mid price (Binance marks at its own
mark price, which the recordings do not hold; the mid is within the spread of it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay._accounts import ZERO, ApiKey
from argosy.venues.replay._rest import BinanceError

if TYPE_CHECKING:
    from argosy.venues.replay._trading import TradingDesk

__all__ = ["account_view"]


def _f(value: Decimal, spot: bool = False) -> str:
    return f"{value:.8f}" if spot else f"{value.normalize():f}" if value else "0"


def _mark(desk: TradingDesk, symbol: str) -> Decimal:
    return desk.matcher.reference_price(BinanceMarket.USDM, symbol) or ZERO


def _positions(desk: TradingDesk, key: ApiKey) -> list[dict[str, Any]]:
    account = desk.account(key.account)
    rows = []
    for symbol, pos in sorted(account.positions.items()):
        mark = _mark(desk, symbol)
        unrealized = (mark - pos.entry) * pos.amount if pos.amount and mark else ZERO
        rows.append({
            "symbol": symbol, "positionAmt": _f(pos.amount), "entryPrice": _f(pos.entry),
            "breakEvenPrice": _f(pos.entry), "markPrice": _f(mark),
            "unRealizedProfit": _f(unrealized), "liquidationPrice": "0",
            "leverage": str(pos.leverage), "maxNotionalValue": "1000000", "marginType": "cross",
            "isolatedMargin": "0", "isAutoAddMargin": "false", "positionSide": "BOTH",
            "notional": _f(mark * pos.amount), "isolatedWallet": "0",
            "updateTime": pos.update_ms,
        })
    return rows


def account_view(desk: TradingDesk, key: ApiKey, market: BinanceMarket, method: str,
                 endpoint: str, p: dict[str, str]) -> Any:
    account = desk.account(key.account)
    now = desk.now_ms()
    if market is BinanceMarket.SPOT and endpoint == "account":
        omit = p.get("omitZeroBalances") == "true"
        balances = [{"asset": a, "free": _f(b.free, True), "locked": _f(b.locked, True)}
                    for a, b in sorted(account.spot.items())
                    if not omit or b.free or b.locked]
        return {"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
                "sellerCommission": 0, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
                "preventSor": False, "updateTime": now, "accountType": "SPOT",
                "balances": balances, "permissions": ["SPOT"], "uid": abs(hash(key.account))}
    positions = _positions(desk, key)
    unrealized = sum((Decimal(r["unRealizedProfit"]) for r in positions), ZERO)
    margin = sum((abs(pos.amount) * pos.entry / pos.leverage
                  for pos in account.positions.values()), ZERO)
    if endpoint == "balance":
        return [{"accountAlias": "SgsR", "asset": asset, "balance": _f(amount),
                 "crossWalletBalance": _f(amount),
                 "crossUnPnl": _f(unrealized if asset == "USDT" else ZERO),
                 "availableBalance": _f(amount + unrealized - margin if asset == "USDT"
                                        else amount),
                 "maxWithdrawAmount": _f(amount), "marginAvailable": True, "updateTime": now}
                for asset, amount in sorted(account.wallet.items())]
    if endpoint == "positionRisk":
        symbol = p.get("symbol")
        return [r for r in positions if not symbol or r["symbol"] == symbol]
    if endpoint == "leverage":
        leverage = int(p.get("leverage", "0"))
        if not 1 <= leverage <= 125:
            raise BinanceError(400, -4028, "Leverage is not valid.")
        account.position(p["symbol"]).leverage = leverage
        return {"leverage": leverage, "maxNotionalValue": "1000000", "symbol": p["symbol"]}
    wallet = account.wallet["USDT"]
    return {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
            "updateTime": 0, "totalWalletBalance": _f(wallet),
            "totalUnrealizedProfit": _f(unrealized),
            "totalMarginBalance": _f(wallet + unrealized),
            "availableBalance": _f(wallet + unrealized - margin),
            "assets": [], "positions": positions}
