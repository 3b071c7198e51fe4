"""The docker-compose stack end to end (Kafka, classifier, Prometheus, Grafana), with pytest-docker.

Needs a Docker engine: ``make test-compose`` runs it for users who have one. Without one (as on the
development and CI machines, which have only the docker client) every test here is skipped with
the reason — never failed. The image is built from the repository's Dockerfile by compose.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.compose


def _engine() -> str | None:
    """Why there is no usable Docker engine, or None when there is one."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker info failed: {exc}"
    if proc.returncode != 0 or not proc.stdout.strip():
        return f"no Docker engine answers ({(proc.stderr or proc.stdout).strip()[:200]})"
    return None


_WHY = _engine()
if _WHY is not None:
    pytestmark = [pytest.mark.compose, pytest.mark.skip(reason=f"compose stack needs a Docker engine: {_WHY}")]


@pytest.fixture(scope="session")
def docker_compose_file():
    return str(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_compose_project_name():
    return "varstream-test"


@pytest.fixture(scope="session")
def docker_setup():
    return ["up --build -d kafka classifier prometheus grafana"]


def _get(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _responds(url: str) -> bool:
    try:
        _get(url)
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def stack(docker_services):
    docker_services.wait_until_responsive(timeout=300, pause=2,
                                          check=lambda: _responds("http://localhost:9090/-/ready") or
                                          _responds("http://localhost:9090/api/v1/status/buildinfo"))
    docker_services.wait_until_responsive(timeout=300, pause=2,
                                          check=lambda: _responds("http://localhost:3000/api/health"))
    return docker_services


def test_replayed_stars_are_classified_scraped_and_shown(stack, asassn_dir):
    from varstream.stream.kafka import KafkaConfig
    from varstream.stream.replay import replay, replay_curves
    from varstream.stream.tail import Collector

    kafka = KafkaConfig("localhost:9092")
    curves = replay_curves(asassn_dir, 3)
    collector = Collector(kafka, "classifications")
    try:
        report = replay(curves, kafka, "alerts", progress=False)
        deadline = time.time() + 600
        while time.time() < deadline and not collector.done(report.observations):
            collector.poll(1.0)
        assert collector.done(report.observations), {k: v.get("n_observations") for k, v in collector.latest.items()}
    finally:
        collector.close()
    for rec in collector.latest.values():
        assert rec["predicted_class"] and rec["family"] and len(rec["classifier"]["model_sha256"]) == 64
    targets = _get("http://localhost:9090/api/v1/targets")["data"]["activeTargets"]
    classifiers = [t for t in targets if t["labels"].get("job") == "varstream"]
    assert classifiers and all(t["health"] == "up" for t in classifiers)
    query = _get("http://localhost:9090/api/v1/query?query=sum(varstream_classifications_published_total)")
    assert float(query["data"]["result"][0]["value"][1]) > 0
    dashboard = _get("http://localhost:3000/api/dashboards/uid/varstream")
    assert dashboard["dashboard"]["title"] == "varstream" and dashboard["dashboard"]["panels"]
