"""The one error mapping: every kernel error, validation, unknown routes and crashes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from argosy.kernel import errors as e
from argosy.platform.http.errors import STATUS_BY_ERROR, install_error_handlers
from argosy.platform.http.middleware import RequestContextMiddleware
from argosy.platform.metrics import Metrics
from tests.unit.platform.core._capture import ReadLogs

CASES: list[tuple[e.ArgosyError, int, str]] = [
    (e.Invalid("qty must be positive", field="qty"), 422, "invalid"),
    (e.NotFound("no order o-1"), 404, "not_found"),
    (e.Conflict("version 3 is stale", details={"current": 4}), 409, "conflict"),
    (e.Unauthorized("token expired"), 401, "unauthorized"),
    (e.Forbidden("service:risk lacks config:write"), 403, "forbidden"),
    (e.RateLimited("slow down", retry_after=2.3), 429, "rate_limited"),
    (e.Unavailable("database down", dependency="db"), 503, "unavailable"),
    (e.ConfigurationError("ARGOSY_X", "broken"), 500, "configuration"),
    (e.VenueError("binance said no", venue="binance"), 502, "venue_error"),
    (e.VenueRetry("binance 503", venue="binance"), 503, "venue_retry"),
    (e.VenueReconcile("timeout after send", venue="binance"), 502, "venue_reconcile"),
    (e.VenueRejected("insufficient balance", venue="binance", field="qty"), 422,
     "venue_rejected"),
    (e.ArgosyError("plain base error"), 500, "error"),
    (e.Invalid("custom code", code="price_off_tick"), 422, "price_off_tick"),
]


class File(BaseModel):
    path: str = Field(min_length=1)


class Upload(BaseModel):
    name: str
    qty: int = Field(gt=0)
    file: File | None = None


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=Metrics("testsvc"))
    router = APIRouter()

    @router.get("/raise/{index}")
    async def raise_case(index: int) -> None:
        raise CASES[index][0]

    @router.post("/uploads")
    async def upload(body: Upload) -> dict[str, Any]:
        return body.model_dump()

    @router.get("/search")
    async def search(limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("connection string postgresql://u:pw@internal-db:5432 is wrong")

    app.include_router(router)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def assert_error_body(resp: httpx.Response, code: str) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    assert {"code", "message", "field", "request_id"} <= set(err)
    assert err["code"] == code
    assert err["request_id"] == resp.headers["x-request-id"]
    return err


def test_every_kernel_error_class_has_a_status() -> None:
    classes = {c for c in vars(e).values() if isinstance(c, type) and issubclass(c, e.ArgosyError)}
    assert classes - {e.ArgosyError} <= set(STATUS_BY_ERROR)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[2] for c in CASES])
async def test_kernel_error_maps_to_status_and_body(client: httpx.AsyncClient, index: int) -> None:
    exc, status, code = CASES[index]
    resp = await client.get(f"/raise/{index}")
    assert resp.status_code == status
    err = assert_error_body(resp, code)
    assert err["message"] == exc.message
    assert err["field"] == exc.field
    assert err.get("details") == (exc.details or None)


async def test_rate_limited_says_when_to_retry(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"/raise/{[c[2] for c in CASES].index('rate_limited')}")
    assert resp.headers["retry-after"] == "3"


async def test_unauthorized_asks_for_a_bearer(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"/raise/{[c[2] for c in CASES].index('unauthorized')}")
    assert resp.headers["www-authenticate"] == "Bearer"
    other = await client.get(f"/raise/{[c[2] for c in CASES].index('forbidden')}")
    assert "www-authenticate" not in other.headers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a", "qty": 0}, "qty"),
        ({"qty": 1}, "name"),
        ({"name": "a", "qty": "many"}, "qty"),
        ({"name": "a", "qty": 1, "file": {"path": ""}}, "file.path"),
        ({"name": "a", "qty": 1, "file": {}}, "file.path"),
    ],
)
async def test_body_validation_names_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    resp = await client.post("/uploads", json=body)
    assert resp.status_code == 422
    err = assert_error_body(resp, "invalid")
    assert err["field"] == field
    assert err["details"]["errors"][0]["field"] == field


async def test_missing_body_and_bad_json_are_422(client: httpx.AsyncClient) -> None:
    resp = await client.post("/uploads")
    assert resp.status_code == 422
    assert assert_error_body(resp, "invalid")["field"] == "body"
    resp = await client.post(
        "/uploads", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422
    assert_error_body(resp, "invalid")


async def test_query_validation_names_the_parameter(client: httpx.AsyncClient) -> None:
    resp = await client.get("/search", params={"limit": "lots"})
    assert resp.status_code == 422
    assert assert_error_body(resp, "invalid")["field"] == "limit"
    assert (await client.get("/search", params={"limit": "5"})).json() == {"limit": 5}


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    resp = await client.get("/no/such/route")
    assert resp.status_code == 404
    assert assert_error_body(resp, "not_found")["message"] == "Not Found"
    resp = await client.delete("/uploads")
    assert resp.status_code == 405
    assert_error_body(resp, "method_not_allowed")
    assert resp.headers["allow"] == "POST"


async def test_crash_is_a_bare_500_logged_with_traceback(
    client: httpx.AsyncClient, json_logs: ReadLogs
) -> None:
    resp = await client.get("/crash", headers={"x-request-id": "crash-1"})
    assert resp.status_code == 500
    err = assert_error_body(resp, "internal")
    assert err == {"code": "internal", "message": "internal error", "field": None,
                   "request_id": "crash-1"}
    assert "internal-db" not in resp.text
    assert "RuntimeError" not in resp.text
    crashed = [line for line in json_logs() if line["event"] == "request.crashed"]
    assert len(crashed) == 1
    assert crashed[0]["request_id"] == "crash-1"
    assert crashed[0]["level"] == "error"
    assert "Traceback" in crashed[0]["exception"]
    assert "RuntimeError" in crashed[0]["exception"]
    assert ":pw@" not in crashed[0]["exception"]
