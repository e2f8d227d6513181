"""A local Binance serving recorded market data over Binance's protocol (see server.py)."""

from argosy.venues.replay.recordings import Recording, load_recording
from argosy.venues.replay.server import ReplayServer, ReplaySettings

__all__ = ["Recording", "ReplayServer", "ReplaySettings", "load_recording"]
