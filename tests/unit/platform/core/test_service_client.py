"""ServiceClient against a real callee app: identity, tracing headers, errors translated back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from fastapi import Depends, FastAPI, Request

from argosy.contracts import headers as h
from argosy.kernel import errors as e
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.clients.base import ServiceClient
from argosy.platform.http.errors import install_error_handlers
from argosy.platform.http.identity import identity_dependency
from argosy.platform.http.middleware import RequestContextMiddleware
from argosy.platform.metrics import Metrics
from tests.support.servers import free_port

AUTH = InternalAuth(b"i" * 32)
CALLER = Principal("service:risk", frozenset({"orders:read"}))


def callee() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=Metrics("trading"))
    identity = identity_dependency(AUTH)

    @app.get("/whoami")
    async def whoami(request: Request, who: Principal = Depends(identity)) -> dict[str, Any]:
        return {"subject": who.subject, "perms": sorted(who.permissions),
                "correlation": request.headers.get(h.CORRELATION_ID)}

    @app.get("/fail/{kind}")
    async def fail(kind: str) -> None:
        raise {
            "invalid": e.Invalid("qty must be positive", field="qty"),
            "missing": e.NotFound("no order o-1"),
            "conflict": e.Conflict("stale"),
            "forbidden": e.Forbidden("nope"),
            "limited": e.RateLimited("slow down", retry_after=7),
            "down": e.Unavailable("db down", dependency="db"),
        }[kind]

    @app.post("/echo")
    async def echo(body: dict[str, int]) -> dict[str, int]:
        return body

    return app


@pytest.fixture
async def client() -> AsyncIterator[ServiceClient]:
    transport = httpx.ASGITransport(app=callee(), raise_app_exceptions=False)
    c = ServiceClient("trading", "http://trading", auth=AUTH, caller=CALLER, transport=transport)
    yield c
    await c.close()


async def test_identity_and_correlation_travel_with_the_call(client: ServiceClient) -> None:
    with structlog.contextvars.bound_contextvars(correlation_id="corr-5", request_id="r-1"):
        body = await client.get_json("/whoami")
    assert body == {"subject": "service:risk", "perms": ["orders:read"], "correlation": "corr-5"}


@pytest.mark.parametrize(
    ("kind", "cls", "field"),
    [("invalid", e.Invalid, "qty"), ("missing", e.NotFound, None),
     ("conflict", e.Conflict, None), ("forbidden", e.Forbidden, None)],
)
async def test_callee_errors_become_the_same_kernel_errors(
    client: ServiceClient, kind: str, cls: type[e.ArgosyError], field: str | None
) -> None:
    with pytest.raises(cls) as info:
        await client.get_json(f"/fail/{kind}")
    assert type(info.value) is cls
    assert info.value.field == field
    assert info.value.message.startswith("trading: ")


async def test_rate_limit_and_outage_translate(client: ServiceClient) -> None:
    with pytest.raises(e.RateLimited) as limited:
        await client.get_json("/fail/limited")
    assert limited.value.retry_after == 7
    with pytest.raises(e.Unavailable) as down:
        await client.get_json("/fail/down")
    assert down.value.dependency == "trading"


async def test_validation_error_keeps_the_field(client: ServiceClient) -> None:
    assert await client.post_json("/echo", {"a": 1}) == {"a": 1}
    with pytest.raises(e.Invalid) as info:
        await client.post_json("/echo", {"a": "x"})
    assert info.value.field == "a"


async def test_bad_identity_is_unauthorized() -> None:
    transport = httpx.ASGITransport(app=callee())
    stranger = ServiceClient("trading", "http://trading", auth=InternalAuth(b"x" * 32),
                             caller=CALLER, transport=transport)
    with pytest.raises(e.Unauthorized):
        await stranger.get_json("/whoami")
    await stranger.close()


async def test_unreachable_service_is_unavailable() -> None:
    c = ServiceClient("trading", f"http://127.0.0.1:{free_port()}", auth=AUTH, caller=CALLER,
                      timeout_s=1)
    with pytest.raises(e.Unavailable) as info:
        await c.get_json("/whoami")
    assert info.value.dependency == "trading"
    await c.close()


async def test_retry_after_as_http_date_does_not_crash() -> None:
    async def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json={"error": {"code": "rate_limited", "message": "later", "field": None}},
            headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
        )

    c = ServiceClient("trading", "http://trading", auth=AUTH, caller=CALLER,
                      transport=httpx.MockTransport(handler))
    with pytest.raises(e.RateLimited) as info:
        await c.get_json("/x")
    assert info.value.retry_after >= 1
    await c.close()
