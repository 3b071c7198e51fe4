"""Restore: rebuild one input partition's star states from its changelog partition.

The Kafka Streams pattern: the changelog partition of the same number as the input partition holds
every state change (observations, catalogue data, "classified" markers); replaying it from the
start gives the state the previous owner had. Records are idempotent, so a replay that overlaps
what a crashed owner already applied changes nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import Consumer

from varstream.stream.codec import DecodeError, decode
from varstream.stream.kafka import KafkaConfig, read_partition
from varstream.stream.state import PartitionStore

log = logging.getLogger(__name__)


@dataclass
class Restored:
    """A rebuilt store, how many changelog records built it, how long it took (s) and how many
    stars have changes that were never classified."""

    store: PartitionStore
    records: int
    seconds: float
    pending: int


class Restorer:
    """Reads changelog partitions with a consumer of its own (no group offsets, no broker-side waits)."""

    def __init__(self, kafka: KafkaConfig, changelog: str, group: str) -> None:
        self.changelog = changelog
        self.consumer = Consumer(kafka.client(**{"group.id": f"{group}-restore", "enable.auto.commit": False,
                                                 "enable.partition.eof": False, "fetch.wait.max.ms": 20}))

    def restore(self, partition: int, now: float) -> Restored:
        """The store of ``partition`` rebuilt from the start of its changelog partition; stars with
        unclassified changes are marked pending as of ``now`` (wall seconds)."""
        start = time.perf_counter()
        store = PartitionStore(partition)
        count = 0
        for msg in read_partition(self.consumer, self.changelog, partition):
            if msg.value() is None:
                continue
            try:
                store.apply(decode("state", msg.value()))
                count += 1
            except DecodeError as exc:
                log.error("changelog %s[%d]@%d unreadable, skipped: %s", self.changelog, partition, msg.offset(), exc)
        pending = store.after_restore(now)
        elapsed = time.perf_counter() - start
        log.info("partition %d restored: %d stars, %d changelog records in %.2f s; %d pending",
                 partition, len(store.stars), count, elapsed, pending)
        return Restored(store, count, elapsed, pending)

    def close(self) -> None:
        self.consumer.close()
