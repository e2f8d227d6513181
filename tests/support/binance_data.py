"""The recorded Binance data in ../shared/data, read the way tests need it.

Everything here reads files verbatim (see ../shared/data/MANIFEST.md); nothing is made up.
The loaders are deliberately naive (json, csv, dicts) so that tests comparing the
connector's output with them compare against an independent reading of the source.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.servers import SHARED_DATA

__all__ = [
    "SHARED_DATA",
    "book_file",
    "depth_events",
    "rest_snapshots",
    "stream_events",
    "trade_rows",
    "ws_file",
    "ws_lines",
]


def ws_file(name: str) -> Path:
    return SHARED_DATA / "ws" / name


def book_file(name: str) -> Path:
    return SHARED_DATA / "book" / name


def ws_lines(path: Path) -> Iterator[dict[str, Any]]:
    """`{"recv_ts_ns", "msg"}` per line, gzip or plain."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        for line in handle:
            if line.strip():
                yield json.loads(line)


@cache
def stream_events(name: str) -> tuple[tuple[int, str, dict[str, Any]], ...]:
    """(recv_ts_ns, stream, data) of every stream frame in a ws recording, in file order."""
    return tuple(
        (row["recv_ts_ns"], row["msg"]["stream"], row["msg"]["data"])
        for row in ws_lines(ws_file(name))
        if "stream" in row["msg"]
    )


def depth_events(name: str, symbol: str) -> list[dict[str, Any]]:
    return [d for _, _, d in stream_events(name) if d.get("e") == "depthUpdate"
            and d["s"] == symbol]


def rest_snapshots(name: str) -> list[dict[str, Any]]:
    """Rows of a book/*_rest_depth_snapshots.jsonl file."""
    with book_file(name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@cache
def trade_rows(name: str) -> tuple[dict[str, str], ...]:
    with (SHARED_DATA / "trades" / name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))
