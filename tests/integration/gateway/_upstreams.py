"""Real upstream services for the gateway tests: small FastAPI apps on real ports.

They stand where the users, trading and market-data services will run, speaking their
documented contracts (JWKS, the internal API-key grant, the account list) over real HTTP,
so the gateway is exercised exactly as in production: nothing inside it is replaced.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from argosy.contracts import headers as h
from argosy.contracts.v1.identity import ApiKeyGrant
from argosy.kernel.errors import ArgosyError
from argosy.platform.auth.internal import InternalAuth
from tests.support.servers import free_port
from tests.unit.services.gateway._forge import SigningKey, jwks

__all__ = ["EchoState", "ServerThread", "UsersState", "echo_app", "users_app"]

_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


class ServerThread:
    """uvicorn on a free 127.0.0.1 port, in a thread with its own event loop."""

    def __init__(self, app: Any, name: str = "upstream") -> None:
        self.port = free_port()
        self.name = name
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="on", loop="asyncio")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{name}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self, timeout_s: float = 20.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)


def _principal(auth: InternalAuth, request: Request) -> dict[str, Any] | str:
    try:
        p = auth.verify(request.headers.get(h.IDENTITY))
    except ArgosyError as exc:
        return f"rejected: {exc.message}"
    return {"subject": p.subject, "permissions": sorted(p.permissions), "org": p.org}


@dataclass
class EchoState:
    instance: str
    ready: bool = True
    calls: int = 0
    fail_with: int | None = None  # answer every request with this status


def _echo(service: str, state: EchoState,
          auth: InternalAuth) -> Callable[[Request], Awaitable[Response]]:
    """Answers what it received, so a test sees exactly what the gateway forwarded.

    `/.../slow?s=<seconds>` waits first; `/.../status/<code>` answers that status;
    `/.../big` answers 2 MB.
    """

    async def echo(request: Request) -> Response:
        state.calls += 1
        path = request.url.path
        if state.fail_with is not None:
            return JSONResponse({"detail": "failing on purpose"}, state.fail_with)
        if path.endswith("/big"):
            return Response(b"x" * 2_000_000, media_type="application/octet-stream")
        if path.endswith("/slow"):
            await asyncio.sleep(float(request.query_params.get("s", "1")))
        if "/status/" in path:
            code = int(path.rsplit("/", 1)[1])
            return JSONResponse({"error": {"code": "x", "message": f"asked for {code}",
                                           "field": None, "request_id": None}}, code)
        body = await request.body()
        return JSONResponse({
            "service": service, "instance": state.instance, "method": request.method,
            "path": path, "raw_path": request.scope.get("raw_path", b"").decode(),
            "query": request.url.query, "headers": dict(request.headers),
            "header_list": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body": body.decode(errors="replace"), "principal": _principal(auth, request),
        }, headers={"x-upstream": state.instance, "set-cookie": "a=1"})

    return echo


def echo_app(service: str, state: EchoState, auth: InternalAuth) -> FastAPI:
    app = FastAPI(title=f"{service} stand-in", docs_url=None, redoc_url=None)
    echo = _echo(service, state, auth)

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        return JSONResponse({"status": "ready" if state.ready else "not_ready"},
                            200 if state.ready else 503)

    @app.get("/api/v1/orders", summary="List orders")
    async def list_orders(request: Request) -> Response:
        return await echo(request)

    @app.get("/api/v1/orders/redirect", include_in_schema=False)
    async def redirect(request: Request, to: str = "self") -> Response:
        """An absolute redirect to itself, as FastAPI's trailing-slash 307 makes one."""
        target = f"{str(request.base_url).rstrip('/')}/api/v1/orders?from=redirect"
        return RedirectResponse(target if to == "self" else to, status_code=307)

    @app.get("/api/v1/orders/{order_id}", summary="One order")
    async def get_order(order_id: str, request: Request) -> Response:
        return await echo(request)

    app.add_api_route("/{path:path}", echo, methods=_METHODS, include_in_schema=False)
    return app


@dataclass
class UsersState:
    keys: list[SigningKey]
    grants: dict[str, ApiKeyGrant] = field(default_factory=dict)
    accounts: dict[str, list[str]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=lambda: {"jwks": 0, "grant": 0, "accounts": 0})
    grant_callers: list[str] = field(default_factory=list)


def users_app(state: UsersState, auth: InternalAuth) -> FastAPI:
    """The users service's contract as the gateway sees it (contracts/v1/identity.py)."""
    app = FastAPI(title="users stand-in", docs_url=None, redoc_url=None)
    echo_state = EchoState("users-1")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/.well-known/jwks.json")
    async def keys() -> dict[str, Any]:
        state.calls["jwks"] += 1
        return jwks(*state.keys)

    @app.get("/internal/v1/api-keys/{key_id}", include_in_schema=False)
    async def grant(key_id: str, request: Request) -> Response:
        state.calls["grant"] += 1
        who = _principal(auth, request)
        state.grant_callers.append(who["subject"] if isinstance(who, dict) else who)
        if not isinstance(who, dict) or who["subject"] != "service:gateway":
            return JSONResponse({"error": {"code": "forbidden", "message": "gateway only",
                                           "field": None, "request_id": None}}, 403)
        found = state.grants.get(key_id)
        if found is None:
            return JSONResponse({"error": {"code": "not_found", "message": "no such key",
                                           "field": None, "request_id": None}}, 404)
        return JSONResponse(found.model_dump())

    @app.get("/api/v1/accounts", summary="The caller's trading accounts")
    async def accounts(request: Request) -> Response:
        state.calls["accounts"] += 1
        who = _principal(auth, request)
        if not isinstance(who, dict):
            return JSONResponse({"error": {"code": "unauthorized", "message": who,
                                           "field": None, "request_id": None}}, 401)
        user = who["subject"].removeprefix("user:")
        return JSONResponse({"items": [{"id": a, "kind": "paper"}
                                       for a in state.accounts.get(user, [])]})

    app.add_api_route("/{path:path}", _echo("users", echo_state, auth), methods=_METHODS,
                      include_in_schema=False)
    return app
