"""Restore: bring one input partition's local store up to date from its changelog partition.

The Kafka Streams pattern: the changelog partition of the same number as the input partition holds
every state change (observations, catalogue data, "classified" markers). A local store
(:mod:`.store`) remembers the last changelog offset it holds (its checkpoint), so a restart or a
rebalance reads only the records after it; a store that is missing, or was built from another
changelog, is wiped and rebuilt from the start. Records are idempotent, so a replay that overlaps
what the store already holds changes nothing.

**Epochs.** A changelog that was deleted and recreated (a new deployment with the same group
name, a test broker) starts again at offset 0; a store built from the old one must not take its
records for the new one's. The first record of every changelog partition is therefore an *epoch*
record with a random id, written by the first owner of the empty partition; a store's checkpoint
names the epoch it was built from, and a different head record means a full rebuild.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from varstream.stream.codec import DecodeError, decode, encode
from varstream.stream.delivery import Delivery
from varstream.stream.kafka import FETCH_WAIT_MAX_MS, KafkaConfig, read_partition
from varstream.stream.state import StarState, epoch_change
from varstream.stream.store import Checkpoint, PartitionStore

log = logging.getLogger(__name__)

#: Changelog key of the epoch record (never superseded, so compaction keeps it).
EPOCH_KEY = b"\x00epoch"


@dataclass
class Restored:
    """How a store was brought up to date: records read, whether from the start (full), seconds,
    and the waiting stars (changes never classified, or fast-path classifications not settled)."""

    records: int
    full: bool
    seconds: float
    waiting: list[StarState] = field(default_factory=list)


class Restorer:
    """Reads changelog partitions with a consumer of its own (no group offsets, no broker-side waits)."""

    def __init__(self, kafka: KafkaConfig, changelog: str, group: str, delivery: Delivery) -> None:
        self.changelog = changelog
        self.delivery = delivery
        self.consumer = Consumer(kafka.client(**{"group.id": f"{group}-restore", "enable.auto.commit": False,
                                                 "enable.partition.eof": False, "fetch.wait.max.ms": FETCH_WAIT_MAX_MS}))

    def epoch(self, partition: int, timeout_s: float = 10.0) -> str:
        """The epoch of a changelog partition: its first record's id, written now if the partition
        is empty.

        Raises:
            RuntimeError: the partition's first record is not an epoch record (not a varstream
                changelog, or not this version's).
        """
        tp = TopicPartition(self.changelog, partition)
        low, high = self.consumer.get_watermark_offsets(tp, timeout=timeout_s)
        if high > low:
            self.consumer.assign([TopicPartition(self.changelog, partition, OFFSET_BEGINNING)])
            try:
                deadline = time.time() + timeout_s
                while time.time() < deadline:
                    for msg in self.consumer.consume(1, 0.5):
                        if msg.error():
                            continue
                        if msg.key() == EPOCH_KEY and msg.value():
                            try:
                                epoch = decode("state", msg.value())["epoch"]
                                if epoch:
                                    return epoch
                            except DecodeError:
                                pass
                        raise RuntimeError(f"{self.changelog}[{partition}] does not start with an epoch record: "
                                           "not a varstream changelog (delete it, or name another --group)")
            finally:
                self.consumer.unassign()
        epoch = uuid.uuid4().hex
        self.delivery.produce(self.changelog, encode("state", epoch_change(epoch)), EPOCH_KEY, partition)
        self.delivery.flush()
        log.info("changelog %s[%d] is new: epoch %s", self.changelog, partition, epoch)
        return epoch

    def restore(self, store: PartitionStore, now: float) -> Restored:
        """Bring ``store`` up to date (see the module notes); stars with unclassified changes are
        marked unclassified as of ``now`` (wall seconds)."""
        start = time.perf_counter()
        partition = store.partition
        epoch = self.epoch(partition)
        checkpoint = store.checkpoint()
        full = checkpoint is None or checkpoint.epoch != epoch
        if full and checkpoint is not None:
            log.warning("partition %d: local store was built from changelog epoch %s, the changelog is now %s: "
                        "rebuilding it", partition, checkpoint.epoch, epoch)
        if full:
            store.wipe()
        first = OFFSET_BEGINNING if full else checkpoint.offset + 1
        count, last = 0, (None if full else checkpoint.offset)
        for msg in read_partition(self.consumer, self.changelog, partition, start=first):
            last = msg.offset()
            if msg.value() is None or msg.key() == EPOCH_KEY:
                continue
            try:
                store.apply(decode("state", msg.value()))
                count += 1
            except DecodeError as exc:
                log.error("changelog %s[%d]@%d unreadable, skipped: %s", self.changelog, partition, msg.offset(), exc)
            if len(store.dirty) >= 20_000:                      # bound memory on a long replay
                store.commit(Checkpoint(epoch, last))
        store.commit(Checkpoint(epoch, last if last is not None else -1))
        waiting = store.waiting_stars()
        for star in waiting:
            star.mark_restored(now)
        elapsed = time.perf_counter() - start
        log.info("partition %d restored (%s): %d changelog records in %.2f s; %d stars waiting",
                 partition, "full" if full else f"tail after offset {checkpoint.offset}", count, elapsed,
                 len(waiting))
        return Restored(count, full, elapsed, waiting)

    def close(self) -> None:
        self.consumer.close()
