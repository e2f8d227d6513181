"""One Binance WebSocket connection: connect, (re)subscribe, read, watch, reconnect.

The connection owns a desired set of streams. The first `max_url_streams` go into the
combined-stream URL (no control message needed); the rest are sent as SUBSCRIBE requests
with ids, paced by the connection's sliding-window limiter. After any disconnect it
reconnects with exponential backoff and jitter and subscribes the whole desired set again.
A watchdog closes the socket when no data frame has arrived for `stale_after_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from argosy.kernel.errors import VenueRejected
from argosy.venues.binance._ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from argosy.venues.binance.ws import BinanceStreamClient

__all__ = ["StreamConnection"]


class StreamConnection:
    """A socket that keeps carrying its desired streams until closed."""

    def __init__(self, host: BinanceStreamClient, conn_id: int, streams: Iterable[str]) -> None:
        self.host = host
        self.id = conn_id
        self.desired: set[str] = set(streams)
        self.subscribed: set[str] = set()  # acknowledged on the current socket
        self.limiter = SlidingWindowLimiter(
            host.control_per_second, monotonic=host.monotonic, sleep=host.sleep
        )
        self.live = asyncio.Event()  # set on the first data frame of each session
        self.synced = asyncio.Event()  # set once every desired stream is acknowledged
        self.opened_at = 0.0
        self.last_data_at = 0.0
        self.sessions = 0
        self._ws: ClientConnection | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._sub_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stale_reason = ""

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"binance-ws-{self.id}")

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def age(self) -> float:
        return self.host.monotonic() - self.opened_at if self.connected else 0.0

    # --- subscriptions ------------------------------------------------------------------

    async def add(self, streams: list[str]) -> None:
        """Carry `streams`; if the socket is down they are sent on the next connect."""
        self.desired.update(streams)
        with contextlib.suppress(ConnectionError, TimeoutError):
            await self._sync_subscriptions()

    async def remove(self, streams: list[str]) -> None:
        self.desired.difference_update(streams)
        async with self._sub_lock:
            gone = [s for s in streams if s in self.subscribed]
            for chunk in self._chunks(gone):
                await self.request("UNSUBSCRIBE", chunk)
                self.subscribed.difference_update(chunk)

    async def _sync_subscriptions(self) -> None:
        async with self._sub_lock:
            if self._ws is None:
                return
            missing = sorted(self.desired - self.subscribed)
            for chunk in self._chunks(missing):
                try:
                    await self.request("SUBSCRIBE", chunk)
                except VenueRejected:
                    self.desired.difference_update(chunk)
                    raise
                self.subscribed.update(chunk)
            self.synced.set()

    def _chunks(self, names: list[str]) -> list[list[str]]:
        size = self.host.settings.max_streams_per_request
        return [names[i : i + size] for i in range(0, len(names), size)]

    async def request(self, method: str, params: list[Any] | None = None) -> Any:
        """Send one control message and wait for its `{"result", "id"}` answer."""
        ws = self._ws
        if ws is None:
            raise ConnectionError("not connected")
        await self.limiter.acquire()
        request_id = self.host.next_request_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        body: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            body["params"] = params
        try:
            await ws.send(orjson.dumps(body).decode())
            self.host.stats.control_sent += 1
            return await asyncio.wait_for(future, self.host.settings.request_timeout_s)
        finally:
            self._pending.pop(request_id, None)

    # --- session loop -------------------------------------------------------------------

    def _url(self, streams: list[str]) -> str:
        return f"{self.host.base_url}/stream?streams={'/'.join(streams)}"

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            got_data = await self._session()
            if self._closing:
                return
            attempt = 0 if got_data else attempt + 1
            await self.host.sleep(self.host.backoff_delay(attempt))

    async def _session(self) -> bool:
        """One connect..disconnect; True if any data frame arrived."""
        url_streams = sorted(self.desired)[: self.host.settings.max_url_streams]
        self.live.clear()
        self.synced.clear()
        self._stale_reason = ""
        reason = "closed"
        got_data = opened = False
        try:
            async with connect(
                self._url(url_streams),
                ping_interval=None,  # Binance counts client pings; its own pings suffice
                ping_timeout=None,
                close_timeout=1.0,
                open_timeout=self.host.settings.open_timeout_s,
                max_size=self.host.settings.max_message_bytes,
                max_queue=1024,
                compression=None,
            ) as ws:
                self._ws = ws
                opened = True
                self.sessions += 1
                self.subscribed = set(url_streams)
                self.opened_at = self.last_data_at = self.host.monotonic()
                self.host.connection_opened(self)
                reader = asyncio.create_task(self._read(ws))
                watchdog = asyncio.create_task(self._watch(ws))
                try:
                    await self._sync_subscriptions()
                    done, _ = await asyncio.wait(
                        {reader, watchdog}, return_when=asyncio.FIRST_COMPLETED
                    )
                    reason = self._stale_reason or next(iter(done)).result()
                finally:
                    got_data = self.live.is_set()
                    for task in (reader, watchdog):
                        task.cancel()
                    await asyncio.gather(reader, watchdog, return_exceptions=True)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as error:
            reason = f"connect failed: {error!r}"
        except VenueRejected as error:
            reason = f"subscription refused: {error.message}"
        finally:
            self._ws = None
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection lost"))
            self._pending.clear()
        if not self._closing:
            self.host.connection_lost(self, reason, opened)
        return got_data

    async def _read(self, ws: ClientConnection) -> str:
        try:
            async for raw in ws:
                self._frame(raw)
        except ConnectionClosed as closed:
            return f"closed by server: {closed.rcvd.code if closed.rcvd else 'no close frame'}"
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection lost"))
        return "closed by server"

    def _frame(self, raw: str | bytes) -> None:
        recv_ns = self.host.clock.now_ns()
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.host.malformed("json", f"not JSON: {raw[:80]!r}")
            return
        if not isinstance(message, dict):
            self.host.malformed("frame", f"not an object: {str(message)[:80]}")
            return
        data, stream = message.get("data"), message.get("stream")
        if isinstance(stream, str) and isinstance(data, dict):
            self.last_data_at = self.host.monotonic()
            self.live.set()
            self.host.dispatch(stream, data, recv_ns)
            return
        if "id" in message and ("result" in message or "code" in message or "error" in message):
            self._answer(message)
            return
        self.host.malformed("frame", f"unexpected frame: {str(message)[:80]}")

    def _answer(self, message: dict[str, Any]) -> None:
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        error = message.get("error", message if "code" in message else None)
        if future is None or future.done():
            if error is not None:
                self.host.malformed("control_error", f"unmatched error answer: {message}")
            return
        if isinstance(error, dict):
            self.host.stats.control_errors += 1
            future.set_exception(
                VenueRejected(
                    f"binance ws: {error.get('msg')}",
                    venue="binance",
                    venue_code=str(error.get("code")),
                )
            )
        else:
            future.set_result(message.get("result"))

    async def _watch(self, ws: ClientConnection) -> str:
        stale_after = self.host.settings.stale_after_s
        period = max(0.01, min(1.0, stale_after / 4)) if stale_after > 0 else 1.0
        while True:
            await self.host.sleep(period)
            if stale_after <= 0 or not self.desired:
                continue
            silent = self.host.monotonic() - self.last_data_at
            if silent > stale_after:
                self._stale_reason = f"stale: no data for {silent:.1f} s"
                self.host.stale(self, silent)
                await ws.close(code=1000, reason="stale feed")
                return self._stale_reason
