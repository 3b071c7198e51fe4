"""Reliability at survey scale on the real broker: poison pills and keyless alerts go to the dead
letters without stopping the partition, labelled counters exist from the start, the local store
makes a restart read only the changelog's tail, and a deleted store is rebuilt from the changelog."""

from __future__ import annotations

import hashlib
import os
import shutil
import time

import pytest
from confluent_kafka import Producer

from tests.integration.streamkit import (
    FAST_POLICY,
    Collector,
    Serve,
    assert_matches_offline,
    dead_letters,
    fresh_metrics_page,
    metric_value,
    serve_until_classified,
    topics_for,
)
from varstream.stream.codec import encode
from varstream.stream.ingest import MAX_ORIGINAL_BYTES
from varstream.stream.kafka import KafkaConfig, ensure_topics
from varstream.stream.replay import replay

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_poison_pills_and_a_keyless_alert_are_dead_lettered_and_the_partition_moves_on(broker, curves, tmp_path):
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("poison")
    ensure_topics(kafka, topics, 4)
    star = curves[4]
    source = {"mjd": 58000.0, "band": "g", "mag": 14.0, "mag_err": 0.02}
    huge = encode("alert", {"alert_id": "huge", "object_id": star.object_id, "catalogue": None, "source": source,
                            "prev_sources": [dict(source, mjd=50000.0 + i * 0.01) for i in range(100_000)]})
    noise = os.urandom(1_040_000)
    keyless = encode("alert", {"alert_id": "keyless", "object_id": star.object_id, "catalogue": None,
                               "source": source, "prev_sources": None})
    assert len(huge) > 2_500_000
    producer = Producer(kafka.producer(**{"message.max.bytes": 10_000_000}))
    producer.produce(topics.alerts, huge, star.object_id.encode())
    producer.produce(topics.alerts, noise, star.object_id.encode())
    producer.produce(topics.alerts, keyless, None, partition=0)
    assert producer.flush(30) == 0
    report = replay([star], kafka, topics.alerts, progress=False)          # good alerts behind the pills
    metrics = serve_until_classified(broker.bootstrap, topics, tmp_path, report.observations)
    letters = {d["original_sha256"]: d for d in dead_letters(kafka, topics, 3)}
    for value, code in ((huge, "too_large"), (noise, "undecodable"), (keyless, "missing_key")):
        d = letters[hashlib.sha256(value).hexdigest()]
        assert d["reason_code"] == code and d["original_size"] == len(value) and d["topic"] == topics.alerts
        assert d["original_truncated"] == (len(value) > MAX_ORIGINAL_BYTES)
        assert d["original"] == value[:MAX_ORIGINAL_BYTES] and str(d["offset"]) in d["reason"]
    assert metric_value(metrics, "varstream_dead_letters_total", 'reason="too_large"') == 1
    assert metric_value(metrics, "varstream_dead_letters_total", 'reason="missing_key"') == 1
    assert metric_value(metrics, "varstream_observations_accepted_total") == report.n_alerts
    # the offsets past the pills are committed: a new consumer of the group re-reads nothing
    again = Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY)
    try:
        time.sleep(8)
        page = again.metrics()
        assert metric_value(page, "varstream_alerts_consumed_total") == 0
    finally:
        assert again.stop() == 0


def test_labelled_counters_exist_at_zero_before_any_event(broker, tmp_path):
    page, log = fresh_metrics_page(broker.bootstrap, "zero", tmp_path)
    for reason in ("undecodable", "too_large", "missing_key", "nonpositive_error", "internal_error"):
        assert metric_value(page, "varstream_dead_letters_total", f'reason="{reason}"') == 0
    for trigger in ("fresh", "growth", "idle", "settle"):
        assert metric_value(page, "varstream_reclassifications_total", f'trigger="{trigger}"') == 0
    assert metric_value(page, "varstream_period_searches_total", 'path="fast"') == 0
    assert page.count("metrics on http") == 0                      # the address is logged, not on the page
    assert log.count("metrics on http") == 1


def _restored(serve: Serve, partitions: int = 4, timeout_s: float = 120) -> tuple[float, str]:
    """Records restored and the log, once every partition has been assigned and restored."""
    deadline = time.time() + timeout_s
    while serve.output().count(" restored (") < partitions:
        assert time.time() < deadline and serve.alive, serve.output()[-3000:]
        time.sleep(0.2)
    page = serve.metrics()
    return metric_value(page, "varstream_restored_records_total"), serve.output()


def test_a_restart_reads_only_the_changelog_tail_and_a_deleted_store_is_rebuilt(broker, curves, offline, tmp_path):
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("store")
    ensure_topics(kafka, topics, 4)
    half = [lc.select(lc.times < lc.times[len(lc) // 2]) for lc in curves]
    rest = [lc.select(lc.times >= lc.times[len(lc) // 2]) for lc in curves]
    collector = Collector(kafka, topics)
    try:
        first = replay(half, kafka, topics.alerts, progress=False)
        serve = Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY)
        assert collector.wait(first.observations, 240, [serve]), serve.output()[-3000:]
        serve.kill9()                                           # a crash: the store keeps its last checkpoint
        second = replay(rest, kafka, topics.alerts, progress=False)
        expected = {k: first.observations.get(k, 0) + second.observations.get(k, 0) for k in offline}
        serve = Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY)
        assert collector.wait(expected, 300, [serve]), serve.output()[-3000:]
        restored, log = _restored(serve)
        assert serve.stop() == 0
        assert "tail after offset" in log and "(full)" not in log
        assert restored < sum(first.observations.values()) / 4           # the tail, not the whole changelog
        assert_matches_offline(collector.latest, offline)                 # nothing lost, offline parity

        shutil.rmtree(tmp_path / "state")                                 # the local store is gone
        serve = Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY)
        restored, log = _restored(serve)
        assert serve.stop() == 0
        assert "(full)" in log and restored >= sum(expected.values())     # every observation replayed
        assert (tmp_path / "state" / topics.group).is_dir()
    finally:
        collector.close()
