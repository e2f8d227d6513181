"""A local Binance: recorded market data served over Binance's own protocol.

`ReplayServer` binds 127.0.0.1 on a free port and serves, on one port,
- spot: WebSocket `/stream?streams=...` and `/ws/<stream>`, REST `/api/v3/...`;
- USD-M: WebSocket `/fstream/stream?...` and `/fstream/ws/...`, REST `/fapi/v1/...`;
so a connector needs only its base URLs changed: REST `http://127.0.0.1:<port>`, WS
`ws://127.0.0.1:<port>` (spot) or `ws://127.0.0.1:<port>/fstream` (USD-M).

It is the exchange the tests run against (a fake that stands in for nothing: the data is
real, the protocol is Binance's), and the offline venue of `argosy replay`. Faults on
command, from Python or `POST /_replay/<fault>`: drop every connection, stall them (no
more frames, sockets left open), withhold N depth frames, send N frames twice, answer the
next REST calls with 429/418/5xx. `GET /_replay/status` reports the replay clock, the
connections and what was injected.

Its trading side (`self.trading`, see _trading.py) serves Binance's signed account, order
and user-data-stream endpoints for accounts added with `trading.add_account`, matching
orders against the replayed books and trades; its faults are `POST /_replay/trading-<f>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

from argosy.venues.binance.markets import BinanceMarket, spec
from argosy.venues.replay._rest import BinanceError, WeightBook, rest_handler
from argosy.venues.replay._trading import TradingDesk, mount_trading
from argosy.venues.replay._ws import REPLAY_KEY, ReplayConnection, RouteKey, ws_handler
from argosy.venues.replay.exchange_info import build_exchange_info
from argosy.venues.replay.faults import Faults, Rejection
from argosy.venues.replay.recordings import Frame, Recording
from argosy.venues.replay.timeline import Player

__all__ = ["ReplayServer", "ReplaySettings"]

_Extra = tuple[str, int, str, str]  # quote volume, trades, taker base, taker quote


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    speed: float | None = 1.0  # None or 0: as fast as clients read
    loop: bool = False
    start: Literal["first_client", "now", "manual"] = "first_client"
    max_gap_s: float = 5.0
    weight_limit: int | None = None  # per market default: Binance's (6000 / 2400)
    weight_window_s: float = 60.0
    ban_after: int = 3  # calls over the limit in one window before a 418
    ban_s: float = 120.0
    ping_interval_s: float | None = None  # default: the market's (20 s / 180 s)
    pong_timeout_s: float | None = None  # default: the market's (60 s / 600 s)
    incoming_limit: int | None = None  # frames per second; default 5 / 10
    stream_limit: int | None = None  # streams per connection; default 1024 / 200
    queue_size: int = 10_000
    snapshot_wait_s: float = 30.0


class ReplayServer:
    def __init__(
        self,
        recording: Recording,
        settings: ReplaySettings | None = None,
        *,
        exchange_info: Mapping[BinanceMarket, dict[str, Any]] | None = None,
    ) -> None:
        self.recording = recording
        self.settings = s = settings or ReplaySettings()
        self.player = Player(recording, speed=s.speed, loop=s.loop, max_gap_s=s.max_gap_s)
        self.faults = Faults()
        self.trading = TradingDesk(self)  # signed endpoints: accounts, orders, user streams
        self.stats: Counter[str] = Counter()
        self.rest_log: list[tuple[str, int]] = []
        self.connections: list[ReplayConnection] = []
        self.closed_connections: list[ReplayConnection] = []
        self.weights = {
            m: WeightBook(s.weight_limit or spec(m).weight_limit_per_minute, s.weight_window_s,
                          s.ban_after, s.ban_s)
            for m in BinanceMarket
        }
        self._given_info = dict(exchange_info or {})
        # What each market lists, and which symbols have a timeline (computed once).
        self.symbols = {m: recording.symbols(m) for m in BinanceMarket}
        self.timeline_symbols = {m: recording.timeline_symbols(m) for m in BinanceMarket}
        self._subscribers: dict[RouteKey, set[ReplayConnection]] = defaultdict(set)
        self._extras: dict[tuple[BinanceMarket, str, int], dict[int, _Extra]] = {}
        self._runner: web.AppRunner | None = None
        self._play: asyncio.Task[None] | None = None
        self._ids = 0
        self.port = s.port

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> ReplayServer:
        app = web.Application()
        app[REPLAY_KEY] = self
        mount_trading(app)  # first: its exact paths win over the catch-all routes below
        for prefix in ("", "/fstream"):
            app.router.add_get(f"{prefix}/stream", ws_handler)
            app.router.add_get(f"{prefix}/ws", ws_handler)
            app.router.add_get(prefix + "/ws/{streams:.+}", ws_handler)
        app.router.add_get("/api/v3/{endpoint}", rest_handler)
        app.router.add_get("/fapi/v1/{endpoint}", rest_handler)
        app.router.add_post("/_replay/{fault}", self._control)
        app.router.add_get("/_replay/status", self._status)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, self.settings.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._play = asyncio.create_task(self.player.run(self._deliver), name="replay-player")
        if self.settings.start == "now":
            self.player.start()
        return self

    async def close(self) -> None:
        if self._play is not None:
            self._play.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._play
        await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> ReplayServer:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def rest_url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def ws_url(self, market: BinanceMarket) -> str:
        suffix = "/fstream" if BinanceMarket(market) is BinanceMarket.USDM else ""
        return f"ws://{self.settings.host}:{self.port}{suffix}"

    def play(self) -> None:
        self.player.start()

    def client_arrived(self) -> None:
        if self.settings.start == "first_client":
            self.player.start()

    async def wait_finished(self) -> None:
        await self.player.finished.wait()

    # --- limits -------------------------------------------------------------------------

    def stream_limit(self, market: BinanceMarket) -> int:
        return self.settings.stream_limit or spec(market).max_streams_per_connection

    def incoming_limit(self, market: BinanceMarket) -> int:
        return self.settings.incoming_limit or spec(market).max_incoming_per_second

    def ping_settings(self, market: BinanceMarket) -> tuple[float, float]:
        m = spec(market)
        return (self.settings.ping_interval_s or m.server_ping_interval_s,
                self.settings.pong_timeout_s or m.pong_timeout_s)

    # --- connections and routing --------------------------------------------------------

    def connect(self, market: BinanceMarket, ws: web.WebSocketResponse, combined: bool
                ) -> ReplayConnection:
        self._ids += 1
        conn = ReplayConnection(self, market, ws, combined, self._ids)
        self.connections.append(conn)
        self.stats["connections"] += 1
        return conn

    def disconnect(self, conn: ReplayConnection) -> None:
        self.unroute(conn, list(conn.routes))
        if conn in self.connections:
            self.connections.remove(conn)
            self.closed_connections.append(conn)

    def route(self, conn: ReplayConnection, keys: Mapping[RouteKey, str]) -> None:
        for key, label in keys.items():
            conn.routes[key] = label
            self._subscribers[key].add(conn)
        if keys:
            self.client_arrived()

    def unroute(self, conn: ReplayConnection, keys: list[RouteKey]) -> None:
        for key in keys:
            conn.routes.pop(key, None)
            self._subscribers[key].discard(conn)

    async def _deliver(self, frame: Frame, payload: str) -> None:
        key: RouteKey = ((frame.market, frame.symbol, "depth") if frame.event == "depthUpdate"
                         else (frame.market, frame.stream))
        self.trading.on_frame(frame)
        if self.faults.take_skip(frame.event, frame.symbol):
            return
        copies = 2 if self.faults.take_duplicate(frame.event) else 1
        for conn in list(self._subscribers.get(key, ())):
            text = conn.frame_text(key, payload)
            for _ in range(copies):
                await conn.push(text)

    # --- faults -------------------------------------------------------------------------

    def _chosen(self, market: BinanceMarket | None) -> list[ReplayConnection]:
        return [c for c in self.connections if market is None or c.market is market]

    async def drop_connections(self, market: BinanceMarket | None = None) -> int:
        chosen = self._chosen(market)
        for conn in chosen:
            conn.closed_reason = "dropped by fault"
        await asyncio.gather(*(c.ws.close(code=1001, message=b"replay: dropped") for c in chosen),
                             return_exceptions=True)
        self.faults.applied.append(f"dropped {len(chosen)} connections")
        return len(chosen)

    def stall(self, market: BinanceMarket | None = None) -> int:
        chosen = self._chosen(market)
        for conn in chosen:
            conn.stalled = True
        self.faults.applied.append(f"stalled {len(chosen)} connections")
        return len(chosen)

    def skip_depth(self, count: int, symbol: str | None = None) -> None:
        self.faults.skip_depth, self.faults.skip_symbol = count, symbol

    def duplicate(self, count: int, event: str | None = None) -> None:
        self.faults.duplicate, self.faults.duplicate_event = count, event

    async def inject_raw(self, text: str, market: BinanceMarket | None = None) -> int:
        """Send `text` as one frame to every connection (for malformed-frame tests)."""
        chosen = self._chosen(market)
        for conn in chosen:
            await conn.push(text)
        self.faults.applied.append(f"injected a raw frame into {len(chosen)} connections")
        return len(chosen)

    def reject_next(self, status: int, count: int = 1, retry_after_s: float | None = None
                    ) -> None:
        self.faults.rejections.extend(Rejection(status, retry_after_s) for _ in range(count))

    # --- REST helpers -------------------------------------------------------------------

    def exchange_info(self, market: BinanceMarket, query: Mapping[str, str]) -> dict[str, Any]:
        if market in self._given_info:
            return self._given_info[market]
        symbols = self.symbols[market]
        wanted = query.get("symbol") or query.get("symbols")
        if wanted:
            names = {s.strip('"[] ') for s in wanted.split(",")}
            if not names <= symbols:
                raise BinanceError(400, -1121, "Invalid symbol.")
            symbols = names
        return build_exchange_info(market, symbols, self.player.now_ns // 1_000_000,
                                   self.weights[market].limit)

    def rejection_error(self, rejection: Rejection, headers: dict[str, str]) -> BinanceError:
        if rejection.retry_after_s is not None:
            headers["Retry-After"] = str(max(0, round(rejection.retry_after_s)))
        if rejection.status in (429, 418):
            return self.limit_error(rejection.status)
        return BinanceError(rejection.status, -1001,
                            "Internal error; unable to process your request. Please try again.")

    def limit_error(self, status: int) -> BinanceError:
        if status == 418:
            return BinanceError(418, -1003, "Way too much request weight used; IP banned. "
                                            "Please use WebSocket Streams for live updates.")
        return BinanceError(429, -1003, "Too much request weight used; please use WebSocket "
                                        "Streams for live updates to avoid polling the API.")

    def kline_extras(self, market: BinanceMarket, symbol: str, step_ms: int
                     ) -> dict[int, _Extra]:
        """Quote volume, trade count and taker volumes per open time, from aggTrades."""
        key = (market, symbol, step_ms)
        if key not in self._extras:
            acc: dict[int, list[Any]] = {}
            for row in self.recording.data[market].agg_trades.get(symbol, []):
                bucket = acc.setdefault(row["T"] - row["T"] % step_ms,
                                        [Decimal(0), 0, Decimal(0), Decimal(0)])
                price, qty = Decimal(row["p"]), Decimal(row["q"])
                bucket[0] += price * qty
                bucket[1] += row["l"] - row["f"] + 1
                if not row["m"]:  # the buyer was the taker
                    bucket[2] += qty
                    bucket[3] += price * qty
            self._extras[key] = {t: (f"{b[0]:f}", b[1], f"{b[2]:f}", f"{b[3]:f}")
                                 for t, b in acc.items()}
        return self._extras[key]

    # --- control endpoint ---------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        fault, q = request.match_info["fault"], request.query
        market = BinanceMarket(q["market"]) if "market" in q else None
        if fault == "drop":
            result: Any = await self.drop_connections(market)
        elif fault == "stall":
            result = self.stall(market)
        elif fault == "skip":
            self.skip_depth(int(q.get("n", "1")), q.get("symbol"))
            result = int(q.get("n", "1"))
        elif fault == "duplicate":
            self.duplicate(int(q.get("n", "1")), q.get("event"))
            result = int(q.get("n", "1"))
        elif fault == "reject":
            retry = q.get("retry_after")
            self.reject_next(int(q.get("status", "429")), int(q.get("count", "1")),
                             float(retry) if retry else None)
            result = int(q.get("count", "1"))
        elif fault == "play":
            self.play()
            result = True
        elif fault.startswith("trading-"):
            result = self.trading.control(fault.removeprefix("trading-"), q)
        else:
            return web.json_response({"error": f"unknown fault {fault!r}"}, status=404)
        return web.json_response({"fault": fault, "result": result})

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({
            "replay_time_ns": self.player.now_ns,
            "position": self.player.position,
            "events": len(self.player.events),
            "passes": self.player.passes,
            "finished": self.player.finished.is_set(),
            "connections": [
                {"id": c.id, "market": c.market.value, "streams": sorted(c.routes.values()),
                 "stalled": c.stalled} for c in self.connections
            ],
            "faults_applied": self.faults.applied[-50:],
            "stats": dict(self.stats),
        })
