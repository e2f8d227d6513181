"""Notification service: notifications/s through the durable queue to a local SMTP server
and to a local webhook receiver, and end-to-end latency (event published on the bus →
message received by the server) p50/p99, on SQLite and on PostgreSQL when reachable.

Baselines, same run, same receivers: a raw aiosmtplib send loop over as many persistent
connections as the service pools, and a raw httpx POST loop at the service's concurrency.
The receivers run in a child process (aiosmtpd, and a small asyncio HTTP/1.1 server) so
their CPU does not share the service's interpreter; they report (key, arrival ns) back.
Rate limits are raised out of the way: the queue, not a policy, is what is measured.

    .venv/bin/python -m bench.notification_throughput [--count 2000] [--rates 20 100] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import orjson

from argosy.platform.auth.internal import Principal
from argosy.platform.settings import PlatformSettings
from argosy.services.notification.app import create_app
from argosy.services.notification.settings import NotificationSettings
from tests.support.servers import POSTGRES_URL, free_port, reachable

_KEY = re.compile(rb"ord_b\d+")
FAST = {"per_s": 100_000, "burst": 100_000}


# -- receivers (child process) ----------------------------------------------------------
def _receivers(smtp_port: int, http_port: int, out: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            now = time.time_ns()
            found = _KEY.search(envelope.content)
            out.put(("email", found.group().decode() if found else "?", now))
            return "250 OK"

    async def http_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                size = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                body = await reader.readexactly(size)
                now = time.time_ns()
                found = _KEY.search(body)
                out.put(("webhook", found.group().decode() if found else "?", now))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(http_conn, "127.0.0.1", http_port)
        controller = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
        controller.start()
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Arrivals:
    def __init__(self, queue: Any) -> None:
        self._q = queue
        self.seen: dict[str, int] = {}

    def drain(self) -> None:
        while True:
            try:
                _, key, ts = self._q.get_nowait()
            except Exception:
                return
            self.seen.setdefault(key, ts)

    async def wait(self, keys: set[str], within_s: float = 120.0) -> None:
        deadline = time.monotonic() + within_s
        while not keys <= set(self.seen):
            self.drain()
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(keys & set(self.seen))}/{len(keys)} arrived")
            await asyncio.sleep(0.005)


def _keys(prefix: str, n: int) -> list[str]:
    return [f"ord_b{prefix}{i:07d}" for i in range(n)]


# -- baselines ---------------------------------------------------------------------------
async def raw_smtp(port: int, arrivals: Arrivals, n: int, connections: int) -> float:
    keys = _keys("1", n)
    todo = list(keys)
    start = time.perf_counter()

    async def worker() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
            while todo:
                key = todo.pop()
                mail = EmailMessage()
                mail["From"], mail["To"], mail["Subject"] = "a@localhost", "b@example.com", key
                mail.set_content(f"order {key}")
                await smtp.send_message(mail)

    await asyncio.gather(*(worker() for _ in range(connections)))
    await arrivals.wait(set(keys))
    return n / (time.perf_counter() - start)


async def raw_http(url: str, arrivals: Arrivals, n: int, concurrency: int) -> float:
    keys = _keys("2", n)
    todo = list(keys)
    start = time.perf_counter()
    async with httpx.AsyncClient() as client:
        async def worker() -> None:
            while todo:
                key = todo.pop()
                r = await client.post(url, content=orjson.dumps({"data": {"order_id": key}}))
                r.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    await arrivals.wait(set(keys))
    return n / (time.perf_counter() - start)


# -- the service -------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def service(db_url: str, smtp_port: int) -> AsyncIterator[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench{uuid.uuid4().hex[:8]}_" if db_url.startswith("postgres") else ""
        platform = PlatformSettings(data_dir=Path(tmp), bus_url="memory://", db_url=db_url,
                                    db_schema_prefix=schema, log_level="warning")
        settings = NotificationSettings.model_validate({
            "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_tls": "none",
            "webhook_allow_private_networks": True, "webhook_allow_http": True,
            "rate_limits": {"email": FAST, "webhook": FAST}, "poll_s": 0.2})
        app = create_app(platform, settings=settings)
        async with app.router.lifespan_context(app):
            await app.state.runtime.deps.ready("db", "bus", "cache")
            await asyncio.wait_for(app.state.consuming.wait(), 10)
            yield app
        if schema:
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(db_url.replace("postgresql://", "postgresql+asyncpg://"))
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}notification" CASCADE'))
            await engine.dispose()


async def _user(app: Any, prefs: dict[str, Any]) -> tuple[str, str]:
    user, org = f"usr_{uuid.uuid4().hex[:12]}", f"org_{uuid.uuid4().hex[:12]}"
    token = app.state.runtime.auth.mint(Principal(f"user:{user}", frozenset(
        {"notifications:read", "notifications:write"}), org))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
        r = await client.put("/api/v1/notifications/preferences", json=prefs,
                             headers={"x-argosy-identity": token})
        r.raise_for_status()
    return user, org


def _fill(user: str, org: str, key: str) -> dict[str, Any]:
    return {"org": org, "user_id": user, "at_ms": int(time.time() * 1000), "account_id": "a",
            "order_id": key, "fill_id": key, "instrument": "BTC-USDT.binance", "side": "buy",
            "price": "100", "quantity": "1", "fee": "0", "fee_asset": "USDT",
            "liquidity": "taker"}


async def through_queue(app: Any, arrivals: Arrivals, prefs: dict[str, Any], tag: str,
                        n: int, rates: list[float], seconds: float,
                        ) -> tuple[float, dict[float, list[float]]]:
    """(burst throughput msg/s, {paced rate: end-to-end latencies in ms})."""
    bus = app.state.runtime.bus
    user, org = await _user(app, prefs)
    keys = _keys(tag, n)
    start = time.perf_counter()
    for key in keys:
        await bus.publish_json("trading.fill.a", _fill(user, org, key))
    await arrivals.wait(set(keys))
    throughput = n / (time.perf_counter() - start)
    latencies: dict[float, list[float]] = {}
    for r, rate in enumerate(rates):
        paced = _keys(f"{tag}9{r}", int(rate * seconds))
        sent: dict[str, int] = {}
        for key in paced:
            sent[key] = time.time_ns()
            await bus.publish_json("trading.fill.a", _fill(user, org, key))
            await asyncio.sleep(1 / rate)
        await arrivals.wait(set(paced))
        latencies[rate] = [(arrivals.seen[k] - sent[k]) / 1e6 for k in paced]
    return throughput, latencies


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def run(args: argparse.Namespace) -> None:
    smtp_port, http_port = free_port(), free_port()
    ctx = mp.get_context("spawn")
    out, ready = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_receivers, args=(smtp_port, http_port, out, ready), daemon=True)
    child.start()
    try:
        if not ready.wait(20):
            raise RuntimeError("receivers did not start")
        arrivals = Arrivals(out)
        hook = f"http://127.0.0.1:{http_port}/hook"
        defaults = NotificationSettings()
        base_smtp = await raw_smtp(smtp_port, arrivals, args.count, defaults.smtp_connections)
        base_http = await raw_http(hook, arrivals, args.count, defaults.workers)
        print(f"baseline  raw aiosmtplib ({defaults.smtp_connections} connections): "
              f"{base_smtp:8.0f} mails/s")
        print(f"baseline  raw httpx POST ({defaults.workers} in flight):      "
              f"{base_http:8.0f} req/s")
        dbs = [("sqlite", "sqlite://")]
        if reachable("127.0.0.1", 5432):
            dbs.append(("postgresql", POSTGRES_URL))
        for name, url in dbs:
            async with service(url, smtp_port) as app:
                for i, (channel, prefs, base) in enumerate((
                    ("email", {"email": "bench@example.com",
                               "events": {"order_filled": ["email"]}}, base_smtp),
                    ("webhook", {"webhook_url": hook,
                                 "events": {"order_filled": ["webhook"]}}, base_http),
                )):
                    tag = f"{3 + i}{len(name)}"
                    tput, lats = await through_queue(app, arrivals, prefs, tag, args.count,
                                                     args.rates, args.seconds)
                    paced = " | ".join(
                        f"at {rate:.0f}/s p50 {_pct(lat, 50):5.1f} ms p99 {_pct(lat, 99):6.1f} ms"
                        for rate, lat in lats.items())
                    print(f"{name:10s} {channel:7s} burst {tput:5.0f} msg/s ({tput / base:.2f}x "
                          f"raw) | event→received {paced}")
    finally:
        child.terminate()
        child.join(5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--count", type=int, default=2000, help="messages per burst")
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 100.0],
                        help="paced events/s for the latency runs")
    parser.add_argument("--seconds", type=float, default=5.0, help="paced duration")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()


