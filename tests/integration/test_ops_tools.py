"""The operations files checked by the real tools (Debian's prometheus and docker-compose packages,
installed by `make test` / `.ci/run`): promtool on the alert rules, the scrape configuration and a
live `/metrics` page of `varstream serve`; docker-compose on docker-compose.yml (no engine needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.streamkit import fresh_metrics_page

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: `make tools` (or apt-get install prometheus docker-compose as root) "
                    "installs the operations tools these checks run")
    return path


def run(*cmd: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_alert_rules_and_the_scrape_configuration():
    out = run(tool("promtool"), "check", "rules", str(ROOT / "ops/prometheus/alerts.yml"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr and "4 rules found" in out.stdout + out.stderr
    # the scrape configuration names the rule file by its path inside the Prometheus container
    config = (ROOT / "ops/prometheus/prometheus.yml").read_text()
    local = ROOT / "build" / "prometheus-check.yml"
    local.parent.mkdir(exist_ok=True)
    local.write_text(config.replace("/etc/prometheus/alerts.yml", str(ROOT / "ops/prometheus/alerts.yml")))
    out = run(tool("promtool"), "check", "config", str(local))
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_accepts_a_live_metrics_page(broker, tmp_path):
    page, _ = fresh_metrics_page(broker.bootstrap, "promtool", tmp_path)
    out = run(tool("promtool"), "check", "metrics", stdin=page)
    assert out.returncode == 0, out.stdout + out.stderr           # names, units, help texts
    assert "varstream_dead_letters_total" in page


def test_docker_compose_accepts_the_stack():
    out = run(tool("docker-compose"), "-f", str(ROOT / "docker-compose.yml"), "config")
    assert out.returncode == 0, out.stderr
    for service in ("kafka:", "classifier:", "prometheus:", "grafana:", "replay:"):
        assert service in out.stdout
