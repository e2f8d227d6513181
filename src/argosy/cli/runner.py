"""`argosy run` (the whole platform) and `argosy serve <service>` (one process)."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from argosy.contracts.services import SERVICES, service_info
from argosy.platform.logging import configure_logging
from argosy.platform.runtime.launchers import ForkLauncher, Launcher, SubprocessLauncher
from argosy.platform.runtime.nats_server import EmbeddedNats
from argosy.platform.runtime.replay_process import ReplayProcess
from argosy.platform.runtime.supervisor import ChildSpec, Supervisor, python_argv
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.market_data.replay_venue import plan_replay
from argosy.services.market_data.settings import MarketDataSettings

__all__ = ["run", "serve"]

console = Console()
_SERVICE_HELP = ", ".join(s.name for s in SERVICES)


def serve(
    service: Annotated[str, typer.Argument(help=_SERVICE_HELP)],
) -> None:
    """Run one service in the foreground (how a deployment runs each of them)."""
    try:
        service_info(service)
    except KeyError as exc:
        raise typer.BadParameter(str(exc).strip("'\"")) from None
    serve_service(service)


def serve_service(service: str) -> int:
    """Build and run one service until it is told to stop (also what the fork server runs)."""
    import uvicorn

    info = service_info(service)
    platform = load_settings(PlatformSettings)
    configure_logging(platform.log_level, fmt=platform.log_format, service=info.name)
    module = importlib.import_module(f"argosy.services.{info.package}.app")
    app = module.create_app(platform)
    port = app.state.runtime.spec.settings.port or platform.port_of(info.name)
    # a service may add uvicorn options (the gateway: TLS 1.3 only, connection limits)
    options = getattr(module, "uvicorn_options", None)
    config = uvicorn.Config(
        app, host=platform.host, port=port, log_config=None, access_log=False,
        lifespan="on", loop="uvloop", http="httptools", server_header=False,
        timeout_graceful_shutdown=10, **(options(app) if options else {}),
    )
    uvicorn.Server(config).run()
    return 0


def run(
    services: Annotated[
        str | None, typer.Option(help="Comma-separated subset of services to start.")
    ] = None,
    fork: Annotated[
        bool, typer.Option(help="Fork services from one pre-loaded process (faster, leaner); "
                                "--no-fork starts a fresh interpreter for each.")
    ] = True,
) -> None:
    """Start the whole platform on this machine: embedded NATS and nine services."""
    platform = load_settings(PlatformSettings)
    names = [service_info(s.strip()).name for s in services.split(",")] if services else [
        s.name for s in SERVICES
    ]
    data_dir = platform.data_path
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = dict(os.environ)
    env["ARGOSY_DATA_DIR"] = str(data_dir)
    nats: EmbeddedNats | None = None
    if "bus_url" not in platform.model_fields_set:
        nats = EmbeddedNats(data_dir / "nats", data_dir / "logs" / "nats.log", host="127.0.0.1")
        env["ARGOSY_BUS_URL"] = nats.url
    elif platform.bus_url.startswith("memory:"):
        raise typer.BadParameter(
            "ARGOSY_BUS_URL=memory:// cannot connect separate processes; unset it (embedded "
            "NATS) or point it at nats:// or kafka://"
        )
    replay = _replay_venue(names, env, data_dir)
    table = Table(title=f"Argosy — data in {data_dir}", show_lines=False)
    table.add_column("service")
    table.add_column("url")
    children = []
    for name in names:
        url = platform.url_of(name)
        table.add_row(name, url)
        children.append(ChildSpec(name, url))
    console.print(table)
    console.print(f"logs: {data_dir / 'logs'}   stop: Ctrl-C")
    launcher: Launcher = (
        ForkLauncher([sys.executable, "-m", "argosy.cli.zygote"], env,
                     data_dir / "logs" / "forkserver.log")
        if fork else SubprocessLauncher(python_argv, env)
    )
    sup = Supervisor(
        children, data_dir=data_dir, launcher=launcher, embedded_nats=nats,
        say=lambda msg: console.print(msg, markup=False, highlight=False),
    )
    raise typer.Exit(asyncio.run(_supervise(sup, replay)))


def _replay_venue(names: list[str], env: dict[str, str], data_dir: Path) -> ReplayProcess | None:
    """Replay mode (the default under `run`): a replay venue over the recordings, its URL
    passed to market-data; see services/market_data/replay_venue.py."""
    if "market-data" not in names:
        return None
    plan = plan_replay(load_settings(MarketDataSettings))
    console.print(plan.message, markup=False, highlight=False)
    env.update(plan.env)
    if not plan.files:
        return None
    replay = ReplayProcess(plan.files, data_dir / "logs" / "replay.log", speed=plan.speed)
    env["ARGOSY_MARKET_DATA_REPLAY_URL"] = replay.url
    return replay


async def _supervise(sup: Supervisor, replay: ReplayProcess | None) -> int:
    """The supervisor's run, with the replay venue alive around it (stopped last)."""
    if replay is None:
        return await sup.run()
    keeper = asyncio.create_task(replay.keep_alive(
        lambda msg: console.print(msg, markup=False, highlight=False)))
    try:
        return await sup.run()
    finally:
        await replay.stop()
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
