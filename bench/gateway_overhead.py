"""Gateway overhead: proxied vs direct latency and throughput, and WebSockets held.

Everything runs as real processes on 127.0.0.1: an embedded NATS, the config service
(`argosy serve config`), the gateway (`argosy serve gateway`, with the gateway's uvicorn
options) and a bare FastAPI upstream (bench/
gateway_upstream.py) standing for the users service (JWKS) and trading (GET
/api/v1/orders). The gateway's rate limits are raised the way an operator would: a
`gateway/settings` document written to the config service, pushed live over NATS.

1. latency at a fixed rate (open loop, measured from each request's scheduled time):
   GET /api/v1/orders on the upstream directly vs through the gateway with a bearer token
   (JWT verified, identity minted, three rate-limit buckets, proxied);
2. requests/s at saturation (wrk when installed, else an async client), same two paths;
3. WebSockets: `--ws` connections held by the one gateway process, each subscribed to one
   of `--channels` market channels published at 1 msg/s on the bus (so 1 msg/s per
   connection), vs the bare upstream `/ws` pushing 1 msg/s per connection. Delivered
   messages/s, delivery latency, RSS and CPU of the serving process.

    .venv/bin/python -m bench.gateway_overhead [--ws 10000] [--rate 200 --count 2000]
                                               [--log-level warning]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import psutil
import uvloop
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.kernel.errors import Unavailable
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.bus._embedded import run_nats_server
from argosy.platform.bus.nats import NatsBus
from argosy.platform.secrets import read_secret

ORDERS = "/api/v1/orders"


class SigningKey:
    """The benchmark's stand-in for the users service's token key (EdDSA, as in
    contracts/v1/identity.py)."""

    def __init__(self) -> None:
        self.kid = "bench-key"
        self.private = Ed25519PrivateKey.generate()

    def jwks(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid,
                          "alg": "EdDSA", "use": "sig"}]}

    def access_token(self) -> str:
        now = int(time.time())
        claims = {"iss": "argosy-users", "aud": "argosy", "sub": "u-bench", "org": "org-bench",
                  "sid": "s-bench", "roles": ["trader"], "perms": sorted(BUILTIN_ROLES["trader"]),
                  "typ": "access", "iat": now, "nbf": now, "exp": now + 3600, "jti": "bench"}
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def wait_ready(url: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{url}/readyz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} not ready")


async def raise_limits(config_url: str, gateway_url: str, operator: str) -> None:
    """As an operator would: write gateway/settings, wait until the gateway applied it."""
    high = {f"rate_{s}_{k}": 1e6 for s in ("ip", "identity", "route") for k in ("per_s", "burst")}
    headers = {"x-argosy-identity": operator}
    async with aiohttp.ClientSession(headers=headers) as http:
        for _ in range(300):  # until the gateway has registered its schema
            async with http.put(f"{config_url}/api/v1/config/documents/gateway/settings",
                                json={"content": high, "comment": "benchmark"}) as r:
                if r.status in (200, 201):
                    break
            await asyncio.sleep(0.2)
        for _ in range(300):
            async with http.get(f"{gateway_url}/internal/runtime") as r:
                if (await r.json())["settings"].get("rate_ip_burst") == 1e6:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError("the gateway did not apply the benchmark's settings")


async def fixed_rate(url: str, headers: dict[str, str], rate: float, count: int) -> list[float]:
    """Latencies (ms) of `count` GETs sent at `rate`/s whatever the answers' pace."""
    out: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        for _ in range(50):  # warm connections and caches
            async with http.get(url, headers=headers) as r:
                await r.read()
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            async with http.get(url, headers=headers) as r:
                await r.read()
                errors += r.status != 200
            out.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(count)))
    if errors:
        print(f"  ! {errors} non-200 answers from {url}")
    return out


async def saturation(url: str, headers: dict[str, str], seconds: int, conns: int) -> float:
    if shutil.which("wrk"):
        cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s"]
        for k, v in headers.items():
            cmd += ["-H", f"{k}: {v}"]
        out = (await asyncio.to_thread(subprocess.run, [*cmd, url], capture_output=True,
                                       text=True, check=True)).stdout
        if "Non-2xx" in out:
            print("  ! wrk saw non-2xx answers:", re.findall(r"Non-2xx.*", out))
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with http.get(url, headers=headers) as r:
                    await r.read()
                done += 1

        await asyncio.gather(*(worker() for _ in range(conns)))
    return done / seconds


