"""``varstream tail`` and ``varstream history``: read the classification topic (and a star's
state from the changelog, for plots).

``tail`` prints each classification as it arrives, one row of a fixed-width table. ``history``
prints every classification of one star: the classification topic keeps everything, keyed by
object id, so a star's history is the records with its key in the partition its key hashes to.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from varstream.inference import SURVEY_PRIOR
from varstream.stream.codec import decode
from varstream.stream.filters import RecordFilter
from varstream.stream.kafka import FETCH_WAIT_MAX_MS, KafkaConfig, Topics, partition_for, read_partition
from varstream.stream.state import StarState, apply_change, key_prefix
from varstream.stream.wire import WireFormat

HEADER = (f"{'object':<22} {'class':<8} {'prob':>5} {'family':<6} {'prob':>5} {'2nd':<13} {'nonper':>6} {'pts':>5} "
          f"{'obs':>5} {'period d':>9} {'sig':>5} {'bands':<6} {'latency s':>9}")


def format_row(rec: dict, received_ms: int | None = None) -> str:
    """One table row: star, class and its probability, family and its probability, runner-up class,
    the probability of not being a periodic variable (``-`` for models without that outcome; ``*``
    marks probabilities moved onto the survey's prior), points, observations, period (days), its significance (``-log10`` of its false-alarm probability;
    ``-`` from older producers), the bands used and latency (s)."""
    probs = sorted(rec["probabilities"], key=lambda p: -p["probability"])
    second = f"{probs[1]['label']} {probs[1]['probability']:.2f}" if len(probs) > 1 else ""
    end = received_ms if received_ms is not None else rec["publish_time"]
    latency = (end - rec["first_ingest_time"]) / 1000
    return (f"{rec['object_id'][:22]:<22} {rec['predicted_class']:<8} {probs[0]['probability']:>5.2f} "
            f"{rec.get('family', ''):<6} {rec.get('family_probability', 0.0):>5.2f} "
            f"{second:<13} {nonperiodic(rec):>6} {rec['n_points']:>5} {rec['n_observations']:>5} {rec['period_days']:>9.4f} "
            f"{significance(rec.get('period_fap')):>5} {''.join(rec.get('bands') or [])[:6]:<6} {latency:>9.3f}")


def nonperiodic(rec: dict) -> str:
    """The ``nonper`` column: the non-periodic probability, two decimals (``-`` when the record has
    none), with ``*`` when the record's probabilities assume the survey's prior."""
    p = rec.get("nonperiodic_probability")
    mark = "*" if rec.get("prior") == SURVEY_PRIOR else ""
    return ("-" if p is None else f"{p:.2f}") + mark


def significance(fap: float | None) -> str:
    """``-log10`` of a false-alarm probability, one decimal (``-`` when unknown; capped at 99.9)."""
    if fap is None:
        return "-"
    return f"{min(-math.log10(max(fap, 1e-300)), 99.9):.1f}"


@dataclass
class ClassificationReader:
    """Reads classification records from the output topic (all partitions, no consumer group)."""

    kafka: KafkaConfig
    topic: str = Topics.classifications
    wire: WireFormat = field(default_factory=WireFormat)
    from_beginning: bool = False

    def __post_init__(self) -> None:
        self.consumer = Consumer(self.kafka.client(**{"group.id": "varstream-tail", "enable.auto.commit": False}))
        meta = self.consumer.list_topics(self.topic, timeout=30).topics[self.topic]
        start = OFFSET_BEGINNING if self.from_beginning else OFFSET_END
        self.consumer.assign([TopicPartition(self.topic, p, start) for p in meta.partitions])

    def poll(self, timeout_s: float = 0.2, max_records: int = 1000) -> list[tuple[dict, int]]:
        """Records received now, each with its receive time (ms since the epoch)."""
        out = []
        for msg in self.consumer.consume(max_records, timeout_s):
            if msg.error() or msg.value() is None:
                continue
            out.append((self.wire.decode("classification", msg.value()), int(time.time() * 1000)))
        return out

    def close(self) -> None:
        self.consumer.close()


class Collector:
    """Every classification on the output topic from the start, and the latest per star."""

    def __init__(self, kafka: KafkaConfig, topic: str = Topics.classifications, wire: WireFormat | None = None) -> None:
        self.reader = ClassificationReader(kafka, topic, wire or WireFormat(), from_beginning=True)
        self.records: list[dict] = []
        self.received_ms: list[int] = []
        self.latest: dict[str, dict] = {}

    def poll(self, timeout_s: float = 0.3) -> list[tuple[dict, int]]:
        """Read what has arrived; returns ``(record, received ms)`` of the records that changed
        their star's predicted class (or are its first)."""
        changed = []
        for rec, received in self.reader.poll(timeout_s):
            self.records.append(rec)
            self.received_ms.append(received)
            before = self.latest.get(rec["object_id"])
            if before is None or before["predicted_class"] != rec["predicted_class"]:
                changed.append((rec, received))
            if before is None or rec["n_observations"] >= before["n_observations"]:
                self.latest[rec["object_id"]] = rec
        return changed

    def done(self, expected: dict[str, int]) -> bool:
        """Every star's latest classification covers all of its ``expected`` observations."""
        return all(self.latest.get(k, {}).get("n_observations") == n for k, n in expected.items())

    def lost(self, expected: dict[str, int]) -> int:
        """Observations not covered by the stars' latest classifications."""
        return int(sum(n - self.latest.get(k, {}).get("n_observations", 0) for k, n in expected.items()))

    def close(self) -> None:
        self.reader.close()


