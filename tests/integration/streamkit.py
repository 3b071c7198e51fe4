"""Helpers of the stream integration tests: serve processes, collecting classifications, the
offline reference. Everything talks to a real tansu broker; nothing is mocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from varstream.inference import Ensemble, default_models_dir, load_models
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.lightcurve.pipeline import featurise
from varstream.stream.broker import free_port
from varstream.stream.kafka import KafkaConfig, Topics
from varstream.stream.replay import replay
from varstream.stream.tail import ClassificationReader

REPO = Path(__file__).resolve().parents[2]
#: Stars replayed by most stream tests (about 9,300 alerts).
STARS = 5
#: Among the first 12 stars, four whose ids hash to each of 4 partitions (the first 5 fall in two).
SPREAD = (0, 1, 8, 9)
#: Fewer intermediate classifications than the defaults: quicker tests.
FAST_POLICY = ("--growth", "0.2", "--idle", "0.5")


def topics_for(tag: str) -> Topics:
    """Fresh topic names and group per test, so tests sharing a broker do not meet."""
    return Topics(f"alerts-{tag}", f"classifications-{tag}", f"deadletter-{tag}", f"group-{tag}")


class Serve:
    """One ``varstream serve`` process (a real subprocess, as in production)."""

    def __init__(self, bootstrap: str, topics: Topics, log_dir: Path, *extra: str, name: str = "serve") -> None:
        self.metrics_port = free_port()
        self.log_path = log_dir / f"{name}-{time.time_ns()}.log"
        cmd = [sys.executable, "-m", "varstream", "serve", "--bootstrap", bootstrap, "--group", topics.group,
               "--input-topic", topics.alerts, "--output-topic", topics.classifications,
               "--deadletter-topic", topics.deadletter, "--metrics-port", str(self.metrics_port),
               "--log-level", "info", *extra]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def metrics(self, timeout_s: float = 30.0) -> str:
        """The text of its ``/metrics`` page (waits until the server is up)."""
        deadline = time.time() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as resp:
                    return resp.read().decode()
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.2)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def metric_value(text: str, name: str, labels: str = "") -> float:
    """The value of one sample of a Prometheus text page (``labels`` as in the page, e.g. 'reason="x"')."""
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(wanted)


class Collector:
    """Every classification on the output topic, and the latest per star."""

    def __init__(self, kafka: KafkaConfig, topics: Topics) -> None:
        self.reader = ClassificationReader(kafka, topics.classifications, from_beginning=True)
        self.records: list[dict] = []
        self.latest: dict[str, dict] = {}

    def poll(self) -> None:
        for rec, _ in self.reader.poll(0.3):
            self.records.append(rec)
            before = self.latest.get(rec["object_id"])
            if before is None or rec["n_observations"] >= before["n_observations"]:
                self.latest[rec["object_id"]] = rec

    def done(self, expected: dict[str, int]) -> bool:
        return all(self.latest.get(k, {}).get("n_observations") == n for k, n in expected.items())

    def wait(self, expected: dict[str, int], timeout_s: float, alive: list[Serve] = ()) -> bool:
        """Poll until every star's latest classification covers all its observations."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            self.poll()
            if self.done(expected):
                return True
            for s in alive:
                assert s.proc.poll() is None, f"serve exited with {s.proc.returncode}:\n{s.output()[-3000:]}"
        return False

    def close(self) -> None:
        self.reader.close()


def offline_predictions(dataset: Path, ids: set[str], limit: int) -> dict[str, np.ndarray]:
    """The shipped ensemble's probabilities for each star's full archived curve, computed offline:
    the loader's merged curve, the shared pipeline, onnxruntime — no stream code involved."""
    models = load_models(default_models_dir(), ("rf", "mlp", "gru"))
    ensemble = Ensemble([models[m] for m in ("rf", "mlp", "gru")])
    out = {}
    for lc in open_dataset(dataset).iter_lightcurves(limit=limit, era="merged"):
        if lc.object_id not in ids:
            continue
        f = featurise(lc)
        out[lc.object_id] = ensemble.predict_proba(f.features.values[None, :], f.sequence[None])[0]
    return out


def assert_matches_offline(latest: dict[str, dict], offline: dict[str, np.ndarray]) -> None:
    """Each star's latest classification has the offline probabilities (and hence class)."""
    assert set(latest) == set(offline)
    for oid, probs in offline.items():
        rec = latest[oid]
        got = np.array([p["probability"] for p in rec["probabilities"]])
        np.testing.assert_allclose(got, probs, atol=1e-5, err_msg=oid)
        assert rec["predicted_class"] == rec["probabilities"][int(np.argmax(probs))]["label"]


def replay_in_background(curves, kafka: KafkaConfig, topic: str, rate: float) -> tuple[threading.Thread, dict]:
    """Replay in a thread; the report lands in ``box["report"]`` (or the error in ``box["error"]``)."""
    box: dict = {}

    def run() -> None:
        try:
            box["report"] = replay(curves, kafka, topic, rate=rate, progress=False)
        except Exception as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box
