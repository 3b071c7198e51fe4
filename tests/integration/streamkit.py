"""Helpers of the stream integration tests: serve processes, collecting classifications, the
offline reference. Everything talks to a real tansu broker; nothing is mocked."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from varstream.inference import default_models_dir, load_classifier
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.lightcurve.pipeline import featurise
from varstream.stream.kafka import KafkaConfig, Topics, ensure_topics
from tests.metrics_text import metric_sum, metric_value  # noqa: F401 (re-exported)
from varstream.stream.serve_process import ServeProcess
from varstream.stream.replay import replay
from varstream.stream.tail import Collector as ClassificationCollector

#: Stars replayed by most stream tests (about 9,300 alerts).
STARS = 5
#: Among the first 12 stars, four whose ids hash to each of 4 partitions (the first 5 fall in two).
SPREAD = (0, 1, 8, 9)
#: Fewer intermediate classifications than the defaults: quicker tests.
FAST_POLICY = ("--growth", "0.2", "--idle", "0.5")


def topics_for(tag: str) -> Topics:
    """Fresh topic names and group per test, so tests sharing a broker do not meet."""
    return Topics(f"alerts-{tag}", f"classifications-{tag}", f"deadletter-{tag}", f"group-{tag}")


class Serve(ServeProcess):
    """A serve process logging into the test's temporary directory."""

    def __init__(self, bootstrap: str, topics: Topics, log_dir: Path, *extra: str, name: str = "serve") -> None:
        super().__init__(bootstrap, topics, *extra, log_path=log_dir / f"{name}-{time.time_ns()}.log",
                         state_dir=log_dir / "state")


def fresh_metrics_page(bootstrap: str, tag: str, log_dir: Path) -> tuple[str, str]:
    """The /metrics page of a serve process that has consumed nothing yet (on fresh topics), and
    the process's log once it stopped."""
    topics = topics_for(tag)
    ensure_topics(KafkaConfig(bootstrap), topics, 4)
    serve = Serve(bootstrap, topics, log_dir)
    try:
        page = serve.metrics()
    finally:
        assert serve.stop() == 0
    return page, serve.output()


class Collector(ClassificationCollector):
    """The classification collector with a wait that watches serve processes."""

    def __init__(self, kafka: KafkaConfig, topics: Topics) -> None:
        super().__init__(kafka, topics.classifications)

    def wait(self, expected: dict[str, int], timeout_s: float, alive: list[Serve] = ()) -> bool:
        """Poll until every star's latest classification covers all its observations."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            self.poll()
            if self.done(expected):
                return True
            for s in alive:
                assert s.alive, f"serve exited with {s.proc.returncode}:\n{s.output()[-3000:]}"
        return False


def offline_predictions(dataset: Path, ids: set[str], limit: int) -> dict[str, np.ndarray]:
    """The shipped ensemble's probabilities for each star's full archived curve, computed offline:
    the loader's merged curve, the shared pipeline, onnxruntime, the ensemble's length calibration —
    no stream code involved."""
    ensemble = load_classifier(default_models_dir())
    out = {}
    for lc in open_dataset(dataset).iter_lightcurves(limit=limit):
        if lc.object_id not in ids:
            continue
        f = featurise(lc)
        out[lc.object_id] = ensemble.predict_proba(f.features.values[None, :], f.sequence[None],
                                                   np.array([f.n_points]))[0]
    return out


def assert_matches_offline(latest: dict[str, dict], offline: dict[str, np.ndarray]) -> None:
    """Each star's latest classification has the offline probabilities (and hence class)."""
    assert set(latest) == set(offline)
    for oid, probs in offline.items():
        rec = latest[oid]
        got = np.array([p["probability"] for p in rec["probabilities"]])
        np.testing.assert_allclose(got, probs, atol=1e-5, err_msg=oid)
        assert rec["predicted_class"] == rec["probabilities"][int(np.argmax(probs))]["label"]
        # the period's significance and cycles are published (cycles over the span before sigma
        # clipping, which can only shorten it), and the bands used
        assert 0.0 <= rec["period_fap"] <= 1.0 and rec["bands"], oid
        assert rec["period_cycles"] >= rec["span_days"] / rec["period_days"] * (1 - 1e-9), oid


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


def serve_until_classified(bootstrap: str, topics: Topics, log_dir: Path, observations: dict[str, int],
                           timeout_s: float = 180) -> str:
    """Run one serve process until every star is classified with all its observations; returns
    its metrics page (the process is stopped cleanly)."""
    serve = Serve(bootstrap, topics, log_dir, *FAST_POLICY)
    collector = Collector(KafkaConfig(bootstrap), topics)
    try:
        assert collector.wait(observations, timeout_s, [serve]), serve.output()[-3000:]
        return serve.metrics()
    finally:
        assert serve.stop() == 0
        collector.close()


def dead_letters(kafka: KafkaConfig, topics: Topics, expected: int, timeout_s: float = 60) -> list[dict]:
    """The dead-letter topic's records (waits for ``expected`` of them)."""
    from confluent_kafka import Consumer, TopicPartition

    from varstream.stream.codec import decode

    consumer = Consumer(kafka.client(**{"group.id": f"check-{time.time_ns()}"}))
    consumer.assign([TopicPartition(topics.deadletter, 0, 0)])
    letters, deadline = [], time.time() + timeout_s
    while len(letters) < expected and time.time() < deadline:
        letters += [decode("deadletter", m.value()) for m in consumer.consume(500, 0.5) if not m.error()]
    consumer.close()
    return letters
