"""deploy/healthcheck.py: which service runs in the container, on which port, and is it up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from argosy.contracts.services import SERVICES
from tests.unit.deploy._deploy import DEPLOY, load_module

hc = load_module(DEPLOY / "healthcheck.py")


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = HTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("cmdline", [
    b"/app/.venv/bin/python\0/app/.venv/bin/argosy\0serve\0market-data\0",
    b"/sbin/docker-init\0--\0argosy\0serve\0market-data\0",  # compose `init: true`
])
def test_service_is_read_from_pid_1(cmdline: bytes) -> None:
    assert hc.service_from_cmdline(cmdline) == "market-data"


def test_no_service_on_another_command_line() -> None:
    assert hc.service_from_cmdline(b"/bin/sh\0-c\0serve\0") is None
    assert hc.service_from_cmdline(b"argosy\0run\0") is None
    assert hc.service_from_cmdline(b"argosy\0serve\0") is None


def test_port_follows_the_settings() -> None:
    for info in SERVICES:
        assert hc.port_of(info.name, {}) == 8080 + info.port_offset
    assert hc.port_of("risk", {"ARGOSY_PORT_BASE": "9000"}) == 9005
    assert hc.port_of("market-data", {"ARGOSY_MARKET_DATA_PORT": "7001",
                                      "ARGOSY_PORT_BASE": "9000"}) == 7001


def test_healthy_and_unhealthy(server: int, tmp_path: Path) -> None:
    proc = tmp_path / "cmdline"
    proc.write_bytes(b"argosy\0serve\0gateway\0")
    assert hc.main({"ARGOSY_GATEWAY_PORT": str(server)}, proc) == 0
    assert hc.main({"ARGOSY_SERVICE": "risk", "ARGOSY_RISK_PORT": str(server)}, proc) == 0
    httpd_gone = {"ARGOSY_GATEWAY_PORT": "1"}  # nothing listens on port 1
    assert hc.main(httpd_gone, proc) == 1
    proc.write_bytes(b"argosy\0run\0")
    assert hc.main({}, proc) == 1
