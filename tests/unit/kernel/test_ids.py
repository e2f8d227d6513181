"""Ids sort by creation time, even inside one millisecond or when the clock steps back."""

from __future__ import annotations

import re
import threading

import pytest

from argosy.kernel.clock import NS_PER_MS, SimClock
from argosy.kernel.errors import Invalid
from argosy.kernel.ids import (
    ULID_LENGTH,
    IdGenerator,
    check_id,
    new_id,
    new_ulid,
    ulid_time_ms,
    validate_client_order_id,
)

CROCKFORD = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


class _SteppingBackClock:
    def __init__(self, times_ns: list[int]) -> None:
        self._times = iter(times_ns)

    def now_ns(self) -> int:
        return next(self._times)


def test_ulids_are_26_crockford_characters() -> None:
    ulid = new_ulid()
    assert len(ulid) == ULID_LENGTH
    assert CROCKFORD.fullmatch(ulid)


def test_ids_within_one_millisecond_are_strictly_increasing() -> None:
    generator = IdGenerator(SimClock(1_700_000_000_000 * NS_PER_MS))
    ids = [generator.new_ulid() for _ in range(2_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_later_ids_sort_later() -> None:
    clock = SimClock(1_700_000_000_000 * NS_PER_MS)
    generator = IdGenerator(clock)
    first = generator.new_id("ord")
    clock.advance(NS_PER_MS)
    second = generator.new_id("ord")
    assert first < second
    assert ulid_time_ms(second) - ulid_time_ms(first) == 1


def test_a_clock_stepping_back_does_not_break_the_order() -> None:
    ms = 1_700_000_000_000 * NS_PER_MS
    generator = IdGenerator(_SteppingBackClock([ms, ms - 5 * NS_PER_MS, ms + NS_PER_MS]))
    ids = [generator.new_ulid() for _ in range(3)]
    assert ids == sorted(ids)
    assert ulid_time_ms(ids[1]) == ulid_time_ms(ids[0])


def test_random_part_overflow_moves_to_the_next_millisecond() -> None:
    generator = IdGenerator(SimClock(5 * NS_PER_MS), random_bytes=lambda n: b"\xff" * n)
    first, second = generator.new_ulid(), generator.new_ulid()
    assert first < second
    assert ulid_time_ms(second) == 6


def test_injected_clock_and_randomness_make_ids_reproducible() -> None:
    def build() -> IdGenerator:
        return IdGenerator(SimClock(42 * NS_PER_MS), random_bytes=lambda n: bytes(n))

    assert build().new_id("fill") == build().new_id("fill") == "fill_" + "000000001A" + "0" * 16


def test_ids_are_unique_across_threads() -> None:
    generator = IdGenerator()
    results: list[list[str]] = [[] for _ in range(4)]

    def work(bucket: list[str]) -> None:
        bucket.extend(generator.new_ulid() for _ in range(1_000))

    threads = [threading.Thread(target=work, args=(bucket,)) for bucket in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [ulid for bucket in results for ulid in bucket]
    assert len(set(everything)) == len(everything)


def test_prefixed_ids_are_checked() -> None:
    order_id = new_id("ord")
    assert check_id(order_id, "ord") == order_id
    assert len(order_id) == 30
    validate_client_order_id(order_id)  # fits Binance's limit
    for bad in ("fill_" + order_id[4:], "ord_" + "I" * 26, "ord_", order_id + "0", 7):
        with pytest.raises(Invalid) as caught:
            check_id(bad, "ord", field="order_id")  # type: ignore[arg-type]
        assert caught.value.field == "order_id"


@pytest.mark.parametrize("prefix", ["", "Ord", "ord_x", "a" * 17, "1ord"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(Invalid) as caught:
        new_id(prefix)
    assert caught.value.field == "prefix"


@pytest.mark.parametrize("good", ["a", "x" * 36, "web.ord:1/2_3-4", "ABCxyz019"])
def test_valid_client_order_ids(good: str) -> None:
    assert validate_client_order_id(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 37, "has space", "abc\n", "ü", "a+b", "a#b"])
def test_invalid_client_order_ids(bad: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_client_order_id(bad)
    assert caught.value.field == "client_order_id"


def test_ulid_time_refuses_garbage() -> None:
    with pytest.raises(Invalid):
        ulid_time_ms("not-a-ulid")
