"""Signed Binance REST calls, with the budget kept and every failure put in its group.

What the caller must do next decides the error class (kernel/errors.py), following
Binance's own "error codes" and "HTTP return codes" pages:
- nothing happened, try again: 429 / 418 / -1003 / -1015 (`details["retry_after"]`, and no
  call leaves before that time: each call during a ban would lengthen it), 403 (the WAF
  refused it), a connection that could not be opened, and any failure of a read-only
  call -> `VenueRetry`;
- outcome unknown: a timeout or broken connection after a mutating call was sent, HTTP 5xx
  on it ("the execution status is UNKNOWN and could have been a success"), -1006, -1007
  and 409 (a cancel-replace that half succeeded) -> `VenueReconcile`;
- refused: any other 4xx with a `{"code", "msg"}` body (-2010, -1013, -1111, -2011,
  -1022, -2015...) -> `VenueRejected` with `venue_code` = the Binance code.
A -1021 (timestamp outside recvWindow) means the request was not processed; the clock
offset is measured again and the call is sent once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog

from argosy.kernel.clock import NS_PER_SECOND
from argosy.kernel.errors import (
    ConfigurationError,
    VenueError,
    VenueReconcile,
    VenueRejected,
    VenueRetry,
)
from argosy.venues.binance._signing import Credentials, ServerClock, sign, signed_query
from argosy.venues.binance.markets import BinanceMarket, spec
from argosy.venues.binance.weights import (
    ORDER_LIMITS,
    OrderCountTracker,
    OrderLimit,
    SlidingBudget,
    WeightTracker,
    signed_weight,
)

__all__ = ["SignedClient", "SignedSettings"]

log = structlog.get_logger("argosy.venues.binance.signed")
Sleep = Callable[[float], Awaitable[None]]
_UNKNOWN_CODES = frozenset({-1006, -1007})
_LIMIT_CODES = frozenset({-1003, -1015})


@dataclass(frozen=True, slots=True)
class SignedSettings:
    recv_window_ms: int = 5000  # Binance's default; the docs advise 5000 or less
    timestamp_lag_ms: int = 200  # stamp a little early: 1000 ms ahead is refused
    time_sync_interval_s: float = 300.0
    timeout_s: float = 10.0
    headroom: float = 0.9  # share of each limit this client lets itself use
    window_guard_ms: int = 250  # longest send-to-count delay the budgets allow for
    max_budget_wait_s: float = 15.0  # longer than this: VenueRetry instead of waiting
    read_retries: int = 2  # extra tries of a read-only call on 5xx / transport errors
    retry_backoff_s: float = 0.25
    weight_limit: int | None = None  # default: the market's REQUEST_WEIGHT per minute
    weight_window_s: float = 60.0  # Binance's windows; tests shrink them
    order_limits: tuple[OrderLimit, ...] | None = None  # default: the market's

    def __post_init__(self) -> None:
        if not 0 < self.recv_window_ms <= 5000:
            raise ConfigurationError("recv_window_ms", "must be 1..5000 (milliseconds)")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except ValueError:
        return None


def _body(response: httpx.Response) -> tuple[int | None, str]:
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None, response.text[:200]
    if isinstance(payload, dict) and "code" in payload:
        return int(payload["code"]), str(payload.get("msg", ""))
    return None, response.text[:200]


class SignedClient:
    """One market's signed REST API for one API key."""

    def __init__(
        self,
        market: BinanceMarket,
        credentials: Credentials,
        base_url: str,
        clock: ServerClock,
        *,
        settings: SignedSettings | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.market = market
        self.settings = s = settings or SignedSettings()
        self._credentials = credentials
        self._base = base_url.rstrip("/")
        self.clock = clock
        self._http = http or httpx.AsyncClient(timeout=s.timeout_s)
        self._owns_http = http is None
        self._sleep = sleep
        limit = s.weight_limit or spec(market).weight_limit_per_minute
        guard_s = s.window_guard_ms / 1000
        self.weight = WeightTracker(limit, s.weight_window_s, s.headroom)  # server's count
        self.weight_budget = SlidingBudget(limit, s.weight_window_s, s.headroom, guard_s)
        self.orders = OrderCountTracker(s.order_limits or ORDER_LIMITS[market], s.headroom,
                                        guard_s)
        self._budget_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()
        self.sent = 0  # requests that reached the network
        self.time_syncs = 0

    @property
    def prefix(self) -> str:
        return spec(self.market).rest_prefix

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # --- time ---------------------------------------------------------------------------

    async def sync_time(self, force: bool = True) -> None:
        """Measure the offset to the server's clock (`GET /time`, weight 1).

        `force=False` (calls that found the offset stale): calls waiting together measure
        once, not once each."""
        async with self._sync_lock:
            if not force and not self.clock.needs_sync():
                return
            await self._take_budget(1, order=False)
            sent = self.clock.local_ns()
            try:
                self.sent += 1
                response = await self._http.get(f"{self._base}{self.prefix}/time")
            except httpx.HTTPError as exc:
                raise VenueRetry(f"binance time sync failed: {exc!r}", venue="binance") from None
            received = self.clock.local_ns()
            self._observe(response)
            if response.status_code != 200:
                raise self._error(response, mutating=False)
            self.clock.update(int(orjson.loads(response.content)["serverTime"]), sent, received)
            self.time_syncs += 1
            log.debug("binance.time_synced", market=self.market.value,
                      offset_ms=self.clock.offset_ms, rtt_ms=self.clock.rtt_ms)

    async def ws_api_params(self, params: dict[str, str]) -> dict[str, str]:
        """`params` with apiKey, recvWindow, timestamp and the WebSocket API signature
        (HMAC of every param but the signature, sorted by name, as a query string)."""
        if self.clock.needs_sync():
            await self.sync_time(force=False)
        signed = {**params, "apiKey": self._credentials.api_key,
                  "recvWindow": str(self.settings.recv_window_ms),
                  "timestamp": str(self.clock.now_ms() - self.settings.timestamp_lag_ms)}
        payload = "&".join(f"{k}={signed[k]}" for k in sorted(signed))
        signed["signature"] = sign(self._credentials.api_secret, payload)
        return signed

    # --- budget -------------------------------------------------------------------------

    def _budget_now(self) -> int:
        """The clock the budgets count in: the exchange's, as measured (its windows)."""
        return self.clock.now_ns()

    async def _take_budget(self, weight: int, order: bool) -> None:
        async with self._budget_lock:  # FIFO: one caller reserves at a time
            while True:
                now = self._budget_now()
                wait = max(self.weight.wait_s(weight, now),
                           self.weight_budget.wait_s(weight, now))
                if order:
                    wait = max(wait, self.orders.wait_s(now))
                if wait <= 0:
                    break
                if self.weight.banned(now) or wait > self.settings.max_budget_wait_s:
                    raise VenueRetry(
                        f"binance {self.market.value}: no request budget for {wait:.1f} s",
                        venue="binance", venue_code="-1003", details={"retry_after": wait},
                    )
                await self._sleep(wait)
            self.weight_budget.charge(weight, now)
            if order:
                self.orders.charge(now)

    def _observe(self, response: httpx.Response) -> None:
        now = self._budget_now()
        self.weight.observe(response.headers, now)
        self.orders.observe(response.headers, now)

    # --- calls --------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        weight: int | None = None,
        order: bool = False,
        mutating: bool = False,
        signed: bool = True,
    ) -> Any:
        """`method path` (e.g. `/api/v3/order`) signed; the JSON body or a VenueError."""
        endpoint = path.rsplit("/", 1)[-1]
        has_symbol = any(k == "symbol" for k, _ in params)
        cost = weight if weight is not None else signed_weight(
            self.market, method, endpoint, has_symbol)
        attempts = 1 + (0 if mutating else self.settings.read_retries)
        resynced = False
        attempt = 0
        while True:
            if signed and self.clock.needs_sync():
                await self.sync_time(force=False)
            try:
                return await self._send(method, path, params, cost, order, mutating, signed)
            except _ClockRejected:
                if resynced:
                    raise VenueRetry("binance -1021 after a fresh time sync", venue="binance",
                                     venue_code="-1021") from None
                resynced = True
                self.clock.invalidate()
            except VenueRetry as error:
                attempt += 1
                retry_after = error.details.get("retry_after")
                if attempt >= attempts or retry_after is not None:
                    raise
                await self._sleep(self.settings.retry_backoff_s * 2 ** (attempt - 1))

    async def _send(self, method: str, path: str, params: Sequence[tuple[str, str]],
                    weight: int, order: bool, mutating: bool, signed: bool) -> Any:
        await self._take_budget(weight, order)
        return await self._exchange(method, path, params, mutating, signed)

    async def _exchange(self, method: str, path: str, params: Sequence[tuple[str, str]],
                        mutating: bool, signed: bool) -> Any:
        url = f"{self._base}{path}"
        if signed:
            stamped = [*params, ("recvWindow", str(self.settings.recv_window_ms)),
                       ("timestamp", str(self.clock.now_ms() - self.settings.timestamp_lag_ms))]
            url = f"{url}?{signed_query(stamped, self._credentials.api_secret)}"
        elif params:
            url = f"{url}?{httpx.QueryParams(list(params))}"
        headers = {"X-MBX-APIKEY": self._credentials.api_key}
        try:
            self.sent += 1
            response = await self._http.request(method, url, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise VenueRetry(f"binance unreachable: {exc!r}", venue="binance") from None
        except httpx.HTTPError as exc:
            if mutating:
                raise VenueReconcile(f"binance {method} {path}: no answer ({exc!r}); the "
                                     "outcome is unknown", venue="binance") from None
            raise VenueRetry(f"binance {method} {path}: {exc!r}", venue="binance") from None
        self._observe(response)
        if response.status_code == 200:
            return orjson.loads(response.content)
        code, _ = _body(response)
        if code == -1021:
            raise _ClockRejected
        raise self._error(response, mutating)

    def _error(self, response: httpx.Response, mutating: bool) -> VenueError:
        status = response.status_code
        code, message = _body(response)
        venue_code = str(code) if code is not None else str(status)
        text = f"binance {status} {venue_code}: {message}"
        details: dict[str, Any] = {"status": status}
        if status in (418, 429) or code in _LIMIT_CODES:
            retry_after = _retry_after(response) or (120.0 if status == 418 else 1.0)
            details["retry_after"] = retry_after
            now = self._budget_now()
            if code == -1015:  # the account's order rate: only new orders must wait
                for tracker in self.orders.trackers.values():
                    tracker.ban(retry_after, now)
            else:
                self.weight.ban(retry_after, now)
            log.warning("binance.rate_limited", status=status, code=code,
                        retry_after=retry_after)
            return VenueRetry(text, venue="binance", venue_code=venue_code, details=details)
        if status == 403:  # the WAF refused the request: it never reached the engine
            return VenueRetry(text, venue="binance", venue_code=venue_code, details=details)
        if status >= 500 or code in _UNKNOWN_CODES or status == 409:  # 409: half done
            if mutating:
                return VenueReconcile(text, venue="binance", venue_code=venue_code,
                                      details=details)
            return VenueRetry(text, venue="binance", venue_code=venue_code, details=details)
        return VenueRejected(text, venue="binance", venue_code=venue_code, details=details)

    def banned_for_s(self) -> float:
        now = self._budget_now()
        return max(0, self.weight.banned_until_ns - now) / NS_PER_SECOND


class _ClockRejected(Exception):
    """-1021: the request was refused for its timestamp and did not run."""
