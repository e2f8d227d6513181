"""Binance REST market data over httpx: exchangeInfo, depth, klines, trades, time.

Errors are translated once, by what the caller must do next (kernel/errors.py):
- 429 (rate limit) and 5xx and transport failures: `VenueRetry`. A GET is idempotent, so
  the client itself retries them `max_retries` times, honouring `Retry-After` on 429.
- 418 (IP banned after ignoring 429s): `VenueRetry` at once and no retry; the ban time from
  `Retry-After` is remembered and every call before it ends fails without touching the
  network, because each request during a ban lengthens it.
- other 4xx with a Binance `{"code", "msg"}` body: `VenueRejected`, `venue_code` = code.
Before each request the weight tracker may make the call wait for the next weight window.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.errors import VenueError, VenueRejected, VenueRetry
from argosy.venues.binance.instruments import ExchangeInfo, parse_exchange_info
from argosy.venues.binance.markets import BinanceMarket, spec
from argosy.venues.binance.payloads import DepthSnapshot, MalformedMessage, parse_depth_snapshot
from argosy.venues.binance.weights import WeightTracker, request_weight

__all__ = ["BinanceRestClient", "RestSettings", "error_for"]

Sleep = Callable[[float], Awaitable[None]]
_FUTURES_DEPTHS = (5, 10, 20, 50, 100, 500, 1000)


@dataclass(frozen=True, slots=True)
class RestSettings:
    timeout_s: float = 10.0
    max_retries: int = 3
    retry_backoff_s: float = 0.5  # doubled per attempt for 5xx and transport errors
    weight_headroom: float = 0.9  # keep 10 % of the budget for other processes on the IP
    weight_window_s: float = 60.0  # Binance's window; tests shrink it


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_for(status: int, body: bytes, retry_after: float | None = None) -> VenueError:
    """The kernel error for a non-2xx Binance answer."""
    code: object = None
    message = body[:200].decode("utf-8", "replace")
    try:
        payload = orjson.loads(body)
        if isinstance(payload, dict):
            code, message = payload.get("code"), str(payload.get("msg", message))
    except orjson.JSONDecodeError:
        pass
    venue_code = str(code) if code is not None else str(status)
    details = {"status": status, "retry_after": retry_after}
    if status in (429, 418) or status >= 500:
        return VenueRetry(
            f"binance {status}: {message}", venue="binance", venue_code=venue_code,
            details=details,
        )
    return VenueRejected(
        f"binance {status}: {message}", venue="binance", venue_code=venue_code, details=details
    )


class BinanceRestClient:
    """One market's public REST API; `base_url` may point at the replay server."""

    def __init__(
        self,
        market: BinanceMarket,
        *,
        base_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        settings: RestSettings | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.market = BinanceMarket(market)
        self._spec = spec(self.market)
        self.settings = settings or RestSettings()
        self._base = (base_url or self._spec.rest_url).rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=self.settings.timeout_s)
        self._owns_http = http is None
        self._clock: Clock = clock or LiveClock()
        self._sleep = sleep
        self.weight = WeightTracker(
            self._spec.weight_limit_per_minute,
            self.settings.weight_window_s,
            self.settings.weight_headroom,
        )
        self.requests = 0  # requests that reached the network

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def get(self, endpoint: str, params: dict[str, Any], weight: int) -> Any:
        """GET `<prefix>/<endpoint>`; the JSON body, or a kernel VenueError."""
        url = f"{self._base}{self._spec.rest_prefix}/{endpoint}"
        last: VenueError | None = None
        for attempt in range(self.settings.max_retries + 1):
            now = self._clock.now_ns()
            if self.weight.banned(now):
                raise VenueRetry(
                    "binance IP ban in force; not sending",
                    venue="binance",
                    venue_code="418",
                    details={"retry_after": self.weight.wait_s(weight, now)},
                )
            wait = self.weight.wait_s(weight, now)
            if wait > 0:
                await self._sleep(wait)
            try:
                self.requests += 1
                response = await self._http.get(url, params=params)
            except httpx.HTTPError as exc:
                last = VenueRetry(f"binance unreachable: {exc!r}", venue="binance")
                await self._sleep(self.settings.retry_backoff_s * 2**attempt)
                continue
            self.weight.observe(response.headers, self._clock.now_ns())
            if response.status_code == 200:
                return orjson.loads(response.content)
            retry_after = _retry_after(response)
            failure = error_for(response.status_code, response.content, retry_after)
            if response.status_code == 418:
                self.weight.ban(retry_after or 120.0, self._clock.now_ns())
                raise failure
            if not isinstance(failure, VenueRetry):
                raise failure
            last = failure
            if attempt < self.settings.max_retries:
                backoff = self.settings.retry_backoff_s * 2**attempt
                honour = retry_after is not None and response.status_code == 429
                await self._sleep(retry_after if honour and retry_after is not None else backoff)
        assert last is not None
        raise last

    # --- endpoints ----------------------------------------------------------------------

    async def ping(self) -> None:
        await self.get("ping", {}, 1)

    async def server_time_ms(self) -> int:
        body = await self.get("time", {}, 1)
        return int(body["serverTime"])

    async def exchange_info(self, symbols: list[str] | None = None) -> ExchangeInfo:
        params: dict[str, Any] = {}
        if symbols and self.market is BinanceMarket.SPOT:
            params["symbols"] = orjson.dumps(symbols).decode()
        body = await self.get("exchangeInfo", params, request_weight(self.market, "exchangeInfo"))
        info = parse_exchange_info(body, self.market)
        if info.weight_limit_per_minute:
            self.weight.limit = info.weight_limit_per_minute
        return info

    async def depth(self, symbol: str, limit: int = 1000) -> DepthSnapshot:
        if self.market is BinanceMarket.USDM and limit not in _FUTURES_DEPTHS:
            limit = min((d for d in _FUTURES_DEPTHS if d >= limit), default=1000)
        body = await self.get(
            "depth", {"symbol": symbol, "limit": limit}, request_weight(self.market, "depth", limit)
        )
        try:
            return parse_depth_snapshot(body)
        except MalformedMessage as error:
            raise VenueRetry(f"malformed depth snapshot: {error}", venue="binance") from None

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[list[Any]]:
        params: dict[str, Any] = {"symbol": symbol, "interval": interval, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        rows: list[list[Any]] = await self.get(
            "klines", params, request_weight(self.market, "klines", limit)
        )
        return rows

    async def iter_klines(
        self, symbol: str, interval: str, start_ms: int, end_ms: int, page: int = 1000
    ) -> AsyncIterator[list[Any]]:
        """Every kline opening in [start_ms, end_ms], oldest first, page by page."""
        cursor = start_ms
        while cursor <= end_ms:
            rows = await self.klines(symbol, interval, start_ms=cursor, end_ms=end_ms, limit=page)
            for row in rows:
                yield row
            if len(rows) < page:
                return
            cursor = int(rows[-1][0]) + 1

    async def agg_trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"symbol": symbol, "limit": limit}
        if from_id is not None:
            params["fromId"] = from_id
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        rows: list[dict[str, Any]] = await self.get(
            "aggTrades", params, request_weight(self.market, "aggTrades", limit)
        )
        return rows

    async def iter_agg_trades(
        self, symbol: str, from_id: int, to_id: int | None = None, page: int = 1000
    ) -> AsyncIterator[dict[str, Any]]:
        """aggTrades with ids from_id..to_id (inclusive; open-ended if None), in id order."""
        cursor = from_id
        while to_id is None or cursor <= to_id:
            rows = await self.agg_trades(symbol, from_id=cursor, limit=page)
            for row in rows:
                if to_id is not None and int(row["a"]) > to_id:
                    return
                yield row
            if len(rows) < page:
                return
            cursor = int(rows[-1]["a"]) + 1

    async def historical_trades(
        self, symbol: str, *, from_id: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"symbol": symbol, "limit": limit}
        if from_id is not None:
            params["fromId"] = from_id
        rows: list[dict[str, Any]] = await self.get(
            "historicalTrades", params, request_weight(self.market, "historicalTrades", limit)
        )
        return rows

    async def iter_historical_trades(
        self, symbol: str, from_id: int, to_id: int | None = None, page: int = 1000
    ) -> AsyncIterator[dict[str, Any]]:
        """Trades with ids from_id..to_id (inclusive), in id order."""
        cursor = from_id
        while to_id is None or cursor <= to_id:
            rows = await self.historical_trades(symbol, from_id=cursor, limit=page)
            for row in rows:
                if to_id is not None and int(row["id"]) > to_id:
                    return
                yield row
            if len(rows) < page:
                return
            cursor = int(rows[-1]["id"]) + 1
