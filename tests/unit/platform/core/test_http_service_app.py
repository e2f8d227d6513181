"""A real ServiceRuntime behind `create_service_app`: request ids, metrics by route template,
/healthz, /readyz naming a dependency that is down, /metrics in Prometheus text format."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families

from argosy.contracts import headers as h
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, ServiceSettings
from tests.support.servers import free_port
from tests.unit.platform.core._capture import ReadLogs
from tests.unit.platform.core._fakes import FakeConfigSource

Started = Callable[[PlatformSettings], AbstractAsyncContextManager[tuple[ServiceRuntime,
                                                                          httpx.AsyncClient]]]


def items_router(runtime_box: dict[str, ServiceRuntime]) -> APIRouter:
    router = APIRouter()

    @router.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, Any]:
        ctx = structlog.contextvars.get_contextvars()
        await runtime_box["rt"].bus.publish_json("risk.alert.test", {"item": item_id})
        return {"item": item_id, "request_id": ctx.get("request_id"),
                "correlation_id": ctx.get("correlation_id")}

    return router


@pytest.fixture
def started() -> Started:
    @asynccontextmanager
    async def start(
        platform: PlatformSettings,
    ) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
        spec = ServiceSpec(name="risk", settings=ServiceSettings(), uses=frozenset({"db"}))
        runtime = ServiceRuntime(spec, platform, config_source=FakeConfigSource())
        app = create_service_app(runtime, [items_router({"rt": runtime})])
        transport = httpx.ASGITransport(app=app)
        async with runtime.lifespan(app), httpx.AsyncClient(
            transport=transport, base_url="http://risk"
        ) as client:
            yield runtime, client

    return start


async def test_request_ids_are_echoed_and_bound(
    started: Started, platform_settings: PlatformSettings
) -> None:
    async with started(platform_settings) as (runtime, client):
        seen: asyncio.Queue[Envelope] = asyncio.Queue()
        await runtime.bus.subscribe("risk.alert.>", seen.put)
        resp = await client.get(
            "/items/a1", headers={"x-request-id": "req-123", "x-correlation-id": "corr:9.z"}
        )
        published = await asyncio.wait_for(seen.get(), 2)
    assert resp.status_code == 200
    assert resp.headers["x-request-id"] == "req-123"
    assert resp.headers["x-correlation-id"] == "corr:9.z"
    assert resp.json() == {"item": "a1", "request_id": "req-123", "correlation_id": "corr:9.z"}
    assert published.correlation_id == "corr:9.z"  # carried from the request onto the bus
    assert published.headers[h.SOURCE_SERVICE] == "risk"


async def test_missing_ids_are_generated_and_correlation_defaults_to_request(
    started: Started, platform_settings: PlatformSettings
) -> None:
    async with started(platform_settings) as (_, client):
        first = await client.get("/items/a")
        second = await client.get("/items/b")
    for resp in (first, second):
        rid = resp.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid)
        assert resp.headers["x-correlation-id"] == rid == resp.json()["request_id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "unsafe", [b"has spaces", b"x" * 129, b"<script>", b"a/b", "é-id".encode(), b""]
)
async def test_unsafe_ids_are_replaced(
    started: Started, platform_settings: PlatformSettings, unsafe: bytes
) -> None:
    async with started(platform_settings) as (_, client):
        resp = await client.get(
            "/items/a", headers=[(b"x-request-id", unsafe), (b"x-correlation-id", unsafe)]
        )
    rid = resp.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert resp.headers["x-correlation-id"] == rid
    assert resp.json()["request_id"] == rid


async def test_metrics_are_labelled_by_route_template(
    started: Started, platform_settings: PlatformSettings, json_logs: ReadLogs
) -> None:
    async with started(platform_settings) as (_, client):
        for item in ("a", "b", "c"):
            assert (await client.get(f"/items/{item}")).status_code == 200
        assert (await client.get("/nope/1")).status_code == 404
        assert (await client.get("/nope/2")).status_code == 404
        text = (await client.get("/metrics")).text
    total = "argosy_http_requests_total"
    assert _value(text, total, method="GET", route="/items/{item_id}", status="200") == 3
    assert _value(text, total, method="GET", route="unmatched", status="404") == 2
    assert _routes(text) == {"/items/{item_id}", "unmatched"}
    count = "argosy_http_request_duration_seconds_count"
    assert _value(text, count, service="risk", route="/items/{item_id}") == 3
    access = [x for x in json_logs() if x["event"] == "request" and x["path"] == "/items/b"]
    assert access[0]["route"] == "/items/{item_id}"
    assert access[0]["status"] == 200


async def test_healthz(started: Started, platform_settings: PlatformSettings) -> None:
    async with started(platform_settings) as (runtime, client):
        resp = await client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "service": "risk", "version": runtime.version}


async def test_readyz_when_everything_answers(
    started: Started, platform_settings: PlatformSettings
) -> None:
    async with started(platform_settings) as (_, client):
        resp = await client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {
        "status": "ready", "service": "risk", "checks": {"bus": {"ok": True}, "db": {"ok": True}},
    }


async def test_readyz_names_the_dependency_that_is_down(
    started: Started, platform_settings: PlatformSettings
) -> None:
    down = platform_settings.model_copy(
        update={"db_url": f"postgresql://postgres@127.0.0.1:{free_port()}/test"}
    )
    async with started(down) as (_, client):
        resp = await client.get("/readyz")
        assert resp.status_code == 503
        body = resp.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["bus"] == {"ok": True}
        assert body["checks"]["db"]["ok"] is False
        assert "unreachable" in body["checks"]["db"]["error"]
        assert (await client.get("/healthz")).status_code == 200  # alive, only not ready
        metrics = (await client.get("/metrics")).text
    assert _value(metrics, "argosy_dependency_up", service="risk", dependency="db") == 0
    assert _value(metrics, "argosy_dependency_up", service="risk", dependency="bus") == 1


async def test_metrics_endpoint_is_prometheus_text(
    started: Started, platform_settings: PlatformSettings
) -> None:
    async with started(platform_settings) as (_, client):
        await client.get("/healthz")
        resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    assert families["argosy_http_requests"].type == "counter"
    assert families["argosy_http_request_duration_seconds"].type == "histogram"
    assert "process_cpu_seconds" in families


async def test_runtime_state_needs_an_identity_with_permission(
    started: Started, platform_settings: PlatformSettings
) -> None:
    async with started(platform_settings) as (runtime, client):
        anonymous = await client.get("/internal/runtime")
        weak = runtime.auth.mint(Principal("operator:bob", frozenset({"config:read"})))
        forbidden = await client.get("/internal/runtime", headers={h.IDENTITY: weak})
        strong = runtime.auth.mint(Principal("operator:alice", frozenset({"ops:*"})))
        allowed = await client.get("/internal/runtime", headers={h.IDENTITY: strong})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    assert forbidden.status_code == 403
    assert allowed.status_code == 200
    assert allowed.json()["settings"] == {"log_level": "info"}


def _value(text: str, sample: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, found by name and labels."""
    found = [
        s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, f"{sample}{labels}: {len(found)} samples"
    return found[0]


def _routes(text: str) -> set[str]:
    return {
        s.labels["route"]
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "argosy_http_requests_total"
    }
