"""The stream end to end on a real tansu broker with real ASAS-SN curves (no mocks): parity with the
offline prediction, two consumers, dead letters, tail and history. Crash and restart tests are in
test_faults.py."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from confluent_kafka import Producer

from tests.integration.streamkit import (
    FAST_POLICY,
    SPREAD,
    STARS,
    Collector,
    Serve,
    assert_matches_offline,
    dead_letters,
    metric_sum,
    metric_value,
    offline_predictions,
    serve_until_classified,
    topics_for,
)
from varstream.inference import default_models_dir
from varstream.lightcurve import FEATURE_VERSION
from varstream.lightcurve.taxonomy import NONPERIODIC, family_of
from varstream.modelcard import sha256_file
from varstream.stream.codec import encode
from varstream.stream.kafka import KafkaConfig, ensure_topics, partition_for
from varstream.stream.replay import replay, replay_curves

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spread(asassn_dir):
    """Curves covering every partition, and their offline predictions."""
    picked = [replay_curves(asassn_dir, 12)[i] for i in SPREAD]
    assert sorted(partition_for(c.object_id.encode(), 4) for c in picked) == [0, 1, 2, 3]
    return picked, offline_predictions(asassn_dir, {c.object_id for c in picked}, 12)


def wait_for_partitions(serves: list[Serve], partitions: int, timeout_s: float = 60) -> list[float]:
    """Wait until the group has spread ``partitions`` over every serve process; returns the split."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        assigned = [metric_value(s.metrics(), "varstream_assigned_partitions") for s in serves]
        if sum(assigned) == partitions and min(assigned) > 0:
            break
        time.sleep(0.3)
    return assigned


