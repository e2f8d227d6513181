"""Settings from the environment: URL checks naming the variable, service URLs, ports."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import SettingsConfigDict

from argosy.contracts.services import SERVICES
from argosy.kernel.errors import ConfigurationError
from argosy.platform.settings import PlatformSettings, ServiceSettings, load_settings


class RiskLikeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_RISK_", extra="ignore", frozen=True)

    max_orders: int = 10


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ARGOSY_* variable from the machine, and no .env file, leaks into a test."""
    import os

    for key in list(os.environ):
        if key.startswith("ARGOSY_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


URL_SETTINGS = {
    "db_url": ("sqlite:///x.db", "postgresql://u@h:5432/db", "mysql://u@h/db", "postgres://h:x/d"),
    "bus_url": ("memory://", "nats://h:4222", "amqp://h", "nats://h:99999"),
    "cache_url": ("memory://", "redis://h:6379/0", "memcached://h", "redis://h:port/0"),
    "tsdb_url": ("chdb://", "clickhouse://h:8123", "influx://h", "clickhouse://h:-1"),
    "objects_url": ("file://", "s3://bucket?endpoint=http://h:9000", "gs://bucket", "s3://h:1x"),
}


@pytest.mark.parametrize("setting", sorted(URL_SETTINGS))
def test_each_url_setting_accepts_its_schemes(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for good in URL_SETTINGS[setting][:2]:
        monkeypatch.setenv(f"ARGOSY_{setting.upper()}", good)
        assert getattr(load_settings(PlatformSettings), setting) == good


@pytest.mark.parametrize("setting", sorted(URL_SETTINGS))
def test_unsupported_scheme_names_the_variable(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = URL_SETTINGS[setting][2]
    monkeypatch.setenv(f"ARGOSY_{setting.upper()}", bad)
    with pytest.raises(ConfigurationError) as info:
        load_settings(PlatformSettings)
    assert info.value.setting == f"ARGOSY_{setting.upper()}"
    assert str(info.value).startswith(f"ARGOSY_{setting.upper()}: unsupported scheme")


@pytest.mark.parametrize("setting", sorted(URL_SETTINGS))
def test_malformed_port_names_the_variable(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"ARGOSY_{setting.upper()}", URL_SETTINGS[setting][3])
    with pytest.raises(ConfigurationError) as info:
        load_settings(PlatformSettings)
    assert info.value.setting == f"ARGOSY_{setting.upper()}"
    assert "malformed URL" in str(info.value)


def test_url_error_does_not_echo_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_DB_URL", "mysql://admin:hunter2secret@db:3306/app")
    with pytest.raises(ConfigurationError) as info:
        load_settings(PlatformSettings)
    assert "hunter2secret" not in str(info.value)
    assert "admin:***@db" in str(info.value)


@pytest.mark.parametrize(
    "url", ["kafka://h1:9092,h2:9092", "nats://a:4222,nats://b:4222", "kafka://h1,h2:9093"]
)
def test_bus_url_accepts_a_list_of_brokers(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_BUS_URL", url)
    assert load_settings(PlatformSettings).bus_url == url


@pytest.mark.parametrize("url", ["kafka://h1:9092,h2:x", "nats://a:4222,redis://b:1", "nats://a,"])
def test_bus_url_list_checks_every_broker(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_BUS_URL", url)
    with pytest.raises(ConfigurationError, match="ARGOSY_BUS_URL"):
        load_settings(PlatformSettings)


def test_defaults_work_on_a_laptop() -> None:
    s = load_settings(PlatformSettings)
    assert (s.db_url, s.bus_url, s.cache_url, s.tsdb_url, s.objects_url) == (
        "sqlite://", "memory://", "memory://", "chdb://", "file://",
    )
    assert s.host == "127.0.0.1"
    assert s.log_level == "info"
    assert s.data_path == (Path.cwd() / "var").resolve()
    assert s.port_of("gateway") == 8080


def test_ports_follow_the_port_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_PORT_BASE", "9000")
    monkeypatch.setenv("ARGOSY_PUBLIC_HOST", "svc.local")
    s = load_settings(PlatformSettings)
    ports = {info.name: s.port_of(info.name) for info in SERVICES}
    assert ports["gateway"] == 9000
    assert ports["config"] == 9008
    assert len(set(ports.values())) == len(SERVICES)
    assert s.port_of("market_data") == s.port_of("market-data") == 9001
    assert s.url_of("risk") == "http://svc.local:9005"


def test_service_urls_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ARGOSY_SERVICE_URLS", '{"market_data": "https://md.example:8443/", "risk": "http://r:1"}'
    )
    s = load_settings(PlatformSettings)
    assert s.url_of("market-data") == "https://md.example:8443"
    assert s.url_of("risk") == "http://r:1"
    assert s.url_of("trading") == "http://127.0.0.1:8082"
    assert s.all_urls()["market-data"] == "https://md.example:8443"
    assert set(s.all_urls()) == {info.name for info in SERVICES}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('{"nosuch": "http://h:1"}', "unknown service"),
        ('{"risk": "ftp://h:1"}', "unsupported scheme"),
        ('{"risk": "http://h:port"}', "malformed URL"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_service_urls_name_the_variable(
    value: str, fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARGOSY_SERVICE_URLS", value)
    with pytest.raises(ConfigurationError) as info:
        load_settings(PlatformSettings)
    assert info.value.setting == "ARGOSY_SERVICE_URLS"
    assert fragment in str(info.value)


def test_other_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_PORT_BASE", "70000")
    with pytest.raises(ConfigurationError, match=r"^ARGOSY_PORT_BASE: "):
        load_settings(PlatformSettings)
    monkeypatch.delenv("ARGOSY_PORT_BASE")
    monkeypatch.setenv("ARGOSY_DB_SCHEMA_PREFIX", "Bad-Prefix")
    with pytest.raises(ConfigurationError, match=r"^ARGOSY_DB_SCHEMA_PREFIX: "):
        load_settings(PlatformSettings)


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_LOG_LEVEL", "WARNING")
    assert load_settings(PlatformSettings).log_level == "warning"
    monkeypatch.setenv("ARGOSY_LOG_LEVEL", "verbose")
    with pytest.raises(ConfigurationError, match="ARGOSY_LOG_LEVEL"):
        load_settings(PlatformSettings)


def test_service_settings_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_RISK_MAX_ORDERS", "42")
    monkeypatch.setenv("ARGOSY_RISK_DB_URL", "postgresql://u@h/db")
    monkeypatch.setenv("ARGOSY_RISK_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("ARGOSY_DB_URL", "sqlite:///platform.db")
    monkeypatch.setenv("ARGOSY_MAX_ORDERS", "7")  # the platform prefix is not the service's
    s = load_settings(RiskLikeSettings)
    assert (s.max_orders, s.db_url, s.log_level) == (42, "postgresql://u@h/db", "debug")
    assert s.port is None
    assert load_settings(PlatformSettings).db_url == "sqlite:///platform.db"


def test_service_settings_errors_carry_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOSY_RISK_DB_URL", "redis://h:6379")
    with pytest.raises(ConfigurationError) as info:
        load_settings(RiskLikeSettings)
    assert info.value.setting == "ARGOSY_RISK_DB_URL"
    monkeypatch.delenv("ARGOSY_RISK_DB_URL")
    monkeypatch.setenv("ARGOSY_RISK_PORT", "0")
    with pytest.raises(ConfigurationError, match=r"^ARGOSY_RISK_PORT: "):
        load_settings(RiskLikeSettings)


def test_service_settings_defaults() -> None:
    s = load_settings(RiskLikeSettings)
    assert (s.port, s.db_url, s.log_level, s.max_orders) == (None, None, None, 10)
