"""Balancer choices and ejection/re-admission of instances."""

from __future__ import annotations

import pytest

from argosy.services.gateway.domain.balancer import Balancer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


URLS = ["http://a", "http://b", "http://c"]


def test_round_robin_visits_every_instance_in_turn() -> None:
    b = Balancer(URLS)
    picks = [b.pick() for _ in range(6)]
    assert [p.url for p in picks if p] == URLS * 2


def test_least_connections_prefers_the_idlest() -> None:
    b = Balancer(URLS, strategy="least_connections")
    first = b.pick()
    assert first is not None
    b.started(first)
    b.started(first)
    second = b.pick()
    assert second is not None
    b.started(second)
    third = b.pick()
    assert third is not None
    b.started(third)
    assert {first.url, second.url, third.url} == set(URLS)
    b.finished(first, ok=True)
    b.finished(first, ok=True)
    assert b.pick() is first  # 0 in flight again, the others have 1


def test_an_abandoned_request_frees_its_slot_without_a_verdict() -> None:
    """A client that gave up says nothing about the instance: its slot is freed (else
    least-connections would avoid a healthy instance forever) and no failure counts."""
    b = Balancer(URLS, strategy="least_connections", eject_after=1)
    first = b.pick()
    assert first is not None
    for _ in range(3):
        b.started(first)
        b.abandoned(first)
    assert first.in_flight == 0
    assert first.failures == 0
    for other in b.instances[1:]:
        b.started(other)
    assert b.pick() is first  # still available, and the idlest again
    b.abandoned(first)  # never below zero
    assert first.in_flight == 0


def test_exclude_skips_tried_instances_and_none_when_exhausted() -> None:
    b = Balancer(URLS)
    assert b.pick(exclude=["http://a", "http://b"]).url == "http://c"  # type: ignore[union-attr]
    assert b.pick(exclude=URLS) is None


def test_passive_ejection_with_doubling_backoff_and_readmission() -> None:
    clock = Clock()
    b = Balancer(["http://a", "http://b"], eject_after=2, eject_s=10, clock=clock)
    a = b.instances[0]
    for _ in range(2):
        b.started(a)
        b.finished(a, ok=False)
    assert [i.url for i in b.available()] == ["http://b"]
    assert all(b.pick().url == "http://b" for _ in range(4))  # type: ignore[union-attr]
    clock.now = 10
    assert a in b.available()  # re-admitted after its ejection
    for _ in range(2):
        b.finished(a, ok=False)
    clock.now = 29.9
    assert a not in b.available()  # second ejection lasts twice as long
    clock.now = 30
    assert a in b.available()
    b.finished(a, ok=True)
    assert a.ejections == 0


def test_active_checks_take_out_and_bring_back() -> None:
    b = Balancer(URLS)
    b.checked("http://b", ok=False)
    assert [i.url for i in b.available()] == ["http://a", "http://c"]
    assert {b.pick().url for _ in range(6)} == {"http://a", "http://c"}  # type: ignore[union-attr]
    b.checked("http://b", ok=True)
    assert len(b.available()) == 3


def test_panic_mode_when_every_check_fails() -> None:
    clock = Clock()
    b = Balancer(["http://a", "http://b"], eject_after=1, eject_s=5, clock=clock)
    for url in ("http://a", "http://b"):
        b.checked(url, ok=False)
    assert b.available() == []
    assert {b.pick().url for _ in range(4)} == {"http://a", "http://b"}  # type: ignore[union-attr]
    b.finished(b.instances[0], ok=False)  # a real request failed: that one stays out
    assert {b.pick().url for _ in range(4)} == {"http://b"}  # type: ignore[union-attr]
    b.finished(b.instances[1], ok=False)
    assert b.pick() is None


def test_active_success_does_not_cut_short_a_passive_ejection() -> None:
    clock = Clock()
    b = Balancer(["http://a"], eject_after=1, eject_s=5, clock=clock)
    b.finished(b.instances[0], ok=False)
    b.checked("http://a", ok=True)
    assert b.pick() is None
    clock.now = 5
    assert b.pick() is not None


def test_update_keeps_state_of_kept_instances() -> None:
    b = Balancer(URLS)
    b.checked("http://a", ok=False)
    b.update(["http://a", "http://d"])
    assert [i.url for i in b.instances] == ["http://a", "http://d"]
    assert [i.url for i in b.available()] == ["http://d"]
    with pytest.raises(ValueError, match="at least one"):
        b.update([])
    with pytest.raises(ValueError, match="strategy"):
        Balancer(URLS, strategy="random")
