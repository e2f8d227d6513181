"""Choosing an instance of an upstream service, and taking sick ones out of rotation.

Two sources of health, as in Envoy: active checks (the gateway asks `/readyz` on a timer)
and passive ones (requests that fail). An instance that fails `eject_after` requests in a
row is ejected for `eject_s`, doubling on each repeat up to `max_eject_s`, then re-admitted
on trial; an instance whose `/readyz` fails is out until a check passes again. The two
are independent: a passing `/readyz` does not cut short an ejection earned by timeouts.

Round robin spreads load evenly when requests cost the same; least connections suits
upstreams whose requests vary (a backtest next to a quote), ties broken round robin.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Balancer", "Instance"]


@dataclass(eq=False, slots=True)
class Instance:
    url: str
    in_flight: int = 0
    failures: int = 0  # consecutive passive failures
    ejections: int = 0  # consecutive ejections, for the back-off
    ejected_until: float = 0.0
    check_ok: bool = True  # last active health check (optimistic until the first one)

    def available(self, now: float) -> bool:
        return self.check_ok and now >= self.ejected_until


class Balancer:
    def __init__(
        self,
        urls: Iterable[str],
        *,
        strategy: str = "round_robin",
        eject_after: int = 3,
        eject_s: float = 10.0,
        max_eject_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.strategy = ""
        self.use(strategy)
        self.eject_after, self.eject_s, self.max_eject_s = eject_after, eject_s, max_eject_s
        self._clock = clock
        self._turn = itertools.count()
        self.instances: list[Instance] = []
        self.update(urls)

    def use(self, strategy: str) -> None:
        if strategy not in ("round_robin", "least_connections"):
            raise ValueError(f"unknown balancing strategy {strategy!r}")
        self.strategy = strategy

    def update(self, urls: Iterable[str]) -> None:
        """A new instance list; instances that stay keep their health and counters."""
        known = {i.url: i for i in self.instances}
        self.instances = [known.get(u) or Instance(u) for u in dict.fromkeys(urls)]
        if not self.instances:
            raise ValueError("an upstream needs at least one instance")

    def available(self) -> list[Instance]:
        now = self._clock()
        return [i for i in self.instances if i.available(now)]

    def pick(self, exclude: Iterable[str] = ()) -> Instance | None:
        """The next instance to call, skipping `exclude` (already tried); None if none is up.

        Panic mode (as Envoy's): when every instance fails its `/readyz`, try them anyway,
        except those that just failed real requests. A service whose readiness lags its
        start (or a one-instance laptop whose database blinked) is then served as soon as
        it can answer, instead of 503s until the next check; the circuit breaker still
        stops the gateway from hammering one that cannot.
        """
        skip = set(exclude)
        now = self._clock()
        candidates = [i for i in self.instances if i.available(now) and i.url not in skip]
        if not candidates and not any(i.available(now) for i in self.instances):
            candidates = [i for i in self.instances
                          if now >= i.ejected_until and i.url not in skip]
        if not candidates:
            return None
        turn = next(self._turn)
        if self.strategy == "least_connections":
            low = min(i.in_flight for i in candidates)
            candidates = [i for i in candidates if i.in_flight == low]
        return candidates[turn % len(candidates)]

    def started(self, instance: Instance) -> None:
        instance.in_flight += 1

    def abandoned(self, instance: Instance) -> None:
        """A request given up by its client: no verdict on the instance."""
        instance.in_flight = max(0, instance.in_flight - 1)

    def finished(self, instance: Instance, *, ok: bool) -> None:
        """Passive health: the outcome of one request sent to `instance`."""
        instance.in_flight = max(0, instance.in_flight - 1)
        if ok:
            instance.failures = 0
            instance.ejections = 0
            return
        instance.failures += 1
        if instance.failures >= self.eject_after:
            delay = min(self.max_eject_s, self.eject_s * 2 ** instance.ejections)
            instance.ejected_until = self._clock() + delay
            instance.ejections += 1
            instance.failures = 0

    def checked(self, url: str, *, ok: bool) -> None:
        """Active health: the outcome of GET /readyz on `url`."""
        for instance in self.instances:
            if instance.url == url:
                instance.check_ok = ok

    def snapshot(self) -> list[dict[str, object]]:
        now = self._clock()
        return [{"url": i.url, "available": i.available(now), "in_flight": i.in_flight,
                 "check_ok": i.check_ok, "ejected_for_s": round(max(0.0, i.ejected_until - now), 3)}
                for i in self.instances]
