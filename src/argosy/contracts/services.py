"""The nine services, their default ports and their Python package names."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "ServiceInfo", "service_info"]


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    name: str  # wire name, used in URLs, topics, settings prefixes (ARGOSY_<NAME>_...)
    port_offset: int  # from the platform's port base (8080 by default)
    title: str

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        return f"ARGOSY_{self.package.upper()}_"


SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("gateway", 0, "API gateway"),
    ServiceInfo("market-data", 1, "Market data"),
    ServiceInfo("trading", 2, "Trading engine"),
    ServiceInfo("users", 3, "Users and identity"),
    ServiceInfo("strategy", 4, "Strategy engine"),
    ServiceInfo("risk", 5, "Risk"),
    ServiceInfo("notification", 6, "Notifications"),
    ServiceInfo("analytics", 7, "Analytics"),
    ServiceInfo("config", 8, "Configuration"),
)

_BY_NAME = {s.name: s for s in SERVICES} | {s.package: s for s in SERVICES}


def service_info(name: str) -> ServiceInfo:
    """Look a service up by wire name (`market-data`) or package name (`market_data`)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(s.name for s in SERVICES)
        raise KeyError(f"unknown service {name!r}; known: {known}") from None
