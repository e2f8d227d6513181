"""End to end through real processes (config and risk, embedded NATS, as `argosy run`
starts them): rules versions reach the config service, a rollback there comes back to the
risk service over the bus, and the rules, an engaged kill switch and a server-side stop
survive a kill -9 of the risk service."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.secrets import read_secret
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

WAIT_S = 60.0  # a restart on two shared cores
ADMIN = frozenset({"risk:read", "risk:admin", "config:read", "config:write"})
ORDER = {"account_id": "acc_e2e", "instrument": "BTC-USDT.binance", "side": "buy",
         "quantity": "1", "price": "100", "mark_price": "100"}  # fmt: skip


@pytest.fixture
def risk_platform(tmp_path: Path) -> Iterator[PlatformProcess]:
    proc = PlatformProcess(
        tmp_path / "var", services=["config", "risk"],
        env={"ARGOSY_RISK_CONFIG_SYNC_S": "0.5", "ARGOSY_RISK_FLUSH_S": "0.2"},
    ).start()  # fmt: skip
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def _call(p: PlatformProcess, method: str, service: str, path: str, **kw: Any) -> httpx.Response:
    auth = InternalAuth(read_secret(p.data_dir / "secrets" / "internal.key"))
    who = kw.pop("who", Principal("operator:e2e", ADMIN))
    headers = {h.IDENTITY: auth.mint(who)}
    return httpx.request(method, f"{p.url(service)}{path}", headers=headers, timeout=10, **kw)


def _until(cond: Callable[[], Any], within_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + within_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = cond()
        except (httpx.TransportError, KeyError, IndexError, LookupError):
            last = None
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not reached within {within_s}s (last: {last!r})")


def test_rules_mirror_rollback_and_kill_switch_survive_kill9(
    risk_platform: PlatformProcess,
) -> None:
    p = risk_platform
    trader = Principal(
        "user:usr_e2e", frozenset({"risk:read", "orders:read", "orders:write"}), "org_e2e"
    )
    v1 = [{"id": "qty", "kind": "max_order_quantity", "limit": "1"}]
    v2 = [{"id": "qty", "kind": "max_order_quantity", "limit": "0.5"}]
    assert _call(p, "PUT", "risk", "/api/v1/risk/rules", json={"rules": v1}).status_code == 200
    assert _call(p, "PUT", "risk", "/api/v1/risk/rules", json={"rules": v2}).status_code == 200
    check = _call(p, "POST", "risk", "/api/v1/risk/check", json=ORDER, who=trader).json()
    assert check["allowed"] is False
    assert check["rule_id"] == "qty"

    # both versions reach the config service
    doc_path = "/api/v1/config/documents/risk/rules"
    _until(lambda: _call(p, "GET", "config", doc_path).json()["content"]["risk_version"] == 2)
    # an operator rolls back there; the risk service adopts it over the bus
    history = _call(p, "GET", "config", f"{doc_path}/history").json()["items"]
    first = min(v["version"] for v in history)
    r = _call(p, "POST", "config", f"{doc_path}/rollback", json={"version": first})
    assert r.status_code == 200, r.text
    adopted = _until(
        lambda: (b := _call(p, "GET", "risk", "/api/v1/risk/rules").json())["version"] == 3 and b
    )
    assert adopted["rules"][0]["limit"] == "1"
    check = _call(p, "POST", "risk", "/api/v1/risk/check", json=ORDER, who=trader).json()
    assert check["allowed"] is True

    # kill switch, then kill -9 the risk service: the supervisor restarts it, state intact
    r = _call(p, "POST", "risk", "/api/v1/risk/kill-switch",
              json={"level": "org", "key": "org_e2e", "reason": "e2e"})  # fmt: skip
    assert r.status_code == 200, r.text
    stop = {"account_id": "acc_e2e", "instrument": "BTC-USDT.binance", "stop_loss": "90",
            "trailing_bps": 300}  # fmt: skip
    r = _call(p, "POST", "risk", "/api/v1/risk/stops", json=stop, who=trader)
    assert r.status_code == 201, r.text
    victim = p.service_pid("risk")
    os.kill(victim, signal.SIGKILL)
    _until(lambda: p.service_pid("risk") != victim)
    p.wait_ready(services=["risk"], timeout_s=WAIT_S)
    rules = _call(p, "GET", "risk", "/api/v1/risk/rules").json()
    assert rules["version"] == 4
    assert rules["kill_switches"][0]["key"] == "org_e2e"
    check = _call(p, "POST", "risk", "/api/v1/risk/check", json=ORDER, who=trader).json()
    assert check["code"] == "kill_switch"
    alerts = _call(p, "GET", "risk", "/api/v1/risk/alerts").json()["items"]
    assert alerts[0]["kind"] == "kill_switch"
    stops = _call(p, "GET", "risk", "/api/v1/risk/stops", who=trader).json()["items"]
    assert [(x["stop_loss"], x["trailing_bps"], x["status"]) for x in stops] == [
        ("90", 300, "active")
    ]
    internal = _call(p, "GET", "risk", "/internal/v1/risk/rules").json()
    assert internal["version"] == 4
