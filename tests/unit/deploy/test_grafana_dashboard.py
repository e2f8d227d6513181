"""deploy/grafana/argosy.json asks only for metrics and labels the services export."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client.metrics_core import Metric

from argosy.platform.metrics import Metrics
from tests.unit.deploy._deploy import DEPLOY, ROOT

DASHBOARD: dict[str, Any] = json.loads((DEPLOY / "grafana" / "argosy.json").read_text())
# Labels Prometheus adds to every series; argosy_service comes from deploy/prometheus.yml.
TARGET_LABELS = {"instance", "job", "argosy_service"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan"}
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count",
                                                                "_created"),
             "gauge": ("",), "summary": ("", "_sum", "_count", "_created"), "info": ("_info",)}


def exported() -> dict[str, set[str]]:
    """Sample name -> label names, for everything a service's /metrics serves."""
    source = (ROOT / "src/argosy/platform/metrics.py").read_text()
    declared = {
        name: set(re.findall(r'"(\w+)"', labels))
        for name, labels in re.findall(
            r'(?:Counter|Gauge|Histogram)\(\s*"(\w+)",\s*"[^"]*",\s*\[([^\]]*)\]', source)
    }
    families: list[Metric] = list(Metrics("probe").registry.collect())
    # the regex above must see every argosy_ family the registry holds, and only those
    registry_names = {f.name + ("_total" if f.type == "counter" else "") for f in families}
    assert {n for n in registry_names if n.startswith("argosy_")} == set(declared)
    out: dict[str, set[str]] = {}
    for family in families:
        base = family.name
        labels = declared.get(base + "_total" if family.type == "counter" else base, set())
        for suffix in _SUFFIXES.get(family.type, ("",)):
            out[base + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return out


def queries() -> list[tuple[str, str]]:
    panels = DASHBOARD["panels"]
    out = [(p["title"], t["expr"]) for p in panels for t in p.get("targets", [])]
    out += [("variable " + v["name"], v["query"]["query"])
            for v in DASHBOARD["templating"]["list"] if v["type"] == "query"]
    return out


def names_and_labels(expr: str) -> tuple[set[str], set[str]]:
    """Metric names and label names an expression uses (enough PromQL for our queries)."""
    expr = re.sub(r"^label_values\((\w+),\s*(\w+)\)$", r"\1 by (\2)", expr)
    labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", expr))
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        labels |= {g.strip() for g in group.split(",") if g.strip()}
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    names = {m[1] for m in re.finditer(r"([A-Za-z_:][\w:]*)\s*(\()?", bare)
             if not m[2] and m[1].lower() not in PROMQL_WORDS}
    return names, labels


def test_every_query_names_exported_metrics_and_their_labels() -> None:
    known = exported()
    assert "process_resident_memory_bytes" in known
    assert "process_cpu_seconds_total" in known
    used = set()
    for title, expr in queries():
        names, labels = names_and_labels(expr)
        assert names, title
        unknown = names - set(known)
        assert not unknown, f"{title}: {unknown} is not exported (src/argosy/platform/metrics.py)"
        allowed = set().union(*(known[n] for n in names)) | TARGET_LABELS
        assert labels <= allowed, f"{title}: labels {labels - allowed} do not exist"
        used |= names
    # the panels the dashboard promises, one metric each at least
    for metric in ("argosy_http_requests_total", "argosy_http_request_duration_seconds_bucket",
                   "argosy_bus_published_total", "argosy_bus_handled_total",
                   "argosy_bus_handle_duration_seconds_bucket", "argosy_outbox_pending",
                   "argosy_outbox_published_total", "argosy_dependency_up",
                   "argosy_config_version", "process_resident_memory_bytes",
                   "process_cpu_seconds_total"):
        assert metric in used, metric


def test_the_checker_rejects_what_it_should() -> None:
    names, labels = names_and_labels(
        'histogram_quantile(0.99, sum by (service, le) (rate(x_bucket{route!~"/a"}[5m])))')
    assert names == {"x_bucket"}
    assert labels == {"service", "le", "route"}
    assert "argosy_http_requests" not in exported()  # a counter is queried as ..._total


def test_dashboard_is_well_formed() -> None:
    panels = DASHBOARD["panels"]
    assert DASHBOARD["uid"]
    assert DASHBOARD["title"] == "Argosy"
    assert len({p["id"] for p in panels}) == len(panels)
    variables = {v["name"] for v in DASHBOARD["templating"]["list"]}
    assert variables == {"datasource", "service"}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            assert "service=~\"$service\"" in expr or "argosy_service=~\"$service\"" in expr


def test_probe_traffic_is_left_out_of_request_panels() -> None:
    for title, expr in queries():
        if "argosy_http_request" in expr:
            assert 'route!~"/(healthz|readyz|metrics)"' in expr, title


def test_provisioned_datasource_is_the_compose_prometheus() -> None:
    text = (DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    assert "url: http://prometheus:9090" in text
    assert "type: prometheus" in text
    monitoring = (DEPLOY / "compose.monitoring.yaml").read_text()
    assert "- ./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in monitoring
