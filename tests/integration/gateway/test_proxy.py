"""Routing, headers, versioning, body caps and what the client sees of upstream trouble."""

from __future__ import annotations

import asyncio
import contextlib
import time

from tests.integration.gateway.conftest import GatewayFactory, Harness
from tests.support.servers import free_port


async def test_each_prefix_reaches_its_service(gw: Harness) -> None:
    admin = gw.bearer(roles=["admin"], perms=["*"])
    for path, service in [("/api/v1/orders", "trading"), ("/api/v1/positions/1", "trading"),
                          ("/api/v1/market/candles", "market-data"),
                          ("/api/v1/accounts/a1", "users"), ("/api/v1/admin/users", "users")]:
        r = await gw.client.get(path, headers=admin)
        assert (r.status_code, r.json()["service"], r.json()["path"]) == (200, service, path)
    jwks = await gw.client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert jwks.json()["keys"][0]["kid"] == gw.stack.key.kid


async def test_unknown_and_crafted_paths_are_404(gw: Harness) -> None:
    headers = gw.bearer(perms=["*"])
    for path in ("/api/v1/nothing", "/api/v2/orders", "/api/v1/ordersx",
                 "/api/v1/orders/%2E%2E/admin/users", "/internal/v1/api-keys/k1"):
        r = await gw.client.get(path, headers=headers)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"
    assert (await gw.client.get("/healthz")).json()["service"] == "gateway"


async def test_an_upstream_redirect_to_itself_becomes_a_gateway_path(gw: Harness) -> None:
    r = await gw.client.get("/api/v1/orders/redirect", headers=gw.bearer())
    assert r.status_code == 307
    assert r.headers["location"] == "/api/v1/orders?from=redirect"  # not the instance URL
    away = "https://example.com/elsewhere"
    r = await gw.client.get("/api/v1/orders/redirect", params={"to": away},
                            headers=gw.bearer())
    assert r.headers["location"] == away  # someone else's address is the upstream's call


async def test_version_and_response_headers(gw: Harness) -> None:
    r = await gw.client.get("/api/v1/orders", headers=gw.bearer())
    assert r.headers["x-argosy-api-version"] == "v1"
    assert r.headers["x-upstream"] in ("trading-1", "trading-2")
    assert r.headers["set-cookie"] == "a=1"
    assert r.headers.get_list("x-request-id") == [r.json()["headers"]["x-request-id"]]
    assert "deprecation" not in r.headers


async def test_large_answers_stream_through(gw: Harness) -> None:
    r = await gw.client.get("/api/v1/orders/big", headers=gw.bearer())
    assert (r.status_code, len(r.content)) == (200, 2_000_000)


