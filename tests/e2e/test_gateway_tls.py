"""Issue #4, TLS: `argosy serve gateway` with ARGOSY_GATEWAY_TLS_CERTFILE/KEYFILE serves
HTTPS and WSS with TLS 1.3 only; a TLS 1.2 client is refused at the handshake."""

from __future__ import annotations

import json
import ssl
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.integration.gateway._tls import client_context, handshake, self_signed
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e


def test_the_gateway_process_serves_tls_13_only(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    proc = PlatformProcess(tmp_path / "var", command=[
        sys.executable, "-m", "argosy", "serve", "gateway"], env={
        "ARGOSY_GATEWAY_TLS_CERTFILE": str(cert), "ARGOSY_GATEWAY_TLS_KEYFILE": str(key)})
    port = proc.port_base  # the gateway's offset is 0
    tls13 = client_context(cert, ssl.TLSVersion.TLSv1_3)
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"https://127.0.0.1:{port}/readyz", verify=tls13, timeout=2)
                break
            except httpx.TransportError:
                assert proc.proc is not None
                assert proc.proc.poll() is None, proc.log()
                assert time.monotonic() < deadline, proc.log()
                time.sleep(0.2)
        assert ready.status_code == 200, ready.text
        assert handshake(port, tls13) == "TLSv1.3"
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            handshake(port, client_context(cert, ssl.TLSVersion.TLSv1_2))
        with pytest.raises(httpx.TransportError):  # plain HTTP on the TLS port
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        health = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=tls13, timeout=5)
        assert (health.status_code, health.json()["service"]) == (200, "gateway")
        with connect(f"wss://127.0.0.1:{port}/ws?token=x.y.z", ssl=tls13,
                     open_timeout=10) as ws:  # WSS: the same listener, the same rule
            assert json.loads(ws.recv(timeout=5))["code"] == "unauthorized"
    finally:
        proc.stop()  # uvicorn re-raises SIGTERM after its graceful shutdown: exit -15
    out = proc.output.read_text(errors="replace")
    assert "Traceback" not in out, out[out.index("Traceback") - 1500:][:6000]
