"""Settings of the gateway: start-up ones (env prefix ARGOSY_GATEWAY_) and reloadable ones.

Start-up settings shape the process (TLS, connection caps, timers, extra instances).
Rate limits and the body cap are `GatewayLiveSettings`: the `gateway/settings` document in
the config service changes them on every running instance without a restart.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from argosy.contracts.services import service_info
from argosy.platform.runtime.live import RuntimeSettings
from argosy.platform.settings import ServiceSettings

__all__ = ["GatewayLiveSettings", "GatewaySettings"]


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_GATEWAY_", extra="ignore", frozen=True)

    upstreams: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Several instances per service, JSON: {"trading": ["http://t1:8082", '
                    '"http://t2:8082"]}. Default: the one URL of ARGOSY_SERVICE_URLS.',
    )
    balancer: Literal["round_robin", "least_connections"] = "round_robin"
    health_interval_s: float = Field(5.0, gt=0, description="Active GET /readyz period.")
    health_timeout_s: float = Field(2.0, gt=0)
    eject_after_failures: int = Field(3, ge=1, description="Passive: failures in a row.")
    eject_s: float = Field(10.0, gt=0, description="First ejection; doubles on repeats.")
    breaker_failures: int = Field(5, ge=1, description="Failures in a row that open a circuit.")
    breaker_open_s: float = Field(10.0, gt=0, description="How long a circuit stays open.")
    upstream_connections: int = Field(256, ge=1, description="Pooled connections per service.")
    jwks_refresh_s: float = Field(300.0, gt=0, description="Periodic JWKS refresh.")
    # Short: after a signing-key rotation, tokens with the new kid are refused until the
    # next refetch, and a random kid sent just before would otherwise hold it back 10 s
    # (measured end to end). One small fetch a second is no flood.
    jwks_min_refresh_s: float = Field(
        1.0, ge=0, description="At most one refresh per this period on an unknown key id."
    )
    token_leeway_s: float = Field(5.0, ge=0, le=60, description="Clock skew allowed on exp/nbf.")
    grant_cache_s: float = Field(30.0, ge=0, description="API-key grants kept in memory.")
    accounts_cache_s: float = Field(30.0, ge=0, description="A user's account list for /ws.")
    session_revocation_ttl_s: float = Field(
        86_400.0, gt=0, description="How long a revoked session id is remembered."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="CIDRs whose X-Forwarded-For is believed."
    )
    max_connections: int = Field(20_000, ge=1, description="HTTP in flight + WebSockets.")
    max_connections_per_ip: int = Field(512, ge=1)
    ws_queue_size: int = Field(
        256, ge=1, description="Frames queued per client before it is dropped as slow."
    )
    ws_ping_interval_s: float = Field(20.0, gt=0)
    ws_ping_timeout_s: float = Field(20.0, gt=0)
    ws_auth_timeout_s: float = Field(5.0, gt=0, description="For the first-message token.")
    ws_max_subscriptions: int = Field(200, ge=1)
    ws_messages_per_s: float = Field(20.0, gt=0, description="Client messages per connection.")
    openapi_cache_s: float = Field(30.0, ge=0)
    tls_certfile: Path | None = Field(None, description="Serve HTTPS/WSS (TLS 1.3 only).")
    tls_keyfile: Path | None = None

    @field_validator("upstreams")
    @classmethod
    def _upstreams(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {}
        for name, urls in v.items():
            info = service_info(name)  # KeyError names the known services
            if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
                raise ValueError(f"{name}: a non-empty list of http(s) URLs")
            out[info.name] = [u.rstrip("/") for u in urls]
        return out

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for cidr in v:
            ipaddress.ip_network(cidr, strict=False)
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> GatewaySettings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together")
        return self


class GatewayLiveSettings(RuntimeSettings):
    """Reloadable: `argosy config set gateway settings --json '{"rate_ip_per_s": 5}'`."""

    rate_limits: bool = Field(True, description="Turn every rate limit on or off.")
    rate_ip_per_s: float = Field(50.0, gt=0, description="Requests/s per client address.")
    rate_ip_burst: float = Field(100.0, ge=1)
    rate_identity_per_s: float = Field(20.0, gt=0, description="Requests/s per user or key.")
    rate_identity_burst: float = Field(40.0, ge=1)
    rate_route_per_s: float = Field(1000.0, gt=0, description="Requests/s per route, all users.")
    rate_route_burst: float = Field(2000.0, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024, le=67_108_864, description="413 above.")
