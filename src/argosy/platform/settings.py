"""Typed settings read from the environment (ARGOSY_*), with laptop-friendly defaults.

Two layers: `PlatformSettings` (where data lives, which data-layer backends, ports) shared by
every process, and one `ServiceSettings` subclass per service (env prefix
ARGOSY_<SERVICE>_) for what only that service needs. Nothing else reads os.environ.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from argosy.contracts.services import SERVICES, service_info
from argosy.kernel.errors import ConfigurationError

__all__ = [
    "LogLevel",
    "PlatformSettings",
    "ServiceSettings",
    "load_settings",
]

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


def _shown(url: str) -> str:
    """The URL as an error message may show it: without a password."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)


def _check_url(url: str, allowed: tuple[str, ...], *, many: bool = False) -> str:
    """Raise ValueError unless `url` has an allowed scheme and well-formed ports.

    With `many`, a comma-separated list is accepted (`nats://a:4222,nats://b:4222`,
    `kafka://h1:9092,h2:9092`); parts without a scheme take the first part's.
    """
    parts = [p.strip() for p in url.split(",")] if many else [url]
    scheme = urlsplit(parts[0]).scheme
    for part in parts:
        if not part:
            raise ValueError(f"empty address in {_shown(url)!r}")
        try:
            split = urlsplit(part if "://" in part else f"{scheme}://{part}")
            _ = split.port  # raises on a malformed port
        except ValueError as exc:
            raise ValueError(f"malformed URL {_shown(url)!r}: {exc}") from None
        if split.scheme not in allowed:
            schemes = ", ".join(f"{s}://" for s in allowed)
            raise ValueError(
                f"unsupported scheme {split.scheme!r} in {_shown(url)!r}; use {schemes}"
            )
    return url


def _scheme_check(allowed: tuple[str, ...], *, many: bool = False) -> Any:
    return AfterValidator(lambda url: _check_url(url, allowed, many=many))


DbUrl = Annotated[str, _scheme_check(("sqlite", "postgresql", "postgres"))]
BusUrl = Annotated[str, _scheme_check(("memory", "nats", "tls", "kafka"), many=True)]
CacheUrl = Annotated[str, _scheme_check(("memory", "redis", "rediss"))]
TsdbUrl = Annotated[str, _scheme_check(("chdb", "clickhouse", "clickhouses"))]
ObjectsUrl = Annotated[str, _scheme_check(("file", "s3"))]

_SCHEMA_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$|^$")


class PlatformSettings(BaseSettings):
    """Settings every Argosy process shares."""

    model_config = SettingsConfigDict(env_prefix="ARGOSY_", extra="ignore", frozen=True)

    data_dir: Path = Field(Path("var"), description="Root of all local state.")
    host: str = Field("127.0.0.1", description="Interface the services bind to.")
    port_base: int = Field(8080, ge=1, le=65526, description="gateway port; others follow.")
    public_host: str = Field("127.0.0.1", description="Host other services use to call us.")
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Override where a service is reached, JSON: {"trading": "http://h:8082"}.',
    )
    db_url: DbUrl = Field(
        "sqlite://",
        description="sqlite:// (a file per service under data_dir/db), sqlite:///dir, or "
        "postgresql://user@host/db (one schema per service).",
    )
    db_schema_prefix: str = Field("", description="Prefix of each service's PostgreSQL schema.")
    db_echo: bool = False
    bus_url: BusUrl = Field("memory://", description="memory://, nats://host:4222, kafka://h:9092")
    cache_url: CacheUrl = Field("memory://", description="memory:// or redis://host:6379/0")
    tsdb_url: TsdbUrl = Field("chdb://", description="chdb:// (embedded) or clickhouse://...")
    objects_url: ObjectsUrl = Field("file://", description="file:// or s3://bucket?endpoint=...")
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    log_level: LogLevel = "info"
    log_format: Literal["json", "console"] = "json"
    internal_secret_file: Path | None = Field(
        None, description="Shared secret for service-to-service tokens (default: generated)."
    )

    @field_validator("db_schema_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not _SCHEMA_PREFIX.match(v):
            raise ValueError("lowercase letters, digits and _, starting with a letter")
        return v

    @field_validator("service_urls")
    @classmethod
    def _urls(cls, v: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, url in v.items():
            try:
                info = service_info(name)
            except KeyError as exc:
                raise ValueError(str(exc).strip("'\"")) from None
            try:
                _check_url(url, ("http", "https"))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
            out[info.name] = url.rstrip("/")
        return out

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    def port_of(self, service: str) -> int:
        return self.port_base + service_info(service).port_offset

    def url_of(self, service: str) -> str:
        """Base URL another process uses to reach `service` over HTTP."""
        info = service_info(service)
        return self.service_urls.get(
            info.name, f"http://{self.public_host}:{self.port_of(info.name)}"
        )

    def all_urls(self) -> dict[str, str]:
        return {s.name: self.url_of(s.name) for s in SERVICES}


class ServiceSettings(BaseSettings):
    """Base of each service's own settings; subclasses set env_prefix ARGOSY_<SERVICE>_."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    port: int | None = Field(None, ge=1, le=65535, description="Overrides the port base.")
    db_url: DbUrl | None = Field(None, description="Overrides ARGOSY_DB_URL for this service.")
    log_level: LogLevel | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v


_S = TypeVar("_S", bound=BaseSettings)


def load_settings(cls: type[_S]) -> _S:
    """Instantiate settings, turning a validation error into one ConfigurationError line."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    try:
        return cls()
    except SettingsError as exc:  # a value that is not valid JSON for a dict/list setting
        match = re.search(r'field "(\w+)"', str(exc))
        name = match.group(1) if match else "?"
        raise ConfigurationError(f"{prefix}{name.upper()}", "not valid JSON") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "_".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "?"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigurationError(f"{prefix}{name.upper()}", msg) from None
