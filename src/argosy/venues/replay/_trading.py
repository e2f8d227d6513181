"""The fake exchange's trading side: Binance's signed account and order endpoints.

Requests are checked the way Binance checks them, in the same order and with the same
codes: the `X-MBX-APIKEY` header (missing or malformed -2014, unknown -2015, both HTTP
401); the HMAC-SHA256 `signature` over `totalParams` (the raw query string followed by
the raw body, the signature parameter left out; wrong -1022); `timestamp` against the
server clock: refused with -1021 when `timestamp >= serverTime + 1000` or
`serverTime - timestamp > recvWindow` (recvWindow default 5000, at most 60000). Every call
is charged its documented weight on the IP (shared with the market data endpoints) and
every new order counts against the account's ORDERS limits (`X-MBX-ORDER-COUNT-10S`...,
-1015 when over). Faults from `TradingFaults` apply after the checks.

The server clock is the replay clock (`clock="replay"`, what `/time` serves) or the wall
clock (`clock="wall"`, for clients that run long against a finished replay), plus the
injected skew either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.weights import ORDER_LIMITS, OrderLimit, signed_weight
from argosy.venues.book import OrderBook
from argosy.venues.replay._accounts import ApiKey, TradingAccount
from argosy.venues.replay._matching import FakeFill, FakeOrder, Matcher
from argosy.venues.replay._rest import BinanceError
from argosy.venues.replay._trading_views import account_event, dispatch, order_event
from argosy.venues.replay._user_stream import KEY_PATTERN, ListenKeys, user_ws_handler
from argosy.venues.replay._ws import REPLAY_KEY
from argosy.venues.replay._ws_api import ws_api_handler
from argosy.venues.replay.faults import TradingFault, TradingFaults

if TYPE_CHECKING:
    from argosy.venues.replay.recordings import Frame
    from argosy.venues.replay.server import ReplayServer

__all__ = ["TradingDesk", "TradingSettings", "mount_trading"]

# (method, path) -> (market, signed); listenKey calls need the API key only.
ROUTES: dict[tuple[str, str], tuple[BinanceMarket, bool]] = {
    **{(m, "/api/v3/order"): (BinanceMarket.SPOT, True) for m in ("GET", "POST", "DELETE")},
    ("GET", "/api/v3/openOrders"): (BinanceMarket.SPOT, True),
    ("DELETE", "/api/v3/openOrders"): (BinanceMarket.SPOT, True),
    ("GET", "/api/v3/myTrades"): (BinanceMarket.SPOT, True),
    ("GET", "/api/v3/account"): (BinanceMarket.SPOT, True),
    **{(m, "/api/v3/userDataStream"): (BinanceMarket.SPOT, False)
       for m in ("POST", "PUT", "DELETE")},
    **{(m, "/fapi/v1/order"): (BinanceMarket.USDM, True) for m in ("GET", "POST", "DELETE")},
    ("GET", "/fapi/v1/openOrders"): (BinanceMarket.USDM, True),
    ("DELETE", "/fapi/v1/allOpenOrders"): (BinanceMarket.USDM, True),
    ("GET", "/fapi/v1/userTrades"): (BinanceMarket.USDM, True),
    ("POST", "/fapi/v1/leverage"): (BinanceMarket.USDM, True),
    ("GET", "/fapi/v2/balance"): (BinanceMarket.USDM, True),
    ("GET", "/fapi/v2/positionRisk"): (BinanceMarket.USDM, True),
    ("GET", "/fapi/v2/account"): (BinanceMarket.USDM, True),
    **{(m, "/fapi/v1/listenKey"): (BinanceMarket.USDM, False) for m in ("POST", "PUT", "DELETE")},
}


@dataclass(frozen=True, slots=True)
class TradingSettings:
    clock: Literal["replay", "wall"] = "replay"
    # (maker, taker) commission rates: Binance's regular-user rates
    fees: Mapping[BinanceMarket, tuple[Decimal, Decimal]] = field(default_factory=lambda: {
        BinanceMarket.SPOT: (Decimal("0.001"), Decimal("0.001")),
        BinanceMarket.USDM: (Decimal("0.0002"), Decimal("0.0005")),
    })
    order_limits: Mapping[BinanceMarket, tuple[OrderLimit, ...]] = field(
        default_factory=lambda: dict(ORDER_LIMITS))
    listen_key_ttl_s: float = 3600.0


class TradingDesk:
    def __init__(self, server: ReplayServer, settings: TradingSettings | None = None) -> None:
        self.server = server
        self.settings = settings or TradingSettings()
        self.faults = TradingFaults()
        self.keys: dict[str, ApiKey] = {}
        self.accounts: dict[str, TradingAccount] = {}
        self.orders: dict[tuple[BinanceMarket, str, int], FakeOrder] = {}
        self.fills: dict[tuple[BinanceMarket, str, str], list[FakeFill]] = defaultdict(list)
        self.listen_keys = ListenKeys(self.settings.listen_key_ttl_s)
        self.stats: Counter[str] = Counter()
        self._order_counts: dict[tuple[str, BinanceMarket, str], tuple[int, int]] = {}
        self._next_order_id = 4_000_000_000
        self.matcher = Matcher(self._book, self.account, dict(self.settings.fees),
                               self.now_ms, self._on_order_event)

    def configure(self, settings: TradingSettings) -> None:
        self.settings = settings
        self.listen_keys.ttl_s = settings.listen_key_ttl_s
        self.matcher._fees = dict(settings.fees)

    # --- accounts -----------------------------------------------------------------------

    def add_account(
        self, name: str, api_key: str, api_secret: str, *,
        spot: Mapping[str, str | Decimal] | None = None,
        futures: Mapping[str, str | Decimal] | None = None,
    ) -> TradingAccount:
        """An account with one API key and its starting balances (spot and USD-M)."""
        account = self.accounts.setdefault(name, TradingAccount(name))
        self.keys[api_key] = ApiKey(api_key, api_secret, name)
        for asset, amount in (spot or {}).items():
            account.spot[asset].free += Decimal(amount)
        for asset, amount in (futures or {}).items():
            account.wallet[asset] += Decimal(amount)
        return account

    def account(self, name: str) -> TradingAccount:
        return self.accounts[name]

    def api_keys_of(self, account: str) -> set[str]:
        return {k for k, v in self.keys.items() if v.account == account}

    # --- time and the tape --------------------------------------------------------------

    def now_ms(self) -> int:
        base = time.time_ns() if self.settings.clock == "wall" else self.server.player.now_ns
        return base // 1_000_000 + self.faults.skew_ms

    def _book(self, market: BinanceMarket, symbol: str) -> OrderBook | None:
        sync = self.server.player.books.get((market, symbol))
        return sync.book if sync is not None and sync.state == "synced" else None

    def on_frame(self, frame: Frame) -> None:
        """Called for every replayed frame: trades move resting and stop orders."""
        if frame.event == "trade":
            data = frame.data
            self.matcher.on_trade(frame.market, frame.symbol, Decimal(data["p"]),
                                  Decimal(data["q"]))

    def new_order_id(self) -> int:
        self._next_order_id += 1
        return self._next_order_id

    # --- events -------------------------------------------------------------------------

    def _on_order_event(self, order: FakeOrder, kind: str, fill: FakeFill | None) -> None:
        self.orders[(order.market, order.symbol, order.order_id)] = order
        if fill is not None:
            self.fills[(order.market, order.account, order.symbol)].append(fill)
        keys = self.api_keys_of(order.account)
        now = self.now_ms()
        self.listen_keys.publish(keys, order.market, order_event(order, kind, fill, now))
        if fill is not None or kind in ("NEW", "CANCELED", "EXPIRED"):
            account = self.accounts[order.account]
            self.listen_keys.publish(keys, order.market,
                                     account_event(account, order, now))

    # --- faults on command (POST /_replay/trading-<fault>) --------------------------------

    def control(self, fault: str, q: Mapping[str, str]) -> Any:
        """`fail` (status, code, delay, processed, path, method, count), `hide` (seconds),
        `skew` (ms), `expire-listen-keys`; the answer says what was set."""
        if fault == "fail":
            code = q.get("code")
            injected = TradingFault(
                status=int(q.get("status", "503")), code=int(code) if code else None,
                delay_s=float(q.get("delay", "0")),
                processed=q.get("processed", "true") == "true",
                path=q.get("path"), method=q.get("method"))
            self.faults.add(injected, int(q.get("count", "1")))
            return int(q.get("count", "1"))
        if fault == "hide":
            self.faults.hide_new_orders_s = float(q.get("seconds", "0"))
            return self.faults.hide_new_orders_s
        if fault == "skew":
            self.faults.skew_ms = int(q.get("ms", "0"))
            return self.faults.skew_ms
        if fault == "expire-listen-keys":
            keys = list(self.listen_keys.keys)
            for key in keys:
                self.listen_keys.expire(key)
            return len(keys)
        raise BinanceError(404, -1000, f"unknown trading fault {fault!r}")

    # --- limits -------------------------------------------------------------------------

    def count_order(self, api_key: str, market: BinanceMarket, headers: dict[str, str]
                    ) -> None:
        """Count one new order against every ORDERS limit; -1015 when one is full."""
        now = self.now_ms() / 1000
        over: OrderLimit | None = None
        counts: dict[str, int] = {}
        for limit in self.settings.order_limits[market]:
            window = int(now // limit.window_s)
            start, used = self._order_counts.get((api_key, market, limit.header), (window, 0))
            used = used if start == window else 0
            if used + 1 > limit.limit and over is None:
                over = limit
            counts[limit.header] = used + 1
            self._order_counts[(api_key, market, limit.header)] = (window, used + 1)
        for name, value in counts.items():
            headers[name.upper()] = str(value)
        if over is not None:
            self.stats["-1015"] += 1
            seconds = int(over.window_s)
            raise BinanceError(429, -1015, f"Too many new orders; current limit is "
                                           f"{over.limit} orders per {seconds} SECOND.")

    # --- request checks -----------------------------------------------------------------

    def authenticate(self, request: web.Request, raw_query: str, raw_body: str,
                     params: Mapping[str, str], signed: bool) -> ApiKey:
        api_key = request.headers.get("X-MBX-APIKEY", "")
        if not api_key or len(api_key) > 128 or not api_key.isprintable():
            self.stats["-2014"] += 1
            raise BinanceError(401, -2014, "API-key format invalid.")
        key = self.keys.get(api_key)
        if key is None:
            self.stats["-2015"] += 1
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if not signed:
            return key
        signature = params.get("signature", "")
        total = _without_signature(raw_query) + _without_signature(raw_body)
        expected = hmac.new(key.secret.encode(), total.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            self.stats["-1022"] += 1
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        self._check_timestamp(params)
        return key

    def _check_timestamp(self, params: Mapping[str, str]) -> None:
        raw, window_raw = params.get("timestamp", ""), params.get("recvWindow", "5000")
        if not raw.isdigit():
            raise BinanceError(400, -1102, "Mandatory parameter 'timestamp' was not sent, was "
                                           "empty/null, or malformed.")
        if not window_raw.isdigit() or int(window_raw) > 60_000:
            raise BinanceError(400, -1131, "recvWindow must be less than 60000")
        timestamp, window, server = int(raw), int(window_raw), self.now_ms()
        if timestamp >= server + 1000:
            self.stats["-1021"] += 1
            raise BinanceError(400, -1021, "Timestamp for this request was 1000ms ahead of "
                                           "the server's time.")
        if server - timestamp > window:
            self.stats["-1021"] += 1
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the "
                                           "recvWindow.")


def _without_signature(raw: str) -> str:
    if "signature=" not in raw:
        return raw
    return "&".join(p for p in raw.split("&") if not p.startswith("signature="))


async def trading_handler(request: web.Request) -> web.Response:
    server: ReplayServer = request.app[REPLAY_KEY]
    desk = server.trading
    path, method = request.path, request.method
    market, signed = ROUTES[(method, path)]
    raw_query = request.rel_url.raw_query_string
    raw_body = await request.text() if request.can_read_body else ""
    params = dict(parse_qsl(raw_query, keep_blank_values=True))
    params.update(parse_qsl(raw_body, keep_blank_values=True))
    headers: dict[str, str] = {}
    endpoint = path.rsplit("/", 1)[-1]
    weight = signed_weight(market, method, endpoint, "symbol" in params)
    fault: TradingFault | None = None
    try:
        rejection = server.faults.take_rejection()
        if rejection is not None:
            raise server.rejection_error(rejection, headers)
        status, retry_after = server.weights[market].charge(weight)
        if status != 200:
            headers["Retry-After"] = str(max(1, round(retry_after or 1)))
            raise server.limit_error(status)
        key = desk.authenticate(request, raw_query, raw_body, params, signed)
        if method == "POST" and endpoint == "order":
            desk.count_order(key.key, market, headers)
        fault = desk.faults.take(method, path)
        if fault is not None and not fault.processed:
            await _apply(fault)
        body: Any = dispatch(desk, key, market, method, endpoint, params)
        if fault is not None and fault.processed:
            await _apply(fault)
        response = web.json_response(body, dumps=_dumps)
    except _BareStatus as bare:  # a gateway's error page, not Binance's JSON
        response = web.Response(status=bare.status, text=f"<html>{bare.status}</html>",
                                content_type="text/html")
    except BinanceError as error:
        response = web.json_response({"code": error.code, "msg": error.msg},
                                     status=error.status, dumps=_dumps)
    response.headers["X-MBX-USED-WEIGHT-1M"] = str(server.weights[market].used)
    response.headers.update(headers)
    server.rest_log.append((f"{method} {request.path_qs}", response.status))
    desk.stats[f"{method} {endpoint} {response.status}"] += 1
    return response


async def _apply(fault: TradingFault) -> None:
    if fault.delay_s > 0:
        await asyncio.sleep(fault.delay_s)
    if fault.status != 200 and fault.code is None:
        raise _BareStatus(fault.status)
    if fault.status != 200:
        raise BinanceError(fault.status, fault.code or -1001,
                           TradingFaults.message(fault.code, fault.status))


class _BareStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _dumps(body: Any) -> str:
    return orjson.dumps(body).decode()


def mount_trading(app: web.Application) -> None:
    """Add the trading routes; call before the market-data catch-all routes."""
    for (method, path) in ROUTES:
        app.router.add_route(method, path, trading_handler)
    app.router.add_get("/ws/{key:" + KEY_PATTERN + "}", user_ws_handler)
    app.router.add_get("/fstream/ws/{key:" + KEY_PATTERN + "}", user_ws_handler)
    app.router.add_get("/ws-api/v3", ws_api_handler)
