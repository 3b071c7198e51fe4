"""Kafka client settings, topics and key partitioning shared by serve, replay, tail and the demo.

Extra librdkafka settings (SASL/SSL and anything else) pass through: from
``VARSTREAM_KAFKA_<NAME>`` environment variables (``VARSTREAM_KAFKA_SECURITY_PROTOCOL=SASL_SSL``
becomes ``security.protocol``; underscores become dots) and from ``--kafka KEY=VALUE`` options,
which win — except the :data:`PROTECTED` settings that correctness depends on: where varstream
sets one of them, its value stays and the ignored pass-through is named in a warning (Kafka
Streams does the same with the consumer and producer settings it owns).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Iterator

log = logging.getLogger(__name__)

ENV_PREFIX = "VARSTREAM_KAFKA_"

#: Settings a pass-through may not change where varstream sets them: manual commits after the
#: output is delivered (at-least-once), the idempotent all-replica producer, the murmur2 key
#: partitioner that ``history`` and ``plot`` find a star's partition by, the consumer group that
#: names the changelog, and the read isolation.
PROTECTED = frozenset({"enable.auto.commit", "enable.auto.offset.store", "enable.idempotence", "acks",
                       "partitioner", "isolation.level", "group.id", "max.in.flight.requests.per.connection"})

#: librdkafka's ``fetch.wait.max.ms`` for varstream's consumers (ms). A broker that does not answer
#: a waiting fetch as soon as data arrives (tansu) holds each alert up to this long; librdkafka's
#: 500 ms was the median latency at a survey's cadence (measured at 25 alerts/s on 3,000 stars: p50
#: 0.47 s → 0.31 s); 20 ms costs an idle consumer 50 small fetches a second.
FETCH_WAIT_MAX_MS = 20


def kafka_settings_from_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """librdkafka settings from ``VARSTREAM_KAFKA_*`` variables (see the module notes)."""
    environ = os.environ if environ is None else environ
    return {k[len(ENV_PREFIX):].lower().replace("_", "."): v for k, v in environ.items()
            if k.startswith(ENV_PREFIX) and len(k) > len(ENV_PREFIX)}


def parse_kafka_options(options: list[str] | None, flag: str = "--kafka") -> dict[str, str]:
    """``["KEY=VALUE", ...]`` as a dict; raises ValueError naming a malformed ``flag`` option."""
    out = {}
    for opt in options or []:
        key, sep, value = opt.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{flag} option {opt!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out


@dataclass(frozen=True)
class Topics:
    """The topic names of one deployment; the changelog is named after the consumer group."""

    alerts: str = "alerts"
    classifications: str = "classifications"
    deadletter: str = "alerts-deadletter"
    group: str = "varstream"

    @property
    def changelog(self) -> str:
        return f"{self.group}-state-changelog"


@dataclass(frozen=True)
class KafkaConfig:
    """Where the cluster is and how to talk to it."""

    bootstrap: str
    extra: dict[str, str] = field(default_factory=dict)

    def client(self, **settings) -> dict:
        """A librdkafka configuration: bootstrap, then ``settings``, then the pass-through extras,
        except that a :data:`PROTECTED` key of ``settings`` keeps its value (a warning names each
        pass-through ignored)."""
        conf = {"bootstrap.servers": self.bootstrap, **settings}
        for key, value in {**kafka_settings_from_env(), **self.extra}.items():
            if key in PROTECTED and key in settings:
                if str(value).lower() != str(settings[key]).lower():
                    log.warning("Kafka setting %s=%s ignored: varstream sets %s=%s, which its delivery "
                                "guarantees depend on", key, value, key, settings[key])
                continue
            conf[key] = value
        return conf

    def producer(self, **settings) -> dict:
        """An idempotent producer keyed like Java clients (murmur2), so ``partition_for`` agrees."""
        return self.client(**{"enable.idempotence": True, "acks": "all", "linger.ms": 5,
                              "partitioner": "murmur2_random", **settings})


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (``org.apache.kafka.common.utils.Utils.murmur2``) as a signed 32-bit int."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = length % 4
    base = length - tail
    if tail == 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition a Java-compatible producer (librdkafka ``murmur2_random``) gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def ensure_topics(kafka: KafkaConfig, topics: Topics, partitions: int, timeout_s: float = 30.0) -> dict[str, int]:
    """Create the missing topics; returns every topic's partition count.

    The alert topic gets ``partitions`` partitions if it is created here; the changelog always gets
    as many partitions as the alert topic (state is kept per input partition), compacted; the
    classification topic keeps everything (it is the per-star classification history); the
    dead-letter topic has one partition.

    Raises:
        RuntimeError: an existing changelog has a different partition count than the alerts.
    """
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(kafka.client())
    existing = admin.list_topics(timeout=timeout_s).topics
    n_alerts = len(existing[topics.alerts].partitions) if topics.alerts in existing else partitions
    wanted = {
        topics.alerts: (n_alerts, {}),
        topics.classifications: (n_alerts, {"retention.ms": "-1"}),
        topics.deadletter: (1, {}),
        topics.changelog: (n_alerts, {"cleanup.policy": "compact"}),
    }
    new = [NewTopic(name, num_partitions=n, replication_factor=-1, config=conf)
           for name, (n, conf) in wanted.items() if name not in existing]
    if new:
        for name, future in admin.create_topics(new, request_timeout=timeout_s).items():
            try:
                future.result()
                log.info("created topic %s", name)
            except Exception as exc:  # TOPIC_ALREADY_EXISTS from a racing consumer is fine
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
    counts = {}
    deadline_topics = admin.list_topics(timeout=timeout_s).topics
    for name in wanted:
        counts[name] = len(deadline_topics[name].partitions) if name in deadline_topics else 0
    if counts[topics.changelog] != counts[topics.alerts]:
        raise RuntimeError(f"changelog {topics.changelog} has {counts[topics.changelog]} partitions but "
                           f"{topics.alerts} has {counts[topics.alerts]}: state is kept per input partition")
    return counts


def read_partition(consumer, topic: str, partition: int, timeout_s: float = 300.0, start: int | None = None) -> Iterator:
    """Every message of one partition from ``start`` (an offset; default: the beginning) to the
    end (error events skipped).

    Reads to the high watermark, then until a poll comes back empty: some storage engines (tansu's
    ``s3://``) report watermarks that lag the log, so the watermark alone is not trusted. The
    consumer is assigned the partition for the read and unassigned after.

    Raises:
        TimeoutError: the end was not reached within ``timeout_s`` seconds.
    """
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=min(timeout_s, 30.0))
    begin = OFFSET_BEGINNING if start is None or start < 0 else start
    consumer.assign([TopicPartition(topic, partition, begin)])
    position, deadline = max(low, begin), time.time() + timeout_s
    try:
        while True:
            if time.time() > deadline:
                raise TimeoutError(f"{topic}[{partition}] not read to its end in {timeout_s:.0f} s (at {position})")
            msgs = consumer.consume(5000, 0.2 if position >= high else 1.0)
            if not msgs and position >= high:
                return
            for msg in msgs:
                if msg.error():
                    continue
                position = msg.offset() + 1
                yield msg
    finally:
        consumer.unassign()
