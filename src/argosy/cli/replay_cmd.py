"""`argosy replay <files...>`: recorded market data served over Binance's own protocol.

Point the platform's Binance connector at the printed URLs and it runs on real recorded
markets with no exchange access. Register with `app.command("replay")(replay_cmd.replay)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay.recordings import Recording, load_recording
from argosy.venues.replay.server import ReplayServer, ReplaySettings

__all__ = ["parse_speed", "replay"]

console = Console()


def parse_speed(text: str) -> float | None:
    """"1", "10", "0.5" -> a factor; "max" (or 0) -> as fast as clients read."""
    if text.strip().lower() in ("max", "0"):
        return None
    try:
        speed = float(text)
    except ValueError:
        raise typer.BadParameter(f"speed must be a number or 'max', got {text!r}") from None
    if speed <= 0:
        raise typer.BadParameter("speed must be positive")
    return speed


def _exchange_info(path: Path | None) -> dict[BinanceMarket, dict[str, Any]]:
    if path is None:
        return {}
    body = json.loads(path.read_text(encoding="utf-8"))
    market = BinanceMarket.USDM if "futuresType" in body else BinanceMarket.SPOT
    return {market: body}


def _summary(recording: Recording, server: ReplayServer) -> None:
    console.print(f"[bold]argosy replay[/] on {server.rest_url}  "
                  f"({len(recording.loaded)} files, {len(recording.frames)} frames)")
    for market in BinanceMarket:
        symbols = sorted(recording.symbols(market))
        if symbols:
            console.print(f"  {market.value:5} REST {server.rest_url}   WS {server.ws_url(market)}"
                          f"   {', '.join(symbols)}")
    for path, reason in recording.skipped.items():
        console.print(f"  [dim]skipped {Path(path).name}: {reason}[/]")
    console.print(f"  faults: POST {server.rest_url}/_replay/{{drop,stall,skip,duplicate,"
                  f"reject}}; status: GET {server.rest_url}/_replay/status")


def _accounts(path: Path | None) -> list[dict[str, Any]]:
    """Trading accounts for the signed endpoints, from a JSON file (secrets stay off argv).

    `[{"name": "desk", "api_key": "...", "api_secret": "...", "spot": {"USDT": "10000"},
    "futures": {"USDT": "5000"}}]`
    """
    if path is None:
        return []
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read accounts file {path}: {exc}") from None
    if not isinstance(body, list):
        raise typer.BadParameter("accounts file must hold a JSON list of accounts")
    for index, entry in enumerate(body):
        missing = [k for k in ("name", "api_key", "api_secret")
                   if not isinstance(entry, dict) or not isinstance(entry.get(k), str)]
        if missing:
            raise typer.BadParameter(f"accounts[{index}] lacks {', '.join(missing)}")
    return body


async def _serve(recording: Recording, settings: ReplaySettings,
                 info: dict[BinanceMarket, dict[str, Any]],
                 accounts: list[dict[str, Any]]) -> None:
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with ReplayServer(recording, settings, exchange_info=info) as server:
        for entry in accounts:
            server.trading.add_account(entry["name"], entry["api_key"], entry["api_secret"],
                                       spot=entry.get("spot"), futures=entry.get("futures"))
        _summary(recording, server)
        if accounts:
            console.print(f"  trading accounts: {', '.join(a['name'] for a in accounts)}")
        finished = asyncio.create_task(server.wait_finished())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({finished, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            console.print("replay finished; serving the final state (Ctrl-C to stop)")
            await stop.wait()
        finished.cancel()


def replay(
    files: Annotated[list[Path], typer.Argument(help="Recording files or directories.")],
    port: Annotated[int, typer.Option(help="0: a free port.")] = 0,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    speed: Annotated[str, typer.Option(help="1, 10, ... or max.")] = "1",
    loop: Annotated[bool, typer.Option("--loop", help="Start over at the end.")] = False,
    wait_for_client: Annotated[bool, typer.Option(
        help="Start the clock when the first client subscribes.")] = True,
    exchange_info: Annotated[Path | None, typer.Option(
        help="A recorded exchangeInfo response to serve instead of the bundled filters.")
    ] = None,
    accounts: Annotated[Path | None, typer.Option(
        help="JSON file of trading accounts (name, api_key, api_secret, spot/futures "
             "balances) for the signed order endpoints.")] = None,
) -> None:
    """Serve recorded Binance data over Binance's WebSocket and REST protocol."""
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}")
    recording = load_recording(files)
    if not recording.frames and not recording.snapshots:
        raise typer.BadParameter("nothing to replay: no Binance spot or USD-M stream data")
    settings = ReplaySettings(
        host=host, port=port, speed=parse_speed(speed), loop=loop,
        start="first_client" if wait_for_client else "now",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(recording, settings, _exchange_info(exchange_info),
                           _accounts(accounts)))
