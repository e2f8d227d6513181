"""What happens after a send: retry with backoff and jitter, or dead-letter at once."""

from __future__ import annotations

import pytest

from argosy.services.notification.domain.outcomes import (
    Reject,
    Retry,
    RetryPolicy,
    Sent,
    decide,
    from_http_status,
)


@pytest.mark.parametrize(("status", "kind"), [
    (200, Sent), (201, Sent), (204, Sent), (301, Reject), (400, Reject), (401, Reject),
    (404, Reject), (410, Reject), (408, Retry), (425, Retry), (429, Retry), (500, Retry),
    (502, Retry), (503, Retry),
])
def test_http_status_classes(status: int, kind: type) -> None:
    assert isinstance(from_http_status(status, "why"), kind)


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    p = RetryPolicy(max_attempts=10, base_s=2, max_s=60)
    assert [p.delay(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert [p.delay(n, lambda: 1.0) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert p.delay(30, lambda: 1.0) == 60.0
    spread = {p.delay(3, __import__("random").random) for _ in range(50)}
    assert len(spread) > 10
    assert all(4.0 <= d <= 8.0 for d in spread)


def test_decide() -> None:
    p = RetryPolicy(max_attempts=3, base_s=1, max_s=100)
    now = 1_000 * 10**9
    assert decide(Sent("m1"), 1, p, now).state == "sent"
    assert decide(Sent(delivered=True), 1, p, now).state == "delivered"
    dead = decide(Reject("HTTP 400: bad number"), 1, p, now)
    assert (dead.state, dead.reason) == ("dead", "HTTP 400: bad number")
    again = decide(Retry("HTTP 503"), 1, p, now, lambda: 0.0)
    assert (again.state, again.next_attempt_ns) == ("failed", now + 500_000_000)
    later = decide(Retry("HTTP 429", after_s=30), 1, p, now, lambda: 0.0)
    assert later.next_attempt_ns == now + 30 * 10**9
    out = decide(Retry("timeout"), 3, p, now)
    assert out.state == "dead"
    assert out.reason == "gave up after 3 attempts: timeout"
