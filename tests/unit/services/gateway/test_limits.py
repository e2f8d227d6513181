"""Bucket arithmetic and which buckets a request draws from."""

from __future__ import annotations

import pytest

from argosy.services.gateway.domain.limits import (
    Limit,
    TokenBucket,
    plan_buckets,
    retry_after_header,
)


def test_bucket_starts_full_then_refuses_with_the_wait() -> None:
    bucket = TokenBucket(Limit(rate=2, burst=3), now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)  # one token at 2/s
    assert bucket.take(100.25) == pytest.approx(0.25)
    assert bucket.take(100.5) == 0.0


def test_refill_is_capped_at_burst_and_ignores_time_going_back() -> None:
    bucket = TokenBucket(Limit(rate=10, burst=5), now=0.0)
    bucket.take(0.0, cost=5)
    assert bucket.refill(1000.0) == 5
    bucket.take(1000.0, cost=5)
    assert bucket.refill(999.0) == 0  # a clock step back grants nothing
    assert bucket.refill(1000.1) == pytest.approx(1.0)


def test_refused_take_costs_nothing() -> None:
    bucket = TokenBucket(Limit(rate=1, burst=2), now=0.0)
    bucket.take(0.0, cost=2)
    assert bucket.take(0.0, cost=2) > 0
    assert bucket.take(2.0, cost=2) == 0.0


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0.5), (float("inf"), 1)])
def test_limits_must_make_sense(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match=r"rate|burst"):
        Limit(rate, burst)


def test_plan_orders_ip_identity_route_and_skips_unknowns() -> None:
    lim = Limit(1, 1)
    plan = plan_buckets(ip="10.0.0.1", identity="user:u1", route="/api/v1/orders",
                        ip_limit=lim, identity_limit=Limit(2, 2), route_limit=Limit(3, 3))
    assert [(b.scope, b.key) for b in plan] == [
        ("ip", "rl:ip:10.0.0.1"), ("identity", "rl:id:user:u1"),
        ("route", "rl:route:/api/v1/orders")]
    assert plan[2].limit == Limit(3, 3)
    assert [b.scope for b in plan_buckets(route="/x", ip_limit=lim, identity_limit=lim,
                                          route_limit=lim)] == ["route"]


@pytest.mark.parametrize(("seconds", "header"), [(0.0, "1"), (0.2, "1"), (1.0, "1"),
                                                  (1.01, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_never_zero(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header
