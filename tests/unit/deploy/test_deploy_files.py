"""The image and compose files of deploy/: the nine services, no credential in the files,
only the gateway published, settings the platform accepts."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from argosy.contracts.services import SERVICES
from argosy.platform.settings import PlatformSettings, load_settings
from tests.unit.deploy._deploy import (
    DEPLOY,
    INFRA,
    ROOT,
    block,
    compose_services,
    interpolate,
    interpolations,
    mapping,
    system_yaml,
    uncommented,
)

NAMES = [s.name for s in SERVICES]
PORTS = {s.name: 8080 + s.port_offset for s in SERVICES}
COMPOSE = (DEPLOY / "compose.yaml").read_text()
MONITORING = (DEPLOY / "compose.monitoring.yaml").read_text()
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
# Values compose may default: none of them is a credential.
NOT_SECRET = {"ARGOSY_LOG_LEVEL", "ARGOSY_TSDB_URL", "ARGOSY_IMAGE_TAG", "GATEWAY_PUBLISH",
              "MINIO_IMAGE"}


def required_vars() -> set[str]:
    return {name for name, op, _ in interpolations(COMPOSE + MONITORING) if op == ":?"}


# --- Dockerfile ------------------------------------------------------------------------

def test_dockerfile_builds_from_the_lock_with_the_makefiles_uv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION\s*:=\s*(\S+)", makefile, re.M)
    assert uv_version is not None
    assert f"uv=={uv_version[1]}" in DOCKERFILE
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE, re.M)
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) >= 2
    syncs = re.findall(r"uv sync ([^\n]*)", DOCKERFILE)
    assert syncs
    assert all("--frozen" in s and "--no-dev" in s and "--compile-bytecode" in s
                         for s in syncs)
    assert "COPY pyproject.toml uv.lock README.md ./" in DOCKERFILE
    assert "COPY src/ src/" in DOCKERFILE


def test_dockerfile_runtime_is_non_root_with_data_volume_and_serve_entrypoint() -> None:
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert re.search(r"^USER 10001:10001$", runtime, re.M)
    assert "useradd --system --uid 10001" in runtime
    assert 'VOLUME ["/data"]' in runtime
    assert "ARGOSY_DATA_DIR=/data" in runtime
    assert "ARGOSY_HOST=0.0.0.0" in runtime
    assert 'ENTRYPOINT ["argosy", "serve"]' in runtime
    assert re.search(r'HEALTHCHECK .*\\\n\s+CMD \["python", "/app/healthcheck.py"\]', runtime)
    expose = re.search(r"^EXPOSE (\d+)-(\d+)$", runtime, re.M)
    assert expose is not None
    assert all(int(expose[1]) <= port <= int(expose[2]) for port in PORTS.values())


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    rules = [line for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
             if line and not line.startswith("#")]
    assert rules[0] == "*"  # an allow-list: .venv, var/, .git and secrets stay out
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    copied = set()
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied |= {src.rstrip("/") for src in line.split()[1:-1]}
    assert copied == allowed
    assert not any(r.startswith("!") and ("secrets" in r or ".env" in r) for r in rules)


# --- compose ----------------------------------------------------------------------------

def test_compose_runs_the_nine_services_and_the_four_servers() -> None:
    services = compose_services(COMPOSE)
    assert set(services) == set(NAMES) | INFRA
    for name in NAMES:
        body = services[name]
        assert "<<: *argosy\n" in body, name
        assert f'command: ["{name}"]' in body, name  # with ENTRYPOINT: `argosy serve <name>`
        assert f"volumes: [{name}-data:/data]" in body, name
        assert "depends_on:" in body, name
    assert "image: postgres:15" in services["postgres"]
    assert "image: redis:7" in services["redis"]
    assert "image: nats:2.10" in services["nats"]
    assert "- -js" in services["nats"]
    for name in INFRA:
        assert "healthcheck:" in services[name], name


def test_compose_service_template_is_locked_down() -> None:
    template = "\n".join(block(COMPOSE, "x-argosy: &argosy"))
    assert "context: .." in template
    assert "dockerfile: deploy/Dockerfile" in template
    for line in ("read_only: true", "cap_drop: [ALL]", "restart: unless-stopped",
                 "init: true", 'security_opt: ["no-new-privileges:true"]',
                 "secrets: [internal_key]", "limits: {cpus:"):
        assert line in template, line


def test_compose_publishes_only_the_gateway() -> None:
    services = compose_services(COMPOSE)
    published = {name for name, body in services.items() if re.search(r"^\s+ports:", body, re.M)}
    assert published == {"gateway"}
    assert "expose:" not in COMPOSE
    assert "network_mode" not in COMPOSE
    assert re.search(r"^  backend:\n    internal: true$", COMPOSE, re.M)
    for name in INFRA:
        assert "networks: [backend]" in services[name], name
    # the monitoring add-on listens on the host's loopback only
    ports = re.findall(r'ports: \["([^"]+)"\]', MONITORING)
    assert ports
    assert all(p.startswith("127.0.0.1:") for p in ports)


def test_compose_files_hold_no_credential() -> None:
    for text in map(uncommented, (COMPOSE, MONITORING)):
        for name, op, _rest in interpolations(text):
            assert op == ":?" or (op == ":-" and name in NOT_SECRET), name
        # a password inside a URL is always a required variable
        for password in re.findall(r"://[^:/\s\"'@]*:([^@\s\"']+)@", text):
            assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", password), password
        for key, value in re.findall(r"^\s*(\w+):\s*(.*)$", text, re.M):
            if re.search(r"PASSWORD|SECRET|ACCESS_KEY|ROOT_USER|_AUTH$", key):
                assert value.startswith(('"${', "/run/secrets/")), key
        # command-line passwords (redis, nats) come from variables too
        for value in re.findall(r"--(?:pass|requirepass)\n\s+- (\S+)", text):
            assert value.startswith('"${'), value
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "NATS_PASSWORD", "MINIO_ROOT_PASSWORD",
            "GRAFANA_ADMIN_PASSWORD"} <= required_vars()


def test_compose_secrets_are_files_that_git_ignores() -> None:
    secrets = "\n".join(block(COMPOSE, "secrets:"))
    assert "internal_key:\n    file: ./secrets/internal.key" in secrets
    assert "config_master_key:\n    file: ./secrets/config-master.key" in secrets
    ignore = (DEPLOY / "secrets" / ".gitignore").read_text().splitlines()
    assert "*" in ignore
    assert "!.gitignore" in ignore
    assert "/.env" in (DEPLOY / ".gitignore").read_text().split()
    config = compose_services(COMPOSE)["config"]
    assert "secrets: [internal_key, config_master_key]" in config
    assert "ARGOSY_CONFIG_MASTER_KEY_FILE: /run/secrets/config_master_key" in config


def test_compose_settings_are_accepted_by_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    env = mapping(block(COMPOSE, "x-argosy-env: &argosy-env"))
    sample = {name: "0123abcd" for name in required_vars()}
    for key, value in env.items():
        monkeypatch.setenv(key, interpolate(value, sample))
    settings = load_settings(PlatformSettings)
    assert settings.all_urls() == {n: f"http://{n}:{p}" for n, p in PORTS.items()}
    assert settings.db_url == "postgresql://argosy:0123abcd@postgres:5432/argosy"
    assert settings.bus_url.startswith("nats://")
    assert settings.cache_url.startswith("redis://")
    assert settings.objects_url.startswith("s3://")
    assert settings.tsdb_url == "chdb://"
    assert settings.host == "0.0.0.0"
    assert str(settings.data_dir) == "/data"
    assert str(settings.internal_secret_file) == "/run/secrets/internal_key"


def test_compose_files_parse_as_yaml_where_pyyaml_is_installed() -> None:
    docs = system_yaml(DEPLOY / "compose.yaml", DEPLOY / "compose.monitoring.yaml")
    if docs is None:
        pytest.skip("no Python with PyYAML on this machine")
    (compose,), (monitoring,) = docs
    services = compose["services"]
    assert {n for n, s in services.items() if "ports" in s} == {"gateway"}
    for name in NAMES:
        svc = services[name]
        assert svc["command"] == [name], name
        assert svc["read_only"] is True, name
        assert svc["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert svc["cap_drop"] == ["ALL"], name
        assert "internal_key" in svc["secrets"], name
        assert all(d["condition"] == "service_healthy" for d in svc["depends_on"].values())
        assert svc["environment"]["ARGOSY_INTERNAL_SECRET_FILE"] == "/run/secrets/internal_key"
    assert set(monitoring["services"]) == {"prometheus", "grafana"}


def test_env_example_names_every_required_variable() -> None:
    example = (DEPLOY / ".env.example").read_text()
    assigned = dict(re.findall(r"^(\w+)=(.*)$", example, re.M))
    assert set(assigned) == required_vars()
    assert all(value == "" for value in assigned.values())  # no sample password to keep


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("od") is None,
                    reason="needs sh and od")
def test_make_secrets_creates_keys_and_every_password_once(tmp_path: Path) -> None:
    script = DEPLOY / "make-secrets.sh"
    subprocess.run(["sh", str(script), str(tmp_path)], check=True, capture_output=True)
    keys = [tmp_path / "secrets" / "internal.key", tmp_path / "secrets" / "config-master.key"]
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{64}\n", key.read_text())
        assert stat.S_IMODE(key.stat().st_mode) == 0o444
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    env = dict(re.findall(r"^(\w+)=(\S+)$", (tmp_path / ".env").read_text(), re.M))
    assert set(env) == required_vars()
    assert len(set(env.values())) == len(env)
    before = [p.read_text() for p in [*keys, tmp_path / ".env"]]
    subprocess.run(["sh", str(script), str(tmp_path)], check=True, capture_output=True)
    assert [p.read_text() for p in [*keys, tmp_path / ".env"]] == before


# --- Prometheus -------------------------------------------------------------------------

def test_prometheus_scrapes_the_nine_services_and_names_them() -> None:
    text = (DEPLOY / "prometheus.yml").read_text()
    found = dict(re.findall(r"- names: \[([a-z-]+)\]\n\s+type: A\n\s+port: (\d+)", text))
    assert {n: int(p) for n, p in found.items()} == PORTS
    assert "metrics_path: /metrics" in text
    assert "source_labels: [__meta_dns_name]\n        target_label: argosy_service" in text


def test_grafana_provisioning_points_at_the_dashboard() -> None:
    provider = (DEPLOY / "grafana/provisioning/dashboards/argosy.yaml").read_text()
    assert "path: /etc/grafana/dashboards" in provider
    assert "./grafana/argosy.json:/etc/grafana/dashboards/argosy.json:ro" in MONITORING
    json.loads((DEPLOY / "grafana/argosy.json").read_text())
