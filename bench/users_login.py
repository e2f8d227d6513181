"""Users service: login and refresh throughput in-process, and the cost of one Argon2id hash.

The app runs with its lifespan on SQLite, the in-memory bus and cache, in a temp data dir,
driven through httpx's ASGI transport (no sockets), with `--concurrency` requests in
flight. Baseline: a bare FastAPI POST endpoint answering JSON through the same transport,
in the same run. Login is measured at the production Argon2id parameters (OWASP floor)
and at test parameters, which shows how much of a login is the hash.

    .venv/bin/python -m bench.users_login [--seconds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from argosy.platform.settings import PlatformSettings
from argosy.services.users.app import create_app, passwords_from
from argosy.services.users.settings import UsersSettings

PASSWORD = "correct horse battery staple"  # noqa: S105 (a benchmark user)
WEAK = {"argon2_allow_weak": True, "argon2_memory_kib": 1024, "argon2_time_cost": 1}
# the benchmark logs in thousands of times on purpose
UNTHROTTLED = {"login_free_failures": 1000, "login_lock_failures": 100000}

Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]  # (client, worker)


async def rate(client: httpx.AsyncClient, call: Call, seconds: float, concurrency: int) -> float:
    """Requests per second with `concurrency` workers, each failing loudly on an error."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            r = await call(client, index)
            if r.status_code >= 400:
                raise RuntimeError(f"{r.request.url}: {r.status_code} {r.text}")
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done / (time.perf_counter() - start)


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return {"ok": body.get("email", "")}

    return app


async def baseline(seconds: float, concurrency: int) -> float:
    transport = httpx.ASGITransport(app=bare_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        return await rate(client, lambda c, _: c.post("/echo", json={"email": "a@b.c"}),
                          seconds, concurrency)


async def users_rates(settings: UsersSettings, seconds: float, concurrency: int,
                      db_url: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench{time.time_ns()}_" if db_url.startswith("postgres") else ""
        platform = PlatformSettings(data_dir=Path(tmp), bus_url="memory://", db_url=db_url,
                                    db_schema_prefix=schema)
        app = create_app(platform, settings=settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://users") as c:
                r = await c.post("/api/v1/auth/register",
                                 json={"email": "bench@example.com", "password": PASSWORD})
                r.raise_for_status()
                creds = {"email": "bench@example.com", "password": PASSWORD}
                login = await rate(c, lambda c, _: c.post("/api/v1/auth/login", json=creds),
                                   seconds, concurrency)
                # one token family per worker: each refresh consumes the worker's token
                tokens = [(await c.post("/api/v1/auth/login", json=creds)).json()
                          ["refresh_token"] for _ in range(concurrency)]

                async def refresh_call(client: httpx.AsyncClient, i: int) -> httpx.Response:
                    r = await client.post("/api/v1/auth/refresh",
                                          json={"refresh_token": tokens[i]})
                    if r.status_code == 200:
                        tokens[i] = r.json()["refresh_token"]
                    return r

                refresh = await rate(c, refresh_call, seconds, concurrency)
        if schema:
            await _drop_schema(db_url, f"{schema}users")
    return login, refresh


async def _drop_schema(db_url: str, schema: str) -> None:
    engine = create_async_engine(db_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def hash_ms(settings: UsersSettings, rounds: int) -> float:
    hasher = passwords_from(settings)._hasher  # the same PasswordHasher the service uses
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        hasher.hash(PASSWORD)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def main(seconds: float, concurrency: int, rounds: int, db_url: str) -> None:
    prod = UsersSettings.model_validate(UNTHROTTLED)
    weak = UsersSettings.model_validate({**WEAK, **UNTHROTTLED})
    print(f"argon2id m={prod.argon2_memory_kib} KiB t={prod.argon2_time_cost} "
          f"p={prod.argon2_parallelism}: {hash_ms(prod, rounds):.1f} ms per hash (median of "
          f"{rounds}); test parameters: {hash_ms(weak, rounds):.2f} ms")
    base = await baseline(seconds, concurrency)
    print(f"baseline bare FastAPI POST: {base:,.0f} req/s (concurrency {concurrency})")
    for label, st in (("production argon2", prod), ("test argon2", weak)):
        login, refresh = await users_rates(st, seconds, concurrency, db_url)
        print(f"{label:>18}: login {login:,.1f} req/s ({login / base:.3f}x baseline), "
              f"refresh {refresh:,.1f} req/s ({refresh / base:.3f}x baseline)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=20, help="hashes timed for the median")
    parser.add_argument("--db-url", default="sqlite://",
                        help="e.g. postgresql://postgres@127.0.0.1/test (a schema per run, "
                             "dropped afterwards)")
    args = parser.parse_args()
    print(f"database: {args.db_url}")
    asyncio.run(main(args.seconds, args.concurrency, args.rounds, args.db_url))
