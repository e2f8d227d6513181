"""The replay server's REST side: Binance market data endpoints over the recordings.

Served for both `/api/v3` (spot) and `/fapi/v1` (USD-M): ping, time, exchangeInfo, depth,
klines, aggTrades, trades, historicalTrades. Every answer carries `X-MBX-USED-WEIGHT-1M`
with the documented weight of the call; going over the limit answers 429 with
Retry-After, and `ban_after` further calls inside the same window earn a 418 ban, as on
Binance. Errors use Binance's `{"code", "msg"}` body and codes (-1121 invalid symbol...).

Trade history only shows what has "happened": rows recorded after the replay clock are
not served for symbols that are on the replayed timeline. Kline fields the recordings do
not hold (quote volume, trade count, taker volumes) are computed from recorded aggTrades
when those exist for the symbol, and are "0" otherwise; the open/high/low/close/volume are
always the recorded ones.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.streams import KLINE_INTERVALS
from argosy.venues.binance.weights import request_weight
from argosy.venues.replay._ws import REPLAY_KEY

if TYPE_CHECKING:
    from argosy.venues.replay.server import ReplayServer

__all__ = ["BinanceError", "WeightBook", "rest_handler"]

_INTERVAL_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


class BinanceError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class WeightBook:
    """The IP's request weight per window, with Binance's 429-then-418 escalation."""

    def __init__(self, limit: int, window_s: float, ban_after: int, ban_s: float) -> None:
        self.limit, self.window_s, self.ban_after, self.ban_s = limit, window_s, ban_after, ban_s
        self.window = -1
        self.used = 0
        self.violations = 0
        self.banned_until = 0.0

    def charge(self, weight: int) -> tuple[int, float | None]:
        """(status, retry_after): 200 when the call may run (its weight is counted)."""
        now = time.time()
        if now < self.banned_until:
            return 418, self.banned_until - now
        window = int(now // self.window_s)
        if window != self.window:
            self.window, self.used, self.violations = window, 0, 0
        retry_after = (window + 1) * self.window_s - now
        if self.used + weight > self.limit:
            self.violations += 1
            if self.violations > self.ban_after:
                self.banned_until = now + self.ban_s
                return 418, self.ban_s
            return 429, retry_after
        self.used += weight
        return 200, None


def _symbol(request: web.Request, server: ReplayServer, market: BinanceMarket) -> str:
    symbol = request.query.get("symbol", "")
    if not symbol:
        raise BinanceError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/"
                                       "null, or malformed.")
    if symbol not in server.symbols[market]:
        raise BinanceError(400, -1121, "Invalid symbol.")
    return symbol


def _int(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; "
                                       "legal range is '^[0-9]{1,20}$'.") from None


def _limit(request: web.Request, default: int, maximum: int) -> int:
    limit = _int(request, "limit", default)
    assert limit is not None
    if not 1 <= limit <= maximum:
        raise BinanceError(400, -1100, f"Illegal value for parameter 'limit': {limit}.")
    return limit


def _fmt(value: Decimal) -> str:
    return f"{value:f}"


async def _depth(request: web.Request, server: ReplayServer, market: BinanceMarket) -> Any:
    symbol = _symbol(request, server, market)
    if market is BinanceMarket.USDM:
        limit = _limit(request, 500, 1000)
        if limit not in (5, 10, 20, 50, 100, 500, 1000):
            raise BinanceError(400, -4021, "Invalid depth limit.")
    else:
        limit = _limit(request, 100, 5000)
    key = (market, symbol)
    server.client_arrived()
    try:
        await asyncio.wait_for(server.player.ready(key).wait(), server.settings.snapshot_wait_s)
    except TimeoutError:
        raise BinanceError(503, -1008, "No depth snapshot recorded for this symbol yet.") \
            from None
    sync = server.player.books.get(key)
    if sync is not None and sync.state == "synced":
        bids, asks = sync.book.depth(limit)
        body: dict[str, Any] = {"lastUpdateId": sync.book.last_update_id}
        if market is BinanceMarket.USDM:
            event_ms, trans_ms = server.player.last_depth_ms.get(key, (0, 0))
            body |= {"E": event_ms, "T": trans_ms}
        body["bids"] = [[_fmt(p), _fmt(q)] for p, q in bids]
        body["asks"] = [[_fmt(p), _fmt(q)] for p, q in asks]
        return body
    recorded = dict(server.player.latest_snapshot[key].msg)
    recorded["bids"], recorded["asks"] = recorded["bids"][:limit], recorded["asks"][:limit]
    return recorded


def _visible(server: ReplayServer, market: BinanceMarket, symbol: str) -> int:
    """How many recorded trade rows of `symbol` have happened by the replay clock."""
    rows = server.recording.data[market].trades.get(symbol, [])
    if symbol not in server.timeline_symbols[market]:
        return len(rows)
    recv = server.recording.data[market].trade_recv_ns.get(symbol, [])
    return bisect.bisect_right(recv, server.player.now_ns)


def _trades(request: web.Request, server: ReplayServer, market: BinanceMarket, history: bool
            ) -> Any:
    symbol = _symbol(request, server, market)
    limit = _limit(request, 500, 1000)
    rows = server.recording.data[market].trades.get(symbol, [])[: _visible(server, market, symbol)]
    from_id = _int(request, "fromId") if history else None
    if from_id is None:
        chosen = rows[-limit:]
    else:
        ids = [r["id"] for r in rows]
        start = bisect.bisect_left(ids, from_id)
        chosen = rows[start : start + limit]
    return [{**r, "quoteQty": _fmt(Decimal(r["price"]) * Decimal(r["qty"]))} for r in chosen]


def _agg_trades(request: web.Request, server: ReplayServer, market: BinanceMarket) -> Any:
    symbol = _symbol(request, server, market)
    limit = _limit(request, 500, 1000)
    rows = server.recording.data[market].agg_trades.get(symbol, [])
    from_id, start, end = _int(request, "fromId"), _int(request, "startTime"), \
        _int(request, "endTime")
    if from_id is not None:
        index = bisect.bisect_left([r["a"] for r in rows], from_id)
        return rows[index : index + limit]
    if start is not None or end is not None:
        if start is not None and end is not None and end - start > 3_600_000:
            raise BinanceError(400, -1127, "More than 1 hours between startTime and endTime.")
        low = start if start is not None else (end or 0) - 3_600_000
        high = end if end is not None else low + 3_600_000
        return [r for r in rows if low <= r["T"] <= high][:limit]
    return rows[-limit:]


def _interval_ms(interval: str) -> int:
    if interval == "1M":
        return 30 * 86_400_000  # close time only; the recordings hold no monthly klines
    return int(interval[:-1]) * _INTERVAL_MS[interval[-1]]


def _klines(request: web.Request, server: ReplayServer, market: BinanceMarket) -> Any:
    symbol = _symbol(request, server, market)
    interval = request.query.get("interval", "")
    if interval not in KLINE_INTERVALS:
        raise BinanceError(400, -1120, "Invalid interval.")
    limit = _limit(request, 500, 1000 if market is BinanceMarket.SPOT else 1500)
    start, end = _int(request, "startTime"), _int(request, "endTime")
    rows = server.recording.data[market].klines.get((symbol, interval), [])
    chosen = [r for r in rows if (start is None or r[0] >= start) and (end is None or r[0] <= end)]
    chosen = chosen[:limit] if start is not None else chosen[-limit:]
    step = _interval_ms(interval)
    extra = server.kline_extras(market, symbol, step)
    spot = market is BinanceMarket.SPOT
    out = []
    for open_ms, *ohlcv in chosen:
        values = [f"{Decimal(v):.8f}" if spot else v for v in ohlcv]
        quote, count, taker_base, taker_quote = extra.get(open_ms, ("0", 0, "0", "0"))
        out.append([open_ms, *values, open_ms + step - 1, quote, count, taker_base,
                    taker_quote, "0"])
    return out


async def rest_handler(request: web.Request) -> web.Response:
    server: ReplayServer = request.app[REPLAY_KEY]
    market = BinanceMarket.USDM if request.path.startswith("/fapi/") else BinanceMarket.SPOT
    endpoint = request.match_info["endpoint"]
    default = 100 if endpoint == "depth" and market is BinanceMarket.SPOT else 500
    raw_limit = request.query.get("limit", "")
    weight = request_weight(market, endpoint, int(raw_limit) if raw_limit.isdigit() else default)
    headers: dict[str, str] = {}
    try:
        rejection = server.faults.take_rejection()
        if rejection is not None:
            raise server.rejection_error(rejection, headers)
        status, retry_after = server.weights[market].charge(weight)
        if status != 200:
            headers["Retry-After"] = str(max(1, round(retry_after or 1)))
            raise server.limit_error(status)
        body = await _dispatch(request, server, market, endpoint)
        response = web.json_response(body, dumps=_dumps)
    except BinanceError as error:
        response = web.json_response({"code": error.code, "msg": error.msg},
                                     status=error.status, dumps=_dumps)
    response.headers["X-MBX-USED-WEIGHT-1M"] = str(server.weights[market].used)
    response.headers.update(headers)
    server.rest_log.append((request.path_qs, response.status))
    return response


def _dumps(body: Any) -> str:
    return orjson.dumps(body).decode()


async def _dispatch(request: web.Request, server: ReplayServer, market: BinanceMarket,
                    endpoint: str) -> Any:
    if endpoint == "ping":
        return {}
    if endpoint == "time":
        return {"serverTime": server.trading.now_ms()}  # the clock signed calls check
    if endpoint == "exchangeInfo":
        return server.exchange_info(market, request.query)
    if endpoint == "depth":
        return await _depth(request, server, market)
    if endpoint == "klines":
        return _klines(request, server, market)
    if endpoint == "aggTrades":
        return _agg_trades(request, server, market)
    if endpoint in ("trades", "historicalTrades"):
        return _trades(request, server, market, endpoint == "historicalTrades")
    raise BinanceError(404, -1000, f"Unknown endpoint {endpoint}.")

