"""deploy/k8s: the manifests generate.py builds, and the committed files being exactly those."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from argosy.contracts.services import SERVICES
from argosy.platform.settings import PlatformSettings, load_settings
from tests.unit.deploy._deploy import K8S, load_module, system_yaml

gen = load_module(K8S / "generate.py")
PORTS = {s.name: 8080 + s.port_offset for s in SERVICES}
FILES: dict[str, list[dict[str, Any]]] = gen.manifests()
DOCS = [doc for docs in FILES.values() for doc in docs]
# Connection settings hold passwords: they may come only from Secret argosy-connections.
SECRET_SETTINGS = {"ARGOSY_DB_URL", "ARGOSY_BUS_URL", "ARGOSY_CACHE_URL", "ARGOSY_OBJECTS_URL",
                   "ARGOSY_S3_ACCESS_KEY_ID", "ARGOSY_S3_SECRET_ACCESS_KEY"}


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in DOCS if d["kind"] == kind}


def pod(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = of_kind("Deployment")[name]["spec"]["template"]["spec"]
    return spec


def test_generator_list_agrees_with_the_service_catalogue() -> None:
    assert [(s.name, s.port) for s in gen.SERVICES] == list(PORTS.items())


def test_committed_files_are_what_the_generator_writes() -> None:
    rendered = gen.render()
    on_disk = {p.name for p in K8S.glob("*.yaml")}
    assert on_disk == set(rendered), "run python deploy/k8s/generate.py"
    for name, text in rendered.items():
        assert (K8S / name).read_text() == text, f"{name} is stale: run deploy/k8s/generate.py"
    assert gen.main(["--check"]) == 0


def test_each_service_has_a_deployment_and_a_cluster_ip_service() -> None:
    deployments, services = of_kind("Deployment"), of_kind("Service")
    assert set(deployments) == set(services) == set(PORTS)
    for name, port in PORTS.items():
        (container,) = pod(name)["containers"]
        assert container["args"] == [name]  # after the image's `argosy serve`
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        svc = services[name]["spec"]
        assert svc["type"] == "ClusterIP"
        assert svc["ports"] == [{"name": "http", "port": port, "targetPort": "http",
                                 "protocol": "TCP"}]
        assert svc["selector"] == deployments[name]["spec"]["selector"]["matchLabels"]
        assert deployments[name]["spec"]["template"]["metadata"]["labels"].items() >= \
            svc["selector"].items()


def test_probes_resources_and_replicas() -> None:
    for svc in gen.SERVICES:
        (container,) = pod(svc.name)["containers"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert set(container["resources"]) == {"requests", "limits"}
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        spec = of_kind("Deployment")[svc.name]["spec"]
        if svc.embedded_tsdb:  # chdb in /data: one process, on a volume that outlives the pod
            assert spec["replicas"] == 1
            assert spec["strategy"] == {"type": "Recreate"}
            assert {"name": "data", "persistentVolumeClaim": {"claimName": f"{svc.name}-data"}} \
                in pod(svc.name)["volumes"]
            assert f"{svc.name}-data" in of_kind("PersistentVolumeClaim")
        else:
            assert spec["replicas"] == 2
            assert svc.name in of_kind("PodDisruptionBudget")
    assert {s.name for s in gen.SERVICES if s.embedded_tsdb} == {"market-data", "analytics"}


def test_pods_run_non_root_read_only_without_capabilities() -> None:
    for name in PORTS:
        spec = pod(name)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        ctx = container["securityContext"]
        assert ctx["runAsNonRoot"] is True
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert "emptyDir" in volumes[mounts["/data"]] or "persistentVolumeClaim" in \
            volumes[mounts["/data"]]
    namespace = of_kind("Namespace")["argosy"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_secrets_are_referenced_never_written() -> None:
    assert not of_kind("Secret")
    env_map = of_kind("ConfigMap")["argosy-env"]["data"]
    assert not SECRET_SETTINGS & set(env_map)
    assert not any("@" in value for value in env_map.values())  # no user:password@ in a URL
    for name in PORTS:
        spec = pod(name)
        (container,) = spec["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": "argosy-env"}},
                                        {"secretRef": {"name": "argosy-connections"}}]
        assert all(set(e) == {"name", "value"} and e["value"].startswith("/run/secrets/")
                   for e in container.get("env", []))
        secrets = {v["secret"]["secretName"]: v for v in spec["volumes"] if "secret" in v}
        expected = {"argosy-internal"} | ({"argosy-config-master"} if name == "config" else set())
        assert set(secrets) == expected, name
        assert all(v["secret"]["defaultMode"] == 0o440 for v in secrets.values())
    config_env = {e["name"]: e["value"] for e in pod("config")["containers"][0]["env"]}
    assert config_env == {
        "ARGOSY_CONFIG_MASTER_KEY_FILE": "/run/secrets/argosy-config/config-master.key"}


def test_shared_settings_are_accepted_by_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    env = gen.shared_env() | {  # what README's connections.env holds
        "ARGOSY_DB_URL": "postgresql://argosy:pw@db:5432/argosy",
        "ARGOSY_BUS_URL": "nats://argosy:pw@nats:4222",
        "ARGOSY_CACHE_URL": "redis://:pw@redis:6379/0",
        "ARGOSY_OBJECTS_URL": "s3://argosy?endpoint=https://s3.example&region=us-east-1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(PlatformSettings)
    assert settings.all_urls() == {n: f"http://{n}:{p}" for n, p in PORTS.items()}
    assert settings.host == "0.0.0.0"
    assert str(settings.data_dir) == "/data"
    assert str(settings.internal_secret_file) == "/run/secrets/argosy/internal.key"
    mounts = {m["mountPath"] for m in pod("risk")["containers"][0]["volumeMounts"]}
    assert "/run/secrets/argosy" in mounts
    assert "/data/instance-id" in mounts


def test_only_the_gateway_is_reachable_from_outside_the_namespace() -> None:
    policies = of_kind("NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    open_to: list[dict[str, Any]] = []
    for policy in policies.values():
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            if sources is None:  # no `from`: any source at all
                open_to.append(policy["spec"]["podSelector"])
                assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
            else:  # pods of this namespace only: no namespaceSelector, no ipBlock
                assert sources == [{"podSelector": {}}]
    assert open_to == [{"matchLabels": {"app.kubernetes.io/name": "argosy",
                                        "app.kubernetes.io/component": "gateway"}}]


def test_kustomization_lists_every_manifest() -> None:
    (kustomization,) = FILES["kustomization.yaml"]
    assert kustomization["namespace"] == "argosy"
    assert set(kustomization["resources"]) == set(FILES) - {"kustomization.yaml"}
    assert kustomization["images"][0]["name"] == gen.IMAGE


@pytest.mark.parametrize("value", ["yes", "No", "on", "null", "~", "0.0.0.0", "1Gi", "8080",
                                   "", "a: b", "#x", "- x", "{x}", "chdb://", "x #y", "true"])
def test_emitter_quotes_what_yaml_would_read_otherwise(value: str) -> None:
    assert gen._scalar(value) == json.dumps(value)


def test_emitter_output_parses_back_where_pyyaml_is_installed() -> None:
    names = sorted(FILES)
    docs = system_yaml(*(K8S / name for name in names))
    if docs is None:
        pytest.skip("no Python with PyYAML on this machine")
    assert dict(zip(names, docs, strict=True)) == FILES


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_the_base() -> None:
    done = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True,
                          check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\nkind: Deployment\n") == len(PORTS)
