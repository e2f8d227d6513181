"""What every client of an outside server (bus, cache, tsdb, object store) has in common.

The service runtime opens each at start-up (retrying in the background if it is down),
asks it on every /readyz, and closes it at shutdown; this is the whole contract.
"""

from __future__ import annotations

import abc

__all__ = ["Connectable"]


class Connectable(abc.ABC):
    #: short name for logs, metrics and /readyz ("memory", "nats", "redis", "s3"...)
    kind: str = "connectable"

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def check(self) -> None:
        """Raise `kernel.errors.Unavailable` when the server cannot be used right now."""
