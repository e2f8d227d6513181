"""HTTPS/WSS with TLS 1.3 only: a TLS 1.2 client is refused at the handshake."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect

from argosy.services.gateway.serving import uvicorn_options
from tests.integration.gateway._tls import client_context, handshake, self_signed
from tests.integration.gateway.conftest import GatewayFactory
from tests.support.servers import free_port


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