async def test_body_cap_is_413(gw: Harness) -> None:
    headers = gw.bearer()
    big = b"x" * (1_048_576 + 1)
    r = await gw.client.post("/api/v1/orders", content=big, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"y" * 65_536  # no content-length: counted while read

    r = await gw.client.post("/api/v1/orders", content=chunks(), headers=headers)
    assert r.status_code == 413
    ok = await gw.client.post("/api/v1/orders", content=b"x" * 1_000_000, headers=headers)
    assert ok.status_code == 200


async def test_retries_only_idempotent_methods(gw: Harness) -> None:
    states = gw.stack.trading
    headers = gw.bearer()
    before = sum(s.calls for s in states)
    r = await gw.client.get("/api/v1/orders/status/503", headers=headers)
    assert r.status_code == 503  # the upstream's own answer, passed through after a retry
    assert sum(s.calls for s in states) - before == 2
    before = sum(s.calls for s in states)
    r = await gw.client.post("/api/v1/orders/status/503", headers=headers)
    assert r.status_code == 503
    assert sum(s.calls for s in states) - before == 1
    before = sum(s.calls for s in states)
    assert (await gw.client.get("/api/v1/orders/status/500", headers=headers)).status_code == 500
    assert sum(s.calls for s in states) - before == 1  # a 500 is an answer, not an outage


async def test_timeout_is_503_naming_the_service(gw: Harness) -> None:
    await gw.configure("routes", {"routes": [
        {"prefix": "/api/v1/fills", "timeout_s": 0.3, "retries": 1}]})
    before = sum(s.calls for s in gw.stack.trading)
    started = time.monotonic()
    r = await gw.client.post("/api/v1/fills/slow?s=2", headers=gw.bearer())
    assert r.status_code == 503
    assert time.monotonic() - started < 1.5
    error = r.json()["error"]
    assert error["code"] == "unavailable"
    assert error["message"] == "trading is unavailable: no answer within 0.3 s"
    assert error["details"]["service"] == "trading"
    await asyncio.sleep(0.05)
    assert sum(s.calls for s in gw.stack.trading) - before == 1  # POST: never re-sent
    r = await gw.client.get("/api/v1/fills/slow?s=2", headers=gw.bearer())
    assert r.status_code == 503
    await asyncio.sleep(0.05)
    assert sum(s.calls for s in gw.stack.trading) - before == 3  # GET: one retry


async def test_circuit_opens_then_half_opens_and_closes(make_gateway: GatewayFactory) -> None:
    async with make_gateway(breaker_failures=2, breaker_open_s=0.5,
                            eject_after_failures=100) as gw:
        await gw.configure("routes", {"routes": [{"prefix": "/api/v1/orders", "retries": 0}]})
        headers = gw.bearer()
        for _ in range(2):
            assert (await gw.client.get("/api/v1/orders/status/503", headers=headers)
                    ).status_code == 503
        calls = sum(s.calls for s in gw.stack.trading)
        r = await gw.client.get("/api/v1/orders", headers=headers)
        assert r.status_code == 503
        assert "trading is unavailable: circuit open" in r.json()["error"]["message"]
        assert r.json()["error"]["details"]["cause"] == "circuit_open"
        assert sum(s.calls for s in gw.stack.trading) == calls  # failed fast
        status = await gw.client.get("/internal/gateway", headers=gw.operator())
        assert status.json()["upstreams"]["trading"]["circuit"] == "open"
        await asyncio.sleep(0.55)
        assert (await gw.client.get("/api/v1/orders", headers=headers)).status_code == 200
        assert gw.upstreams.pool("trading").breaker.state == "closed"
        metrics = (await gw.client.get("/metrics")).text
        assert 'argosy_gateway_circuit_open{upstream="trading"} 0.0' in metrics


async def test_failover_and_ejection_of_a_dead_instance(gw: Harness) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    await gw.configure("routes", {"upstreams": {"trading": [dead, gw.stack.trading_urls()[0]]}})
    for _ in range(6):  # POST too: a refused connection never sent the request
        r = await gw.client.post("/api/v1/orders", headers=gw.bearer())
        assert (r.status_code, r.json()["instance"]) == (200, "trading-1")
    snapshot = gw.upstreams.status()["trading"]["instances"]
    assert [(i["url"], i["available"]) for i in snapshot] == [
        (dead, False), (gw.stack.trading_urls()[0], True)]


async def test_passive_ejection_and_readmission(make_gateway: GatewayFactory) -> None:
    async with make_gateway(eject_after_failures=2, eject_s=0.4, breaker_failures=100) as gw:
        flaky, gw_state = gw.stack.trading[1], gw.stack.trading[0]
        flaky.fail_with = 502
        try:
            seen = [(await gw.client.get("/api/v1/orders", headers=gw.bearer())).status_code
                    for _ in range(8)]
            assert seen.count(200) >= 6  # the 502s were retried on the healthy instance
            calls = flaky.calls
            for _ in range(4):
                r = await gw.client.get("/api/v1/orders", headers=gw.bearer())
                assert r.json()["instance"] == gw_state.instance
            assert flaky.calls == calls  # ejected: not even tried
            flaky.fail_with = None
            await asyncio.sleep(0.45)
            instances = {(await gw.client.get("/api/v1/orders", headers=gw.bearer())
                          ).json()["instance"] for _ in range(4)}
            assert instances == {"trading-1", "trading-2"}  # re-admitted
        finally:
            flaky.fail_with = None


async def test_active_health_checks_take_out_and_bring_back(gw: Harness) -> None:
    sick = gw.stack.trading[1]
    sick.ready = False
    try:
        for _ in range(100):
            if not gw.upstreams.pool("trading").balancer.snapshot()[1]["check_ok"]:
                break
            await asyncio.sleep(0.02)
        seen = {(await gw.client.get("/api/v1/orders", headers=gw.bearer())).json()["instance"]
                for _ in range(4)}
        assert seen == {"trading-1"}
    finally:
        sick.ready = True
    for _ in range(100):
        if gw.upstreams.pool("trading").balancer.snapshot()[1]["check_ok"]:
            break
        await asyncio.sleep(0.02)
    seen = {(await gw.client.get("/api/v1/orders", headers=gw.bearer())).json()["instance"]
            for _ in range(4)}
    assert seen == {"trading-1", "trading-2"}


async def test_least_connections_avoids_the_busy_instance(make_gateway: GatewayFactory) -> None:
    async with make_gateway(balancer="least_connections") as gw:
        slow = asyncio.create_task(gw.client.get("/api/v1/orders/slow?s=0.5",
                                                 headers=gw.bearer()))
        await asyncio.sleep(0.1)
        busy = [i["url"] for i in gw.upstreams.status()["trading"]["instances"]
                if i["in_flight"]]
        assert len(busy) == 1
        quick = [(await gw.client.get("/api/v1/orders", headers=gw.bearer())).json()["instance"]
                 for _ in range(3)]
        slow_instance = (await slow).json()["instance"]
        assert slow_instance not in quick
        assert len(set(quick)) == 1


async def test_a_request_its_client_gave_up_is_not_held_against_the_instance(
    make_gateway: GatewayFactory,
) -> None:
    """A client that disconnects mid-request (cancelled here, as the ASGI server does)
    frees the instance's slot without counting a failure: more disconnects than the
    ejection threshold leave both instances available, idle and the circuit closed."""
    async with make_gateway(balancer="least_connections", eject_after_failures=2,
                            breaker_failures=2) as gw:
        for _ in range(4):
            task = asyncio.create_task(gw.client.get("/api/v1/orders/slow?s=5",
                                                     headers=gw.bearer()))
            deadline = time.monotonic() + 5
            while not any(i["in_flight"] for i in
                          gw.upstreams.status()["trading"]["instances"]):
                assert time.monotonic() < deadline, "the request never reached trading"
                await asyncio.sleep(0.01)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        status = gw.upstreams.status()["trading"]
        assert status["circuit"] == "closed"
        assert [(i["in_flight"], i["available"]) for i in status["instances"]] == [
            (0, True), (0, True)]
        seen = {(await gw.client.get("/api/v1/orders", headers=gw.bearer())).json()["instance"]
                for _ in range(4)}
        assert seen == {"trading-1", "trading-2"}


async def test_no_upstream_at_all_is_503_naming_it(make_gateway: GatewayFactory) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    async with make_gateway(urls=None) as gw:
        await gw.configure("routes", {"upstreams": {"risk": [nobody]}})
        r = await gw.client.get("/api/v1/risk/limits", headers=gw.bearer())
        assert r.status_code == 503
        assert r.json()["error"]["message"].startswith("risk is unavailable")
        assert r.json()["error"]["details"]["service"] == "risk"


async def test_per_route_metrics(gw: Harness) -> None:
    await gw.client.get("/api/v1/orders/1", headers=gw.bearer())
    await gw.client.get("/api/v1/orders/2", headers=gw.bearer())
    text = (await gw.client.get("/metrics")).text
    assert ('argosy_gateway_requests_total{method="GET",route="/api/v1/orders",status="200",'
            'upstream="trading"} 2.0') in text
    assert 'argosy_gateway_upstream_duration_seconds_count{route="/api/v1/orders",' \
           'upstream="trading"} 2.0' in text
    assert 'route="/api/v1/orders",service="gateway",status="200"' in text
