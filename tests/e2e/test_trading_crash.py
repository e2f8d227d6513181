"""Crash and restart: the trading process is killed with SIGKILL between writing an order
and sending it, and between sending it and recording the answer (the settings-driven hook
`ARGOSY_TRADING_CRASH_AT`, which kills the process once). The supervisor restarts it; it
reconciles with the (re-seeded) paper venue over the replayed real Binance market, and
ends with no lost, duplicated or phantom order, fills that add up, and idempotent retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from argosy.contracts import headers as h
from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
SPOT = "BTC-USDT.binance"


def _until(check: Callable[[], Any], timeout_s: float, what: str, proc: PlatformProcess) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.TransportError, LookupError, psutil.Error):  # restarting
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout_s}s\n{proc.service_log('trading')[-4000:]}"
                         f"\n{proc.log()}")


@pytest.fixture(params=["after_write", "after_send"])
def crashing(request: pytest.FixtureRequest, tmp_path: Path,
             shared_data: Path) -> Iterator[tuple[PlatformProcess, str]]:
    point = str(request.param)
    proc = PlatformProcess(tmp_path / "var", services=["config", "market-data", "users",
                                                       "trading"], env={
        "ARGOSY_MARKET_DATA_REPLAY_SPEED": "5",
        "ARGOSY_TRADING_CRASH_AT": point,
        "ARGOSY_TRADING_CRASH_MARKER_FILE": str(tmp_path / "crashed"),
    }).start()
    try:
        proc.wait_ready()
        yield proc, point
    finally:
        proc.stop()


def test_kill_9_loses_duplicates_and_invents_nothing(
        crashing: tuple[PlatformProcess, str], tmp_path: Path) -> None:
    p, point = crashing
    r = httpx.post(f"{p.url('users')}/api/v1/auth/register", json={
        "email": f"crash-{time.time_ns()}@example.com", "password": PASSWORD,
        "locale": "en"}, timeout=10)
    assert r.status_code == 201, r.text
    user_id, org = r.json()["user_id"], r.json()["org"]
    auth = InternalAuth(read_secret(p.data_dir / "secrets" / "internal.key"))
    me = Principal(f"user:{user_id}", BUILTIN_ROLES["trader"], org)
    trading = p.url("trading")

    def call(method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, f"{trading}{path}", headers={h.IDENTITY: auth.mint(me)},
                             timeout=15, **kw)

    def balances() -> dict[str, Decimal]:
        items = call("GET", "/api/v1/balances").json()["items"]
        return {b["asset"]: Decimal(b["total"]) for b in items}

    start = _until(lambda: balances().get("USDT"), 60, "the paper account opened", p)
    market = p.headers(frozenset({"market:read"}))
    _until(lambda: httpx.get(f"{p.url('market-data')}/api/v1/market/book",
                             params={"instrument": SPOT, "depth": 5}, headers=market,
                             timeout=5).status_code == 200, 90, "a live book", p)
    order = {"instrument": SPOT, "side": "buy", "type": "market", "quantity": "0.002",
             "client_order_id": f"crash-{point}"}
    pid = p.service_pid("trading")
    with pytest.raises(httpx.TransportError):  # the process dies mid-request
        call("POST", "/api/v1/orders", json=order)
    assert (tmp_path / "crashed").read_text() == point
    _until(lambda: p.service_pid("trading") != pid and httpx.get(
        f"{trading}/readyz", timeout=2).status_code == 200, 90, "trading restarted", p)

    def settled() -> list[dict[str, Any]]:
        items = call("GET", "/api/v1/orders").json()["items"]
        return items if items and all(o["status"] == "filled" for o in items) else []

    [stored] = _until(settled, 60, "the order recovered and filled", p)  # not lost, once
    assert stored["client_order_id"] == order["client_order_id"]
    retry = call("POST", "/api/v1/orders", json=order)  # the client retries: same order
    assert retry.status_code == 200, retry.text
    assert retry.json()["id"] == stored["id"]
    assert len(call("GET", "/api/v1/orders").json()["items"]) == 1  # nothing invented
    fills = call("GET", "/api/v1/fills").json()["items"]
    assert sum(Decimal(f["quantity"]) for f in fills) == Decimal("0.002")  # filled once
    cost = sum(Decimal(f["price"]) * Decimal(f["quantity"]) + Decimal(f["fee"]) for f in fills)
    after = balances()
    assert after["BTC"] == Decimal("0.002")
    assert after["USDT"] == start - cost
    [position] = call("GET", "/api/v1/positions").json()["items"]
    assert Decimal(position["quantity"]) == Decimal("0.002")
    detail = call("GET", f"/api/v1/orders/{stored['id']}").json()
    assert [t["to_status"] for t in detail["transitions"]][:2] == ["new", "submitted"]
