"""HTTPS/WSS with TLS 1.3 only: a TLS 1.2 client is refused at the handshake."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
import ssl
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect

from argosy.services.gateway.serving import uvicorn_options
from tests.integration.gateway.conftest import GatewayFactory
from tests.support.servers import free_port


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


def client_context(cert: Path, version: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def handshake(port: int, ctx: ssl.SSLContext) -> str | None:
    """A blocking TLS handshake (in a thread, so the server's loop keeps running)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return tls.version()


async def test_tls_13_only(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with make_gateway(tls_certfile=cert, tls_keyfile=key) as gw:
        port = free_port()
        config = uvicorn.Config(gw.app, host="127.0.0.1", port=port, log_config=None,
                                access_log=False, lifespan="off", **uvicorn_options(gw.app))
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            assert config.ssl is not None
            assert config.ssl.minimum_version is ssl.TLSVersion.TLSv1_3
            tls12 = client_context(cert, ssl.TLSVersion.TLSv1_2)
            # the server aborts the handshake (asyncio sends no alert): the client sees EOF
            with pytest.raises((ssl.SSLError, ConnectionResetError)):
                await asyncio.to_thread(handshake, port, tls12)
            assert await asyncio.to_thread(
                handshake, port, client_context(cert, ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"
            tls13 = client_context(cert, ssl.TLSVersion.TLSv1_3)
            async with httpx.AsyncClient(verify=tls13) as http:
                r = await http.get(f"https://127.0.0.1:{port}/healthz")
            assert (r.status_code, r.json()["service"]) == (200, "gateway")
            token = gw.stack.key.token()
            async with connect(f"wss://127.0.0.1:{port}/ws?token={token}", ssl=tls13) as ws:
                assert json.loads(await ws.recv())["op"] == "authenticated"
            with pytest.raises(httpx.TransportError):  # plain HTTP on the TLS port
                async with httpx.AsyncClient() as http:
                    await http.get(f"http://127.0.0.1:{port}/healthz")
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 15)


def test_tls_needs_both_files(tmp_path: Path) -> None:
    from argosy.services.gateway.settings import GatewaySettings

    with pytest.raises(ValueError, match="go together"):
        GatewaySettings(tls_certfile=tmp_path / "c.pem")