class WsLoad:
    """`n` WebSocket clients; counts frames, samples delivery latency, answers pings."""

    def __init__(self, n: int) -> None:
        self.n, self.connected, self.received, self.failed = n, 0, 0, 0
        self.latencies: list[float] = []
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self, http: aiohttp.ClientSession, url: Callable[[int], str],
                   hello: Callable[[int], list[str]]) -> None:
        gate = asyncio.Semaphore(100)

        async def one(i: int) -> None:
            async with gate:
                try:
                    ws = await http.ws_connect(url(i), autoping=True, max_msg_size=1 << 20)
                    for line in hello(i):  # subscribe, and wait for the answer
                        await ws.send_str(line)
                        while '"op":"subscribed"' not in (await ws.receive(timeout=30)).data:
                            pass
                except (aiohttp.ClientError, OSError, TimeoutError):
                    self.failed += 1
                    return
            self.sockets.append(ws)
            self.connected += 1
            self.tasks.append(asyncio.create_task(self._read(ws, sample=i % 50 == 0)))

        await asyncio.gather(*(one(i) for i in range(self.n)))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, sample: bool) -> None:
        async for msg in ws:
            data = msg.data
            if not isinstance(data, str) or '"op":"data"' not in data:
                if isinstance(data, str) and '"op":"ping"' in data:
                    await ws.send_str('{"op":"pong"}')  # the gateway's heartbeat
                continue
            self.received += 1
            if sample:
                ts = json.loads(data)["data"]["ts"]
                self.latencies.append((time.time_ns() - ts) / 1e6)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def ws_phase(name: str, pid: int, url: Callable[[int], str],
                   hello: Callable[[int], list[str]], n: int, hold_s: float,
                   publish: Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None
                   ) -> dict[str, float]:
    proc = psutil.Process(pid)
    rss_before = proc.memory_info().rss
    load = WsLoad(n)
    started = time.perf_counter()
    stop = asyncio.Event()
    publisher = asyncio.create_task(publish(stop)) if publish else None
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        await load.open(http, url, hello)
        connect_s = time.perf_counter() - started
        await asyncio.sleep(3)  # let every connection see its first messages
        load.received, load.latencies = 0, []
        me = psutil.Process()
        proc.cpu_percent()
        me.cpu_percent()
        await asyncio.sleep(hold_s)
        rate, cpu, client_cpu = load.received / hold_s, proc.cpu_percent(), me.cpu_percent()
        rss = proc.memory_info().rss
        lat = list(load.latencies)
        await load.close()
    if publisher:  # a stop flag, not cancel(): a JetStream publish can swallow a cancel
        stop.set()
        await asyncio.wait_for(publisher, 10)
    row = {"connected": load.connected, "failed": load.failed, "connect_s": connect_s,
           "msgs_per_s": rate, "p50_ms": quantile(lat, 0.5), "p99_ms": quantile(lat, 0.99),
           "rss_mib": rss / 2**20, "rss_per_conn_kib": (rss - rss_before) / max(1, n) / 1024,
           "cpu_pct": cpu}
    print(f"  {name:8} {load.connected:>6} held ({load.failed} failed, {connect_s:.1f} s to "
          f"connect), {rate:,.0f} msg/s, p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
          f"RSS {row['rss_mib']:.0f} MiB ({row['rss_per_conn_kib']:.1f} KiB/conn), "
          f"CPU {cpu:.0f} % (client process {client_cpu:.0f} %)", flush=True)
    return row


class Services:
    """The processes under test, started before the event loop (plain Popen)."""

    def __init__(self, tmp: Path, nats_url: str, key: SigningKey, log_level: str) -> None:
        up_port, gw_port, cfg_port = free_port(), free_port(), free_port()
        self.tmp, self.nats_url = tmp, nats_url
        self.upstream = f"http://127.0.0.1:{up_port}"
        self.gateway = f"http://127.0.0.1:{gw_port}"
        self.config = f"http://127.0.0.1:{cfg_port}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("ARGOSY_")},
               "ARGOSY_DATA_DIR": str(tmp / "var"), "ARGOSY_BUS_URL": nats_url,
               "ARGOSY_LOG_LEVEL": log_level,
               "ARGOSY_SERVICE_URLS": json.dumps({"users": self.upstream,
                                                  "trading": self.upstream,
                                                  "config": self.config}),
               "ARGOSY_GATEWAY_PORT": str(gw_port), "ARGOSY_CONFIG_PORT": str(cfg_port),
               "ARGOSY_GATEWAY_MAX_CONNECTIONS": "30000",
               "ARGOSY_GATEWAY_MAX_CONNECTIONS_PER_IP": "30000",
               "BENCH_JWKS": json.dumps(key.jwks())}
        self.log = open(tmp / "services.log", "wb")  # noqa: SIM115 (closed in stop)
        py = sys.executable
        self.procs = {name: subprocess.Popen(argv, env=env, stdout=self.log, stderr=self.log)
                      for name, argv in (
                          ("upstream", [py, "-m", "bench.gateway_upstream", str(up_port)]),
                          ("config", [py, "-m", "argosy", "serve", "config"]),
                          ("gateway", [py, "-m", "argosy", "serve", "gateway"]))}

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(20)
        self.log.close()


