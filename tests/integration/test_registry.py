"""The Confluent Schema Registry wire format end to end on the real broker: replay and serve frame
every message through confluent-kafka's registry client and Avro serde against a local server that
speaks the registry's REST API (the one fake the integration tests use: no real registry installs
here), with offline parity; a schemaless message on a registry topic is dead-lettered, not fatal; a
subscriber holding the schema before the non-periodic outcome still reads the new records."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer

from tests.fake_registry import FakeRegistry
from tests.integration.streamkit import FAST_POLICY, Serve, assert_matches_offline, offline_predictions, topics_for
from varstream.stream.codec import encode, schema_json
from varstream.stream.kafka import KafkaConfig, ensure_topics, read_partition
from varstream.stream.replay import replay, replay_curves
from varstream.stream.tail import Collector
from varstream.stream.wire import WireFormat

pytestmark = pytest.mark.integration

#: Fields added to the classification record in version 7 (with defaults).
NEW_IN_VERSION_7 = ("nonperiodic_probability", "prior")


def test_a_real_star_through_the_broker_in_the_registry_wire_format(broker, asassn_dir, tmp_path):
    curves = replay_curves(asassn_dir, 1)
    offline = offline_predictions(asassn_dir, {curves[0].object_id}, 1)
    kafka = KafkaConfig(broker.bootstrap)
    topics = topics_for("registry")
    ensure_topics(kafka, topics, 4)
    with FakeRegistry() as registry:
        wire = WireFormat(registry.url)
        report = replay(curves, kafka, topics.alerts, wire=wire, progress=False)
        producer = Producer(kafka.producer())
        producer.produce(topics.alerts, encode("alert", {"alert_id": "x", "object_id": "schemaless", "source": {
            "mjd": 58000.0, "band": "g", "mag": 14.0, "mag_err": 0.02}, "prev_sources": None, "catalogue": None}),
            b"schemaless")
        producer.flush(10)
        serve = Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY, "--schema-registry", registry.url)
        collector = Collector(kafka, topics.classifications, wire)
        expected = report.observations
        try:
            deadline = time.time() + 240
            while time.time() < deadline and not collector.done(expected):
                collector.poll()
                assert serve.alive, serve.output()[-3000:]
            assert collector.done(expected), serve.output()[-3000:]
        finally:
            assert serve.stop() == 0
            collector.close()
        assert_matches_offline(collector.latest, offline)
        latest = next(iter(collector.latest.values()))
        assert latest["prior"] == "trained" and "nonperiodic_probability" in latest
        # a subscriber with the previous schema: the registry gives the writer's schema, Avro resolves
        old = json.loads(schema_json("classification"))
        old["fields"] = [f for f in old["fields"] if f["name"] not in NEW_IN_VERSION_7]
        reader = AvroDeserializer(SchemaRegistryClient({"url": registry.url}), json.dumps(old))
        consumer = Consumer(kafka.client(**{"group.id": "old-reader", "enable.auto.commit": False}))
        try:
            raw = [m.value() for p in range(4) for m in read_partition(consumer, topics.classifications, p, 60)]
        finally:
            consumer.close()
        decoded = [reader(v, None) for v in raw]
        assert len(decoded) == len(collector.records) > 0
        assert all(not set(NEW_IN_VERSION_7) & set(r) for r in decoded)
        assert {r["object_id"] for r in decoded} == set(collector.latest)
        subjects = {f"{t}-value" for t in (topics.alerts, topics.classifications, topics.deadletter)}
        assert subjects <= set(registry.subjects)                 # TopicNameStrategy, as Confluent's clients
        assert "dead letter (bad_framing)" in serve.output()
