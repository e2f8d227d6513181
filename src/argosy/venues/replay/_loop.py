"""Looping a recording without breaking the feed's invariants.

A second pass over the same frames would repeat trade and update ids, and a connector that
drops old ids (as it must) would then see nothing. Pass k therefore shifts every id by k
times the id span of its symbol, and every venue timestamp by k times the recording's
length rounded up to a whole day, so kline open times stay aligned. Prices and sizes are
never touched. The book's update ids jump at the seam, which a client sees as a sequence
gap and resolves with a snapshot, exactly as it would after an exchange hiccup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from argosy.venues.replay.recordings import Frame, Snapshot

__all__ = ["LoopShift"]

_DAY_MS = 86_400_000
_SEAM = 1_000_000


@dataclass(slots=True)
class LoopShift:
    time_ms: int = 0
    trade_ids: dict[str, int] = field(default_factory=dict)
    agg_ids: dict[str, int] = field(default_factory=dict)
    update_ids: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, frames: Iterable[Frame], snapshots: Iterable[Snapshot]) -> LoopShift:
        spans: dict[str, dict[str, list[int]]] = {"t": {}, "a": {}, "u": {}}
        first_ms = last_ms = None

        def seen(kind: str, symbol: str, *values: Any) -> None:
            bounds = spans[kind].setdefault(symbol, [1 << 62, -1])
            for value in values:
                if isinstance(value, int):
                    bounds[0], bounds[1] = min(bounds[0], value), max(bounds[1], value)

        for frame in frames:
            d = frame.data
            event_ms = d.get("E")
            if isinstance(event_ms, int):
                first_ms = event_ms if first_ms is None else min(first_ms, event_ms)
                last_ms = event_ms if last_ms is None else max(last_ms, event_ms)
            seen("t", frame.symbol, d.get("t"))
            seen("a", frame.symbol, d.get("a"), d.get("f"), d.get("l"))
            seen("u", frame.symbol, d.get("U"), d.get("u"), d.get("pu"))
        for snap in snapshots:
            seen("u", snap.symbol, snap.msg.get("lastUpdateId"))
        span_ms = (last_ms or 0) - (first_ms or 0)
        days = span_ms // _DAY_MS + 1
        width = {k: {s: hi - lo + 1 for s, (lo, hi) in v.items() if hi >= lo}
                 for k, v in spans.items()}
        # Update ids also skip a margin, so the seam is a gap (a resync) and never looks
        # like a continuation of a book that has in fact jumped back in time.
        updates = {s: w + _SEAM for s, w in width["u"].items()}
        return cls(days * _DAY_MS, width["t"], width["a"], updates)

    def frame(self, frame: Frame, k: int) -> str:
        """The payload of `frame` on pass `k` (k = 0: unchanged)."""
        if k == 0:
            return frame.payload
        return orjson.dumps(self.data(frame.data, frame.symbol, k)).decode()

    def data(self, d: dict[str, Any], symbol: str, k: int) -> dict[str, Any]:
        out = dict(d)
        dt, dtr = k * self.time_ms, k * self.trade_ids.get(symbol, 0)
        da, du = k * self.agg_ids.get(symbol, 0), k * self.update_ids.get(symbol, 0)
        for key, delta in (("E", dt), ("T", dt), ("t", dtr), ("a", da), ("f", da), ("l", da),
                           ("U", du), ("u", du), ("pu", du), ("lastUpdateId", du)):
            if isinstance(out.get(key), int):
                out[key] += delta
        if isinstance(out.get("k"), dict):
            kline = dict(out["k"])
            for key in ("t", "T"):
                if isinstance(kline.get(key), int):
                    kline[key] += dt
            for key in ("f", "L"):
                if isinstance(kline.get(key), int) and kline[key] >= 0:
                    kline[key] += dtr or da
            out["k"] = kline
        return out