async def run(args: argparse.Namespace, svc: Services, key: SigningKey) -> None:
    for url in (svc.upstream, svc.config, svc.gateway):
        await wait_ready(url)
    operator = InternalAuth(read_secret(svc.tmp / "var" / "secrets" / "internal.key")).mint(
        Principal("operator:bench", frozenset({"config:*", "ops:read"})))
    await raise_limits(svc.config, svc.gateway, operator)
    bearer = {"authorization": f"Bearer {key.access_token()}"}
    paths: tuple[tuple[str, str, dict[str, str]], ...] = (
        ("direct", svc.upstream, {}), ("gateway", svc.gateway, bearer))
    print(f"\nfixed rate {args.rate:g}/s, {args.count} GETs {ORDERS} (open loop)")
    rows = {}
    for name, url, headers in paths:
        lat = await fixed_rate(url + ORDERS, headers, args.rate, args.count)
        rows[name] = (quantile(lat, 0.5), quantile(lat, 0.99))
        print(f"  {name:8} p50 {rows[name][0]:6.2f} ms   p99 {rows[name][1]:6.2f} ms")
    d, g = rows["direct"], rows["gateway"]
    print(f"  ratio    p50 {g[0] / d[0]:.2f}x       p99 {g[1] / d[1]:.2f}x  "
          f"(overhead p50 +{g[0] - d[0]:.2f} ms)")
    tool = "wrk -t2" if shutil.which("wrk") else "aiohttp"
    print(f"\nsaturation: {tool}, {args.conns} connections, {args.seconds} s")
    sat = {}
    for name, url, headers in paths:
        sat[name] = await saturation(url + ORDERS, headers, args.seconds, args.conns)
        print(f"  {name:8} {sat[name]:8,.0f} req/s")
    print(f"  ratio    {sat['gateway'] / sat['direct']:.2f}x")
    if args.ws:
        await ws_compare(args, svc, key)


async def ws_compare(args: argparse.Namespace, svc: Services, key: SigningKey) -> None:
    n, channels = args.ws, args.channels
    print(f"\nWebSockets: {n} connections, 1 msg/s each, held {args.hold:g} s "
          f"(gateway: {channels} market channels published on NATS at 1 msg/s each)")
    ws_base = svc.upstream.replace("http", "ws")
    bare = await ws_phase("bare", svc.procs["upstream"].pid, lambda i: f"{ws_base}/ws",
                          lambda i: [], n, args.hold, None)
    token = key.access_token()
    topics = [f"md.trade.bench.SYM{c}" for c in range(channels)]
    bus = NatsBus(svc.nats_url, source="bench")
    await bus.connect()

    lost = [0]

    async def publish(stop: asyncio.Event) -> None:
        """Each channel once a second, spread evenly over the second (absolute schedule,
        so the publisher's own time does not slow the rate). A publish JetStream did not
        acknowledge in time (a saturated machine) is counted and skipped, not fatal."""
        start, k = time.perf_counter(), 0
        while not stop.is_set():
            try:
                await bus.publish_json(topics[k % channels],
                                       {"ts": time.time_ns(), "px": "100.5"})
            except Unavailable:
                lost[0] += 1
            k += 1
            await asyncio.sleep(max(0.0, start + k / channels - time.perf_counter()))

    gw_ws = svc.gateway.replace("http", "ws")
    gw = await ws_phase(
        "gateway", svc.procs["gateway"].pid, lambda i: f"{gw_ws}/ws?token={token}",
        lambda i: [json.dumps({"op": "subscribe", "channel": f"market.trade.SYM{i % channels}"
                                                             ".bench"})],
        n, args.hold, publish)
    await bus.close()
    if lost[0]:
        print(f"  (publisher: {lost[0]} publishes not acknowledged by NATS in time, skipped)")
    print(f"  ratio    delivered {gw['msgs_per_s'] / max(1.0, bare['msgs_per_s']):.2f}x, "
          f"p50 {gw['p50_ms'] / bare['p50_ms']:.2f}x, RSS/conn "
          f"{gw['rss_per_conn_kib'] / max(0.1, bare['rss_per_conn_kib']):.2f}x, "
          f"CPU {gw['cpu_pct'] / max(0.1, bare['cpu_pct']):.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--conns", type=int, default=64)
    parser.add_argument("--ws", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--hold", type=float, default=20.0)
    parser.add_argument("--log-level", default="info",
                        help="the services' ARGOSY_LOG_LEVEL (info logs every request)")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.ws + 500:
        print(f"open-file limit {hard} < {args.ws} connections; lowering --ws")
        args.ws = max(0, hard - 500)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        nats_url = stack.enter_context(run_nats_server(Path(tmp) / "nats"))
        key = SigningKey()
        svc = Services(Path(tmp), nats_url, key, args.log_level)
        try:
            uvloop.run(run(args, svc, key))
        finally:
            svc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
