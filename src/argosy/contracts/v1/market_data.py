"""Payloads the market-data service publishes on `md.*` (JSON, UTF-8).

Single messages are the kernel's wire form (`kernel.messages.to_dict`: decimals as
canonical strings, int nanosecond times, a `type` key). Streams that arrive faster than a
bus should carry one message each are batched per instrument and publish window:

- `md.trade.<venue>.<symbol>`: `{"type": "trades", "instrument_id", "items": [trade...]}`,
  items in trade id order;
- `md.book.<venue>.<symbol>`: `{"type": "book_deltas", "instrument_id", "items":
  [book_delta...]}` (apply in order; size "0" removes a level), and at intervals and after
  every resync `{"type": "book_snapshot", "instrument_id", "sequence", "ts_ns", "bids":
  [[price, size]...], "asks": [...]}` (best first) to start from or to check against;
- `md.ticker.<venue>.<symbol>`: the latest quote (`type` "quote"), conflated: at most one
  per instrument and window;
- `md.bar.<interval>.<venue>.<symbol>`: one closed bar (`type` "bar") built from trades;
- `md.alarm.<venue>`: `{"type": "alarm", "venue", "kind", "message", "ts_ns", "market",
  "symbol", "details"}`: a hole or an anomaly in the feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["alarm_payload", "book_deltas_payload", "book_snapshot_payload", "trades_payload"]


def trades_payload(instrument_id: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "trades", "instrument_id": instrument_id, "items": list(items)}


def book_deltas_payload(instrument_id: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "book_deltas", "instrument_id": instrument_id, "items": list(items)}


def book_snapshot_payload(instrument_id: str, sequence: int, ts_ns: int,
                          bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]
                          ) -> dict[str, Any]:
    return {"type": "book_snapshot", "instrument_id": instrument_id, "sequence": sequence,
            "ts_ns": ts_ns, "bids": [list(level) for level in bids],
            "asks": [list(level) for level in asks]}


def alarm_payload(alarm: dict[str, Any]) -> dict[str, Any]:
    return {"type": "alarm", **alarm}
