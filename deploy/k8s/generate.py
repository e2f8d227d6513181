"""Write the Kubernetes manifests of deploy/k8s from one list of the nine services.

    python deploy/k8s/generate.py           # rewrite the YAML files beside this script
    python deploy/k8s/generate.py --check   # exit 1 if a committed file differs

The manifests are built as plain dicts and written by a small YAML emitter of our own, so
this script needs only the standard library (PyYAML is not a dependency of the project).
tests/unit/deploy checks the dicts and that the committed files are what this writes now.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["NAMESPACE", "SERVICES", "Service", "dump_yaml", "main", "manifests", "render"]

HERE = Path(__file__).resolve().parent
NAMESPACE = "argosy"
IMAGE = "argosy"  # replaced by the `images:` entry of kustomization.yaml
UID = 10001  # the image's user (deploy/Dockerfile)
INTERNAL_KEY_DIR = "/run/secrets/argosy"
CONFIG_KEY_DIR = "/run/secrets/argosy-config"
INSTANCE_ID = NAMESPACE  # cache key namespace; see _instance_config_map


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    replicas: int = 2
    # Embedded chdb (chdb://) lives in the pod's /data: one replica, on a persistent volume.
    # With ARGOSY_TSDB_URL=clickhouse://... it can scale like the others (deploy/README.md).
    embedded_tsdb: bool = False
    memory: str = "512Mi"
    storage: str = ""


# Keep in step with src/argosy/contracts/services.py (tests/unit/deploy checks they agree).
SERVICES: tuple[Service, ...] = (
    Service("gateway", 8080),
    Service("market-data", 8081, replicas=1, embedded_tsdb=True, memory="2Gi", storage="20Gi"),
    Service("trading", 8082),
    Service("users", 8083),
    Service("strategy", 8084),
    Service("risk", 8085),
    Service("notification", 8086),
    Service("analytics", 8087, replicas=1, embedded_tsdb=True, memory="2Gi", storage="10Gi"),
    Service("config", 8088),
)


def _labels(component: str | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": "argosy", "app.kubernetes.io/part-of": "argosy"}
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def _selector(svc: Service) -> dict[str, str]:
    return {"app.kubernetes.io/name": "argosy", "app.kubernetes.io/component": svc.name}


def _meta(name: str, component: str | None = None) -> dict[str, Any]:
    return {"name": name, "labels": _labels(component)}


def namespace() -> dict[str, Any]:
    # `restricted` is the strictest Pod Security Standard; every pod below meets it.
    labels = _labels() | {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": labels}}


def shared_env() -> dict[str, str]:
    """Settings every service shares that hold no secret (the rest: Secret argosy-connections)."""
    urls = {s.name: f"http://{s.name}:{s.port}" for s in SERVICES}
    return {
        "ARGOSY_HOST": "0.0.0.0",
        "ARGOSY_DATA_DIR": "/data",
        "ARGOSY_LOG_FORMAT": "json",
        "ARGOSY_LOG_LEVEL": "info",
        "ARGOSY_SERVICE_URLS": json.dumps(urls, separators=(",", ":")),
        "ARGOSY_INTERNAL_SECRET_FILE": f"{INTERNAL_KEY_DIR}/internal.key",
        "ARGOSY_TSDB_URL": "chdb://",
    }


def config_maps() -> list[dict[str, Any]]:
    env = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("argosy-env"),
           "data": shared_env()}
    return [env, _instance_config_map()]


def _instance_config_map() -> dict[str, Any]:
    # The runtime keys its cache namespace on data_dir/instance-id, created on first start.
    # Each pod has its own /data, so replicas would each pick one; mounting this file gives
    # every replica of a service the same cache namespace.
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("argosy-instance"),
            "data": {"instance-id": INSTANCE_ID}}


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period,
            "timeoutSeconds": 3, "failureThreshold": failures}


def _volumes(svc: Service) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data: dict[str, Any] = (
        {"name": "data", "persistentVolumeClaim": {"claimName": f"{svc.name}-data"}}
        if svc.embedded_tsdb else {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}
    )
    volumes: list[dict[str, Any]] = [
        data,
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "instance", "configMap": {"name": "argosy-instance"}},
        {"name": "internal-key",
         "secret": {"secretName": "argosy-internal", "defaultMode": 0o440}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "data", "mountPath": "/data"},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir of its own
        {"name": "instance", "mountPath": "/data/instance-id", "subPath": "instance-id",
         "readOnly": True},
        {"name": "internal-key", "mountPath": INTERNAL_KEY_DIR, "readOnly": True},
    ]
    if svc.name == "config":
        volumes.append({"name": "master-key",
                        "secret": {"secretName": "argosy-config-master", "defaultMode": 0o440}})
        mounts.append({"name": "master-key", "mountPath": CONFIG_KEY_DIR, "readOnly": True})
    return volumes, mounts


def _container(svc: Service, mounts: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": svc.name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": [svc.name],  # the image's entrypoint is `argosy serve`
        "ports": [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}],
        "envFrom": [
            {"configMapRef": {"name": "argosy-env"}},
            {"secretRef": {"name": "argosy-connections"}},  # later source wins on a clash
        ],
    }
    if svc.name == "config":
        container["env"] = [{"name": "ARGOSY_CONFIG_MASTER_KEY_FILE",
                             "value": f"{CONFIG_KEY_DIR}/config-master.key"}]
    container |= {
        # migrations run at start-up; the startup probe gives them up to 2 minutes
        "startupProbe": _probe("/healthz", 2, 60),
        "livenessProbe": _probe("/healthz", 20, 3),
        "readinessProbe": _probe("/readyz", 10, 3),
        "resources": {
            "requests": {"cpu": "250m" if svc.embedded_tsdb else "100m", "memory": svc.memory},
            "limits": {"cpu": "2" if svc.embedded_tsdb else "1", "memory": svc.memory},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    return container


def deployment(svc: Service) -> dict[str, Any]:
    volumes, mounts = _volumes(svc)
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,  # no <SERVICE>_PORT=tcp://... variables in the env
        "terminationGracePeriodSeconds": 30,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(svc, mounts)],
        "volumes": volumes,
    }
    if svc.replicas > 1:
        pod["topologySpreadConstraints"] = [{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": _selector(svc)},
        }]
    strategy: dict[str, Any] = (
        {"type": "Recreate"} if svc.embedded_tsdb  # one pod at a time on the volume and chdb
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(svc.name, svc.name),
        "spec": {
            "replicas": svc.replicas,
            "strategy": strategy,
            "selector": {"matchLabels": _selector(svc)},
            "template": {"metadata": {"labels": _labels(svc.name)}, "spec": pod},
        },
    }


def service(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(svc.name, svc.name),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(svc),
            "ports": [{"name": "http", "port": svc.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(svc.name, svc.name),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": _selector(svc)}},
    }


def volume_claim(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(f"{svc.name}-data", svc.name),
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": svc.storage}}},
    }


def network_policies() -> list[dict[str, Any]]:
    """Deny ingress by default; pods of the namespace reach each other; the world reaches
    only the gateway."""
    def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": _meta(name), "spec": spec}

    gateway = next(s for s in SERVICES if s.name == "gateway")
    return [
        policy("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        policy("allow-from-namespace", {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
        }),
        policy("allow-gateway-from-anywhere", {
            "podSelector": {"matchLabels": _selector(gateway)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": gateway.port, "protocol": "TCP"}]}],
        }),
    ]


def _version() -> str:
    pyproject = HERE.parents[1] / "pyproject.toml"
    return str(tomllib.loads(pyproject.read_text())["project"]["version"])


def kustomization(files: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": files,
        "images": [{"name": IMAGE, "newName": IMAGE, "newTag": _version()}],
    }


def manifests() -> dict[str, list[dict[str, Any]]]:
    """File name -> the documents it holds, in the order they are written."""
    files: dict[str, list[dict[str, Any]]] = {
        "namespace.yaml": [namespace()],
        "configmap.yaml": config_maps(),
        "networkpolicy.yaml": network_policies(),
    }
    for svc in SERVICES:
        docs = [volume_claim(svc)] if svc.embedded_tsdb else []
        docs += [deployment(svc), service(svc)]
        if svc.replicas > 1:
            docs.append(disruption_budget(svc))
        files[f"{svc.name}.yaml"] = docs
    files["kustomization.yaml"] = [kustomization(list(files))]
    return files


# --- a YAML emitter for the plain data above (dicts, lists, str, int, bool) ----------------

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED:
            return value
        return json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_scalar(key)}:"
            if isinstance(item, dict | list) and item:
                out.append(head)
                out += _lines(item, indent + 2)
            else:
                out.append(f"{head} {_empty_or_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = _lines(item, indent + 2)
                out.append(f"{pad}- {nested[0][indent + 2:]}")
                out += nested[1:]
            else:
                out.append(f"{pad}- {_empty_or_scalar(item)}")
    else:
        out.append(f"{pad}{_scalar(value)}")
    return out


def _empty_or_scalar(value: Any) -> str:
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return _scalar(value)


def dump_yaml(docs: list[dict[str, Any]]) -> str:
    return "---\n".join("\n".join(_lines(doc, 0)) + "\n" for doc in docs)


HEADER = "# Generated by deploy/k8s/generate.py: edit that script, then run it.\n"


def render() -> dict[str, str]:
    return {name: HEADER + dump_yaml(docs) for name, docs in manifests().items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in render().items():
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python deploy/k8s/generate.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