def tail(kafka: KafkaConfig, topic: str = Topics.classifications, from_beginning: bool = False,
         stop: Callable[[], bool] = lambda: False, out: Callable[[str], None] = print,
         wire: WireFormat | None = None, count: int | None = None, wanted: RecordFilter = RecordFilter()) -> int:
    """Print the classifications ``wanted`` lets through as they arrive until ``stop()``, or until
    ``count`` rows are printed (exactly that many); returns how many were printed."""
    reader = ClassificationReader(kafka, topic, wire or WireFormat(), from_beginning)
    out(HEADER)
    printed = 0
    try:
        while not stop() and (count is None or printed < count):
            for rec, received in reader.poll(max_records=1000 if count is None else count - printed):
                if wanted.matches_record(rec):
                    out(format_row(rec, received))
                    printed += 1
                    if count is not None and printed >= count:
                        break
    finally:
        reader.close()
    return printed


def history(kafka: KafkaConfig, object_id: str, topic: str = Topics.classifications,
            wire: WireFormat | None = None, timeout_s: float = 30.0) -> Iterator[dict]:
    """Every classification of ``object_id`` in the topic, oldest first."""
    wire = wire or WireFormat()
    consumer = Consumer(kafka.client(**{"group.id": "varstream-history", "enable.auto.commit": False}))
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or not meta.partitions:
            raise ValueError(f"topic {topic} does not exist")
        key = object_id.encode()
        for msg in read_partition(consumer, topic, partition_for(key, len(meta.partitions)), timeout_s):
            if msg.key() == key and msg.value() is not None:
                yield wire.decode("classification", msg.value())
    finally:
        consumer.close()


def all_classifications(kafka: KafkaConfig, topic: str = Topics.classifications, wire: WireFormat | None = None,
                        timeout_s: float = 300.0) -> Iterator[dict]:
    """Every classification record in the topic, partition by partition, each oldest first."""
    wire = wire or WireFormat()
    consumer = Consumer(kafka.client(**{"group.id": "varstream-prior", "enable.auto.commit": False}))
    try:
        meta = consumer.list_topics(topic, timeout=min(timeout_s, 30.0)).topics.get(topic)
        if meta is None or not meta.partitions:
            raise ValueError(f"topic {topic} does not exist")
        for partition in sorted(meta.partitions):
            for msg in read_partition(consumer, topic, partition, timeout_s):
                if msg.value() is not None:
                    yield wire.decode("classification", msg.value())
    finally:
        consumer.close()


def star_state(kafka: KafkaConfig, object_id: str, changelog: str, timeout_s: float = 60.0) -> StarState | None:
    """The star's state rebuilt from its records in the changelog topic (its observations with
    their bands, catalogue data, last classification), or None if the changelog has none.

    The star's records are in the changelog partition its id hashes to (the input partition's
    number); the partition is read from the start, like :func:`history`."""
    consumer = Consumer(kafka.client(**{"group.id": "varstream-lookup", "enable.auto.commit": False,
                                        "fetch.wait.max.ms": FETCH_WAIT_MAX_MS}))
    try:
        meta = consumer.list_topics(changelog, timeout=timeout_s).topics.get(changelog)
        if meta is None or not meta.partitions:
            raise ValueError(f"topic {changelog} does not exist")
        prefix = key_prefix(object_id)
        state = StarState(object_id, partition_for(object_id.encode(), len(meta.partitions)))
        found = False
        for msg in read_partition(consumer, changelog, state.partition, timeout_s):
            if msg.key() and msg.key().startswith(prefix) and msg.value():
                apply_change(state, decode("state", msg.value()))
                found = True
        return state if found else None
    finally:
        consumer.close()
