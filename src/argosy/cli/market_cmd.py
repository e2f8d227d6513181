"""`argosy backfill rest|archive ...`: history into the market-data service's storage.

    argosy backfill rest BTC-USDT.binance --start 2024-08-08T23:54:00Z --end 2024-08-09
    argosy backfill rest XRP-ETH.binance --kind aggTrades --start 2019-10-11 --end 2019-10-12
    argosy backfill rest BTC-USDT-PERP.binance --kind klines --interval 1h --start ...
    argosy backfill archive BTC-USDT.binance ~/Downloads/BTCUSDT-trades-2024-08-08.zip

By default the job runs here, on the storage the service uses (same settings). While the
platform runs on the embedded chdb only one process may open that store: `--service`
hands the job to the running market-data service instead and follows its progress.
REST calls go to Binance, to the replay venue in replay mode, or to `--rest-url`.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from argosy.contracts import headers as h
from argosy.kernel.errors import ArgosyError
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.market_data.feeds import binance_urls
from argosy.services.market_data.jobs import BackfillSpec, run_job
from argosy.services.market_data.offline import open_storage
from argosy.services.market_data.settings import MarketDataSettings
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.rest import BinanceRestClient

__all__ = ["app"]

app = typer.Typer(help="Fill market history from REST or archive files.", no_args_is_help=True)
console = Console()

Service = Annotated[bool, typer.Option("--service", help="Let the running market-data "
                                                         "service run the job.")]


def _fail(message: str) -> typer.Exit:
    console.print(message, style="red", markup=False)
    return typer.Exit(1)


async def _local(spec: BackfillSpec, rest_url: str | None) -> dict[str, Any]:
    platform = load_settings(PlatformSettings)
    settings = load_settings(MarketDataSettings)
    clients: dict[str, BinanceRestClient] = {}

    def rest_for(market: str) -> BinanceRestClient:
        if market not in clients:
            base = rest_url or (binance_urls(settings, market) or (None, None))[0]
            if base is None:
                raise ArgosyError(f"no REST venue for binance {market} in "
                                  f"{settings.binance_mode} mode; pass --rest-url",
                                  code="unavailable")
            clients[market] = BinanceRestClient(BinanceMarket(market), base_url=base)
        return clients[market]

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rows]}"
                  " rows"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(f"{spec.source} {spec.kind} {spec.instrument}", total=1.0, rows=0)

        def progress(rows: int, fraction: float | None) -> None:
            bar.update(task, rows=rows or bar.tasks[task].fields["rows"],
                       completed=fraction if fraction is not None else None)

        try:
            async with open_storage(platform, settings, rest_for) as storage:
                return await run_job(spec, storage.backfiller, storage.db, storage.store,
                                     by=f"operator:{getpass.getuser()}", progress=progress)
        finally:
            for client in clients.values():
                await client.aclose()


def _remote(spec: BackfillSpec) -> dict[str, Any]:
    platform = load_settings(PlatformSettings)
    secret = platform.internal_secret_file or platform.data_path / "secrets" / "internal.key"
    if not secret.exists():
        raise _fail(f"no internal secret at {secret}; has the platform started?")
    auth = InternalAuth(read_secret(secret))
    who = Principal(f"operator:{getpass.getuser()}", frozenset({"market:read", "market:admin"}))
    base = f"{platform.url_of('market-data')}/api/v1/market/backfill"
    body = {k: v for k, v in spec.params().items() if k not in ("start_ns", "end_ns")}
    body |= {"start": spec.start_ns and str(spec.start_ns), "end": spec.end_ns and
             str(spec.end_ns)}
    with httpx.Client(timeout=10) as http, Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(), console=console,
    ) as bar:
        try:
            started = http.post(base, json=body, headers={h.IDENTITY: auth.mint(who)})
        except httpx.TransportError as exc:
            raise _fail(f"market-data service unreachable at {base}: {exc}") from None
        if started.status_code >= 400:
            raise _fail(f"{started.status_code}: {started.json().get('error', {}).get('message')}")
        job_id = started.json()["id"]
        task = bar.add_task(f"{spec.source} {spec.kind} {spec.instrument} (job {job_id[:8]})",
                            total=None, rows=0)
        while True:
            job = http.get(f"{base}/{job_id}", headers={h.IDENTITY: auth.mint(who)}).json()
            bar.update(task, rows=job.get("rows", 0))
            if job.get("status") != "running":
                bar.update(task, total=1, completed=1)
                return dict(job)
            time.sleep(0.5)


def _run(spec: BackfillSpec, service: bool, rest_url: str | None) -> None:
    try:
        job = _remote(spec) if service else asyncio.run(_local(spec, rest_url))
    except ArgosyError as error:
        hint = ""
        if "in use" in error.message or "already" in error.message:
            hint = " (is the platform running? use --service)"
        raise _fail(f"backfill failed: {error.message}{hint}") from None
    style = "green" if job["status"] == "done" else "red"
    console.print(f"{job['status']}: {job['detail']} ({job['rows']} rows, {job['bars']} 1m "
                  f"bars)", style=style, markup=False)
    if job["status"] != "done":
        raise typer.Exit(1)


def _spec(data: dict[str, Any]) -> BackfillSpec:
    try:
        return BackfillSpec.parse(data)
    except ArgosyError as error:
        raise typer.BadParameter(error.message) from None


@app.command("rest")
def rest(
    instrument: Annotated[str, typer.Argument(help="e.g. BTC-USDT.binance")],
    kind: Annotated[str, typer.Option(help="trades | aggTrades | klines")] = "trades",
    start: Annotated[str | None, typer.Option(help="ns, ISO 8601 or YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="ns, ISO 8601 or YYYY-MM-DD")] = None,
    from_id: Annotated[int | None, typer.Option(help="trades: first trade id")] = None,
    to_id: Annotated[int | None, typer.Option(help="trades: last trade id")] = None,
    interval: Annotated[str, typer.Option(help="klines: 1s 1m 5m 15m 1h 4h 1d")] = "1m",
    rest_url: Annotated[str | None, typer.Option(help="REST base URL (Binance or a "
                                                      "replay venue)")] = None,
    reconcile: Annotated[bool, typer.Option(help="Compare bars with the venue's klines")
                         ] = True,
    service: Service = False,
) -> None:
    """From the exchange's REST API (historicalTrades, aggTrades, klines)."""
    _run(_spec({"instrument": instrument, "source": "rest", "kind": kind, "start": start,
                "end": end, "from_id": from_id, "to_id": to_id, "interval": interval,
                "reconcile": reconcile}), service, rest_url)


@app.command("archive")
def archive(
    instrument: Annotated[str, typer.Argument(help="e.g. BTC-USDT-PERP.binance")],
    paths: Annotated[list[Path], typer.Argument(help="Binance archive zips or CSVs "
                                                     "(<SYMBOL>-trades-2024-08-08.zip, ...)")],
    reconcile: Annotated[bool, typer.Option(help="Compare bars with stored klines")] = True,
    service: Service = False,
) -> None:
    """From Binance's public data archive files (data.binance.vision), given as paths."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}")
    _run(_spec({"instrument": instrument, "source": "archive", "kind": "trades",
                "paths": [str(p.resolve()) for p in paths], "reconcile": reconcile}),
         service, None)
