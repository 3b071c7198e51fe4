"""docker-compose.yml, the Prometheus rules and the Grafana dashboard are consistent with the code:
every file they mount exists and every metric they query is one that `varstream serve` exports."""

import json
import re
from pathlib import Path

import yaml

from varstream.stream.metrics import StreamMetrics

ROOT = Path(__file__).resolve().parents[2]


def exported_names() -> set[str]:
    names = set()
    for metric in StreamMetrics().registry.collect():
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "info": ("_info",),
                    "gauge": ("",)}[metric.type]
        names |= {metric.name + s for s in suffixes}
    return names


def queried(text: str) -> set[str]:
    return set(re.findall(r"\bvarstream_[a-z0-9_]+", text)) - {"varstream"}


def test_compose_services_and_mounts():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"kafka", "classifier", "replay", "prometheus", "grafana"} <= set(compose["services"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    serve = compose["services"]["classifier"]["command"]
    assert serve[0] == "serve" and "0.0.0.0" in serve          # metrics reachable by Prometheus
    assert (ROOT / "Dockerfile").exists()


def test_alert_rules_and_dashboard_query_exported_metrics():
    names = exported_names()
    rules = yaml.safe_load((ROOT / "ops/prometheus/alerts.yml").read_text())
    alerts = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert {"VarstreamFallingBehind", "VarstreamDeadLettersRising"} <= set(alerts)
    dashboard = json.loads((ROOT / "ops/grafana/dashboards/varstream.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    assert all(word in titles for word in ("latency", "throughput", "lag", "dead letters"))
    used = queried(" ".join(list(alerts.values()) + exprs))
    assert used and used <= names, used - names
    scrape = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text())
    assert scrape["rule_files"] == ["/etc/prometheus/alerts.yml"]
