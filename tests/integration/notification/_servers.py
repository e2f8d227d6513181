"""Real local servers of each protocol the notification service speaks.

- `SmtpSink`: aiosmtpd on a free port, plain, STARTTLS or implicit TLS, with AUTH; keeps
  every accepted mail (parsed) and can refuse chosen recipients, stop and start again.
- `HttpRecorder`: a threaded `http.server` that records every request and answers from a
  per-path script, standing in for Twilio, Telegram, a webhook receiver or a push service.
- `self_signed`: a certificate for 127.0.0.1/localhost made with `cryptography`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.servers import free_port

__all__ = ["HttpRecorder", "Recorded", "SmtpSink", "json_reply", "self_signed"]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for CN=localhost with SANs localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        answer = self.sink.refuse.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.content if isinstance(envelope.content, bytes) else (
            envelope.content.encode())
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(msg)
            tls = server.transport.get_extra_info("ssl_object") is not None
            self.sink.sessions.append({"tls": tls, "auth": session.authenticated})
        if self.sink.on_data is not None:  # the mail is kept: what happens before our 250
            self.sink.on_data(msg)
        return "250 Message accepted"


class SmtpSink:
    """A real SMTP server; `mode` is "plain", "starttls" or "tls" (implicit)."""

    def __init__(self, *, mode: str = "plain", cert: tuple[Path, Path] | None = None,
                 auth: tuple[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mode, self.cert, self.auth = mode, cert, auth
        self.messages: list[EmailMessage] = []
        self.sessions: list[dict[str, Any]] = []
        self.refuse: dict[str, str] = {}
        self.on_data: Callable[[EmailMessage], None] | None = None
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.auth is not None
              and (auth_data.login.decode(), auth_data.password.decode()) == self.auth)
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpSink:
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port}
        if self.mode != "plain":
            assert self.cert is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
            if self.mode == "tls":
                kwargs["ssl_context"] = context
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if self.auth is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.mode == "starttls")
        self._controller = Controller(_Handler(self), server_hostname="localhost", **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def wait(self, count: int, within_s: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            await asyncio.sleep(0.02)
        raise AssertionError(f"{len(self.messages)} of {count} mails arrived in {within_s}s")

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class HttpRecorder:
    """Answers `script[path prefix](request)`; the longest matching prefix wins."""

    requests: list[Recorded] = field(default_factory=list)
    script: dict[str, Callable[[Recorded], Reply]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HttpRecorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                req = Recorded(self.command, self.path, {k.lower(): v for k, v in
                                                         self.headers.items()},
                               self.rfile.read(size))
                with recorder.lock:
                    recorder.requests.append(req)
                    prefixes = sorted((p for p in recorder.script if self.path.startswith(p)),
                                      key=len, reverse=True)
                    answer = recorder.script[prefixes[0]] if prefixes else None
                status, headers, body = answer(req) if answer else (
                    200, {"content-type": "application/json"}, b"{}")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def at(self, prefix: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    async def wait(self, prefix: str, count: int, within_s: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            found = self.at(prefix)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"{len(self.at(prefix))} of {count} requests to {prefix}")


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"content-type": "application/json", **(headers or {})}, (
        json.dumps(body).encode())
