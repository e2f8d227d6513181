"""Cold start of `argosy run` until all nine /readyz are green, and each service's RSS and
idle CPU after a quiet minute.

Baseline, measured in the same run: nine bare uvicorn processes serving a one-route FastAPI
app, started at once the same way — the floor any nine-process Python platform pays.
Run: .venv/bin/python -m bench.platform_start [--idle 60]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from argosy.contracts.services import SERVICES
from tests.support.platform import free_port_base

_BARE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/readyz")
def ready(): return {"ok": True}
"""


def _wait_all(urls: list[str], timeout_s: float = 240) -> float:
    start = time.monotonic()
    pending = set(urls)
    while pending:
        for url in list(pending):
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    pending.discard(url)
            except httpx.TransportError:
                pass
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(sorted(pending))
        time.sleep(0.05)
    return time.monotonic() - start


Usage = dict[str, tuple[float, float, float, float]]  # name -> RSS, PSS, USS MiB, CPU %


def _sample(pids: dict[str, int], idle_s: float) -> Usage:
    """RSS counts pages shared with the fork server in every child; PSS splits them fairly
    and USS is what the process alone holds, so PSS sums to the real total."""
    procs = {name: psutil.Process(pid) for name, pid in pids.items()}
    cpu0 = {n: p.cpu_times() for n, p in procs.items()}
    time.sleep(idle_s)
    out = {}
    for n, p in procs.items():
        c1 = p.cpu_times()
        used = (c1.user + c1.system) - (cpu0[n].user + cpu0[n].system)
        mem = p.memory_full_info()
        out[n] = (mem.rss / 2**20, mem.pss / 2**20, mem.uss / 2**20, 100.0 * used / idle_s)
    return out


def bare(tmp: Path, idle_s: float) -> tuple[float, Usage]:
    (tmp / "bare_app.py").write_text(_BARE_APP)
    base = free_port_base()
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(base + i),
             "--log-level", "warning"], cwd=tmp, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        for i in range(len(SERVICES))
    ]
    try:
        _wait_all([f"http://127.0.0.1:{base + i}/readyz" for i in range(len(SERVICES))])
        elapsed = time.monotonic() - started
        usage = _sample({f"bare{i}": p.pid for i, p in enumerate(procs)}, idle_s)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    return elapsed, usage


def argosy(data_dir: Path, idle_s: float, *extra: str) -> tuple[float, Usage]:
    base = free_port_base()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARGOSY_")}
    env |= {"ARGOSY_DATA_DIR": str(data_dir), "ARGOSY_PORT_BASE": str(base)}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "argosy", "run", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_all([f"http://127.0.0.1:{base + s.port_offset}/readyz" for s in SERVICES])
        elapsed = time.monotonic() - started
        pids = {}
        for child in psutil.Process(proc.pid).children(recursive=True):
            cmd = " ".join(filter(None, child.cmdline()))
            if " serve " in cmd:
                pids[cmd.rsplit(" ", 1)[1]] = child.pid
            elif "nats-server" in cmd:
                pids["nats"] = child.pid
            elif "zygote" in cmd:
                pids["(fork server)"] = child.pid
        usage = _sample(pids, idle_s) if idle_s else {}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    return elapsed, usage


def _total_pss(use: Usage) -> float:
    return sum(pss for _, pss, _, _ in use.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=float, default=60.0, help="seconds of idle sampling")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base_s, base_use = bare(root, args.idle)
        first_s, _ = argosy(root / "var", 0)  # fresh data dir: migrations, secrets, streams
        warm_s, use = argosy(root / "var", args.idle)  # same data dir again
        nofork_s, nofork_use = argosy(root / "var", args.idle, "--no-fork")
    base_pss = _total_pss(base_use) / len(base_use)
    base_cpu = sum(c for *_, c in base_use.values()) / len(base_use)
    print(f"baseline: 9 bare uvicorn+FastAPI processes ready in {base_s:.2f}s; "
          f"PSS {base_pss:.0f} MiB each, idle CPU {base_cpu:.2f}%")
    print(f"argosy run, fresh data dir: all nine /readyz green in {first_s:.2f}s "
          f"({first_s / base_s:.1f}x baseline)")
    print(f"argosy run, existing data dir: {warm_s:.2f}s ({warm_s / base_s:.1f}x baseline)")
    print(f"argosy run --no-fork, existing data dir: {nofork_s:.2f}s "
          f"({nofork_s / base_s:.1f}x baseline)")
    print(f"total PSS: baseline {_total_pss(base_use):.0f} MiB, argosy run "
          f"{_total_pss(use):.0f} MiB, --no-fork {_total_pss(nofork_use):.0f} MiB")
    print(f"{'process':<14}{'RSS MiB':>9}{'PSS MiB':>9}{'USS MiB':>9}{'PSS x base':>11}"
          f"{'idle CPU %':>11}")
    for name, (rss, pss, uss, cpu) in sorted(use.items()):
        print(f"{name:<14}{rss:>9.0f}{pss:>9.0f}{uss:>9.0f}{pss / base_pss:>11.1f}{cpu:>11.2f}")


if __name__ == "__main__":
    main()