def test_replayed_stars_get_the_offline_classification(broker, curves, offline, tmp_path):
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("parity")
    ensure_topics(kafka, topics, 4)
    serve = Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY)
    collector = Collector(kafka, topics)
    try:
        wait_for_partitions([serve], 4)
        # paced, so the consumer keeps up and reclassifies as curves grow (a backlog is coalesced)
        report = replay(curves, kafka, topics.alerts, rate=1500, progress=False)
        assert report.n_alerts == sum(report.observations.values()) > 4000
        assert collector.wait(report.observations, 240, [serve]), f"incomplete:\n{serve.output()[-3000:]}"
        time.sleep(2.5)                                   # one more statistics interval: the lag is reported
        metrics = serve.metrics()
    finally:
        assert serve.stop() == 0, serve.output()[-3000:]
        collector.close()
    lags = [line for line in metrics.splitlines() if line.startswith("varstream_consumer_lag{")]
    assert lags and all(float(line.rsplit(" ", 1)[1]) == 0 for line in lags)     # caught up, per partition
    # every star is classified repeatedly as its curve grows, and ends on the offline answer
    per_star = {oid: [r for r in collector.records if r["object_id"] == oid] for oid in report.observations}
    # (a loaded machine coalesces a backlog into fewer, larger steps: at least two per star, three on average)
    sizes = {k: len(v) for k, v in per_star.items()}
    assert min(sizes.values()) >= 2 and sum(sizes.values()) >= 3 * len(sizes), sizes
    for recs in per_star.values():
        counts = [r["n_observations"] for r in recs]
        assert counts == sorted(counts) and counts[0] < counts[-1]
        assert all(r["publish_time"] >= r["ingest_time"] >= r["first_ingest_time"] > 0 for r in recs)
    assert_matches_offline(collector.latest, offline)
    rec = next(iter(collector.latest.values()))
    assert rec["classifier"]["feature_version"] == FEATURE_VERSION
    # model_sha256 is a file's: the ensemble card's, which pins every member's ONNX hash
    assert rec["classifier"]["model_sha256"] == sha256_file(default_models_dir() / "ensemble.json")
    members = {m["name"]: m["onnx_sha256"] for m in rec["classifier"]["members"]}
    assert members == {n: sha256_file(default_models_dir() / f"{n}.onnx") for n in ("rf", "mlp", "gru")}
    assert rec["family"] in ("RR", "CEP", "ECL", "LPV", "DSCT", "ROT") and 0 < rec["family_probability"] <= 1
    assert all(r["exact"] for r in collector.latest.values())              # final = full search = offline
    assert rec["abs_mag"] is not None and rec["abs_mag_err"] > 0            # every ASAS-SN star has a distance
    # the non-periodic outcome (None from models without that class) and the prior the probabilities assume
    labels = [p["label"] for p in rec["probabilities"]]
    for r in collector.latest.values():
        assert r["prior"] == "trained"
        if NONPERIODIC in labels:
            nonper = sum(p["probability"] for p in r["probabilities"] if family_of(p["label"]) == NONPERIODIC)
            assert abs(r["nonperiodic_probability"] - nonper) < 1e-9
        else:
            assert r["nonperiodic_probability"] is None
    # the metrics page agrees with what was seen
    assert metric_value(metrics, "varstream_alerts_consumed_total") == report.n_alerts
    assert metric_value(metrics, "varstream_observations_accepted_total") == report.n_alerts
    assert metric_value(metrics, "varstream_classifications_published_total") == len(collector.records)
    assert 'varstream_model_info{' in metrics and metric_sum(metrics, "varstream_dead_letters_total") == 0
    published = len(collector.records)
    for alert in ("newest", "oldest"):
        assert metric_value(metrics, "varstream_end_to_end_latency_seconds_count", f'alert="{alert}"') == published
    for stage in ("decode", "state", "features", "inference", "produce", "commit"):
        assert metric_value(metrics, "varstream_stage_seconds_count", f'stage="{stage}"') > 0
    assert metric_value(metrics, "varstream_stars") == STARS and metric_value(metrics, "varstream_unclassified_stars") == 0
    assert metric_value(metrics, "varstream_assigned_partitions") == 4
    assert 'varstream_end_to_end_latency_seconds_bucket{alert="newest",le="0.005"}' in metrics  # ms buckets

    # history: every classification of one star, oldest first, through the CLI
    oid = curves[0].object_id
    out = subprocess.run([sys.executable, "-m", "varstream", "history", oid, "--bootstrap", broker.bootstrap,
                          "--topic", topics.classifications], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines()[1:] if line.startswith(oid[:22])]
    assert len(rows) == len(per_star[oid])
    # tail prints the table
    out = subprocess.run([sys.executable, "-m", "varstream", "tail", "--bootstrap", broker.bootstrap, "--topic",
                          topics.classifications, "--from-beginning", "--count", "3", "--seconds", "60"],
                         capture_output=True, text=True, timeout=120)
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and "class" in lines[0] and len(lines) == 1 + 3, out.stdout   # exactly 3 rows
    # filtered: only the family (and probability) asked for, the same filter on history
    family = collector.latest[oid]["family"]
    expected = sum(r["family"] == family for recs in per_star.values() for r in recs)
    out = subprocess.run([sys.executable, "-m", "varstream", "tail", "--bootstrap", broker.bootstrap, "--topic",
                          topics.classifications, "--from-beginning", "--family", family, "--min-prob", "0.0",
                          "--count", str(expected), "--seconds", "60"], capture_output=True, text=True, timeout=120)
    rows = out.stdout.splitlines()[1:]
    assert out.returncode == 0 and len(rows) == expected and all(r.split()[3] == family for r in rows), out.stdout
    out = subprocess.run([sys.executable, "-m", "varstream", "history", oid, "--bootstrap", broker.bootstrap,
                          "--topic", topics.classifications, "--class", "no-such-class"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and len(out.stdout.splitlines()) == 1           # the header, no row
    # the survey's class prior, estimated by EM from the topic's latest classification of each star
    out = subprocess.run([sys.executable, "-m", "varstream", "prior", "--bootstrap", broker.bootstrap,
                          "--topic", topics.classifications, "--min-stars", "5"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"latest classification of {STARS} stars" in out.stdout
    table = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in out.stdout.splitlines()[2:]}
    classes = [p["label"] for p in rec["probabilities"]]
    assert list(table) == classes and abs(sum(v[1] for v in table.values()) - 1) < 1e-3
    out = subprocess.run([sys.executable, "-m", "varstream", "prior", "--bootstrap", broker.bootstrap,
                          "--topic", topics.classifications, "--min-stars", str(STARS + 1)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "no estimate" in out.stderr


def test_two_consumers_split_the_partitions(broker, spread, tmp_path):
    curves, offline = spread
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("pair")
    ensure_topics(kafka, topics, 4)
    serves = [Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY, name=f"serve{i}") for i in range(2)]
    collector = Collector(kafka, topics)
    try:
        assigned = wait_for_partitions(serves, 4)
        assert sorted(assigned) == [2, 2], assigned
        report = replay(curves, kafka, topics.alerts, progress=False)
        assert collector.wait(report.observations, 240, serves)
        consumed = [metric_value(s.metrics(), "varstream_alerts_consumed_total") for s in serves]
    finally:
        codes = [s.stop() for s in serves]
        collector.close()
    assert codes == [0, 0] and min(consumed) > 0 and sum(consumed) == report.n_alerts
    assert_matches_offline(collector.latest, offline)


def test_bad_alerts_are_dead_lettered_and_the_stream_goes_on(broker, curves, tmp_path):
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("bad")
    ensure_topics(kafka, topics, 4)
    star = curves[4]
    good = {"alert_id": "x", "object_id": star.object_id, "prev_sources": None, "catalogue": None,
            "source": {"mjd": 58000.0, "band": "g", "mag": 14.0, "mag_err": 0.02}}
    bad = {
        "undecodable": (star.object_id, b"\x00\xffnot avro at all"),
        "schema_mismatch": (star.object_id, encode("alert", good) + b"\x02\x04"),
        "nonfinite": (star.object_id, encode("alert", {**good, "source": {**good["source"], "mag_err": float("nan")}})),
        "nonpositive_error": (star.object_id, encode("alert", {**good, "source": {**good["source"], "mag_err": -0.1}})),
        "absurd_time": (star.object_id, encode("alert", {**good, "source": {**good["source"], "mjd": 1e9}})),
        "unknown_band": (star.object_id, encode("alert", {**good, "source": {**good["source"], "band": "Xx"}})),
        "key_mismatch": ("someone-else", encode("alert", good)),
        "empty": (star.object_id, b""),
    }
    producer = Producer(kafka.producer())
    for key, value in bad.values():
        producer.produce(topics.alerts, value, key.encode())
    assert producer.flush(10) == 0
    report = replay([star], kafka, topics.alerts, progress=False)
    metrics = serve_until_classified(broker.bootstrap, topics, tmp_path, report.observations)
    letters = dead_letters(kafka, topics, len(bad), 30)
    assert sorted(d["reason_code"] for d in letters) == sorted(bad)
    for d in letters:
        assert d["original"] == bad[d["reason_code"]][1] and d["topic"] == topics.alerts and d["reason"]
        assert str(d["offset"]) in d["reason"]
    assert metric_value(metrics, "varstream_dead_letters_total", 'reason="undecodable"') == 1


def test_demo_runs_end_to_end_and_prints_the_summary_line(asassn_dir):
    import re

    out = subprocess.run([sys.executable, "-m", "varstream", "demo", "--dataset", str(asassn_dir), "--stars", "2",
                          "--consumers", "1", "--rate", "0"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    last = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"classified 2 stars, \d+ classifications, p50 \d+\.\d\d s, p99 \d+\.\d\d s", last), last
    assert "every star's final classification in: True" in out.stdout and "exit codes [0]" in out.stdout
