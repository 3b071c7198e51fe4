"""``varstream serve``: the Kafka plumbing around the science step.

One loop, per consumer process:

1. consume a batch of alerts (consumer group on the alert topic, keyed by object id);
2. decode and check each (bad ones go whole to the dead-letter topic with the reason), add the
   accepted observations to the star's state and write each change to the compacted changelog;
3. reclassify the stars the cost policy (:mod:`varstream.stream.policy`) says are due — the
   shared pipeline and the ONNX models (:mod:`varstream.stream.classify`) — and produce their
   classifications;
4. wait until every record is delivered, then record "classified" in the changelog, and only
   then commit the input offsets (at-least-once; re-processing is harmless because the state
   de-duplicates observations and a star is reclassified only when its observations changed).

State is the Kafka Streams pattern on confluent-kafka: a local in-memory store per input partition,
rebuilt from the changelog partition of the same number when the partition is assigned (start,
restart, or a consumer joining or leaving the group). Stars whose last changes were never
classified (a crash between the two) are found by their digests and classified after restore.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from varstream.lightcurve.sanitize import SanitizeConfig
from varstream.stream.broker import FAST_GROUP_JOIN
from varstream.stream.classify import StreamClassifier
from varstream.stream.codec import DecodeError, decode, encode
from varstream.stream.kafka import KafkaConfig, Topics, ensure_topics, read_partition
from varstream.stream.metrics import StreamMetrics
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.state import (
    Classified,
    Observation,
    PartitionStore,
    StarState,
    catalogue_change,
    catalogue_key,
    classified_change,
    classified_key,
    observation_change,
    observation_key,
)
from varstream.stream.validate import Rejection, validate_alert
from varstream.stream.wire import WireFormat

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """A record could not be delivered; the batch's offsets are not committed."""


@dataclass
class ServeSettings:
    """Settings of ``varstream serve`` (times in seconds)."""

    kafka: KafkaConfig
    models_dir: Path
    topics: Topics = field(default_factory=Topics)
    model: str = "ensemble"
    policy: ReclassifyPolicy = field(default_factory=ReclassifyPolicy)
    partitions: int = 4
    max_batch: int = 1000
    poll_timeout_s: float = 0.1
    classify_budget_s: float = 0.5
    consumer_settings: dict = field(default_factory=lambda: dict(FAST_GROUP_JOIN))
    limits: SanitizeConfig = field(default_factory=SanitizeConfig)
    create_topics: bool = True
    wire: WireFormat = field(default_factory=WireFormat)
    lag_interval_s: float = 2.0
    catchup_lag_s: float = 1.0


def _now_ms() -> int:
    return int(time.time() * 1000)


class StreamApp:
    """The consumer application (see the module notes). ``run`` until ``stop`` is set."""

    def __init__(self, settings: ServeSettings, classifier: StreamClassifier | None = None,
                 metrics: StreamMetrics | None = None) -> None:
        self.settings = settings
        self.classifier = classifier or StreamClassifier(settings.models_dir, settings.model)
        self.metrics = metrics or StreamMetrics()
        info = self.classifier.info
        self.metrics.model.info({"name": info.name, "version": info.version, "sha256": info.model_sha256,
                                 "feature_version": info.feature_version})
        self.stores: dict[int, PartitionStore] = {}
        self.pending: dict[tuple[int, str], StarState] = {}
        self.stop = threading.Event()
        self._failed: list[str] = []
        self._markers: list[StarState] = []
        self.consumer: Consumer | None = None
        self.producer: Producer | None = None
        self._restorer: Consumer | None = None

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Consume until :attr:`stop` is set; then classify what is pending, commit and leave."""
        s, t = self.settings, self.settings.topics
        if s.create_topics:
            ensure_topics(s.kafka, t, s.partitions)
        self.producer = Producer(s.kafka.producer())
        group_conf = {"group.id": t.group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                      "enable.partition.eof": False, "statistics.interval.ms": int(s.lag_interval_s * 1000),
                      "stats_cb": self._on_stats, **s.consumer_settings}
        self.consumer = Consumer(s.kafka.client(**group_conf))
        # the restorer reads whole partitions: no waiting in the broker for more data to arrive
        self._restorer = Consumer(s.kafka.client(**{"group.id": f"{t.group}-restore", "enable.auto.commit": False,
                                                    "enable.partition.eof": False, "fetch.wait.max.ms": 20}))
        self.consumer.subscribe([t.alerts], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_revoke)
        log.info("serving %s → %s as group %s with %s", t.alerts, t.classifications, t.group, self.classifier.info.name)
        try:
            while not self.stop.is_set():
                self.step()
            self.drain()
        finally:
            self.consumer.close()
            self._restorer.close()
            self.producer.flush(10)

    def step(self) -> int:
        """One loop iteration; returns the number of messages consumed."""
        s = self.settings
        msgs = self.consumer.consume(s.max_batch, s.poll_timeout_s)
        now = time.time()
        offsets: dict[tuple[str, int], int] = {}
        for msg in msgs:
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", msg.error())
                continue
            if msg.partition() not in self.stores:
                log.warning("message from unassigned partition %d skipped (rebalance)", msg.partition())
                continue
            self.handle(msg, now)
            offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
        # behind the input: a full poll, or the newest alert consumed entered the topic long ago
        newest_ms = max((m.timestamp()[1] for m in msgs if not m.error()), default=None)
        behind_s = time.time() - newest_ms / 1000 if newest_ms else 0.0
        self.classify_due(time.time(), backlog=len(msgs) >= s.max_batch or behind_s > s.catchup_lag_s)
        self.finish_batch(offsets)
        return len(msgs)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Classify every pending star now (graceful shutdown), then flush."""
        deadline = time.perf_counter() + timeout_s
        while self.pending and time.perf_counter() < deadline:
            self.classify_due(time.time(), force=True, deadline=deadline)
            self.finish_batch({})
        if self.pending:
            log.warning("%d stars still pending at shutdown; the next owner classifies them", len(self.pending))

    # ------------------------------------------------------------ per alert

    def dead_letter(self, msg, code: str, reason: str) -> None:
        """Send the message whole to the dead-letter topic with its origin and reason."""
        log.warning("dead letter (%s): %s", code, reason)
        self.metrics.dead_letters.labels(code).inc()
        record = {"original": msg.value() or b"", "original_key": msg.key(), "topic": msg.topic(),
                  "partition": msg.partition(), "offset": msg.offset(), "reason": reason, "reason_code": code,
                  "dead_letter_time": _now_ms()}
        self._produce(self.settings.topics.deadletter, msg.key(),
                      self.settings.wire.encode("deadletter", record, self.settings.topics.deadletter))

    def handle(self, msg, now: float) -> None:
        """Decode, check and apply one alert message (never raises for bad input)."""
        self.metrics.alerts.inc()
        where = f"message {msg.topic()}[{msg.partition()}]@{msg.offset()}"
        start = time.perf_counter()
        try:
            alert = self.settings.wire.decode("alert", msg.value())
        except DecodeError as exc:
            self.dead_letter(msg, exc.code, f"{where} (key {msg.key()!r:.80}): {exc}")
            return
        finally:
            self.metrics.stage.labels("decode").observe(time.perf_counter() - start)
        start = time.perf_counter()
        try:
            checked = validate_alert(alert, msg.key(), self.settings.limits)
            if isinstance(checked, Rejection):
                self.dead_letter(msg, checked.code, f"{where}: {checked.reason}")
                return
            ts_type, ts = msg.timestamp()
            ingest_ms = ts if ts_type != TIMESTAMP_NOT_AVAILABLE and ts > 0 else _now_ms()
            self.apply(msg.partition(), checked, ingest_ms, now)
        except Exception as exc:  # a bug must not stop the partition: keep the message and its reason
            log.exception("%s: internal error", where)
            self.dead_letter(msg, "internal_error", f"{where}: {type(exc).__name__}: {exc}")
        finally:
            self.metrics.stage.labels("state").observe(time.perf_counter() - start)

    def apply(self, partition: int, checked, ingest_ms: int, now: float) -> bool:
        """Add a checked alert's observations to its star; True if the star changed."""
        store = self.stores[partition]
        star = store.star(checked.object_id)
        changelog = self.settings.topics.changelog
        changed = False
        for reason, count in checked.dropped.items():
            self.metrics.points_dropped.labels(reason).inc(count)
        for mjd, band, mag, err in checked.sources:
            obs = Observation(mjd, band, mag, err, checked.alert_id, ingest_ms)
            if star.add(obs):
                changed = True
                self.metrics.observations.inc()
                self._produce(changelog, observation_key(star.object_id, mjd),
                              encode("state", observation_change(star.object_id, obs)), partition)
            else:
                self.metrics.duplicates.inc()
        if star.set_catalogue(checked.catalogue):          # a new distance changes the features
            changed = True
            self._produce(changelog, catalogue_key(star.object_id),
                          encode("state", catalogue_change(star.object_id, star.catalogue)), partition)
        if changed:
            star.mark_pending(now, ingest_ms, checked.alert_id)
            self.pending[(partition, star.object_id)] = star
        return changed

    # ------------------------------------------------------------ classification

    def classify_due(self, now: float, force: bool = False, backlog: bool = False,
                     deadline: float | None = None) -> int:
        """Reclassify due stars, oldest change first, within the time budget (or until
        ``deadline``, a ``time.perf_counter()`` value); returns how many. ``force``: every pending
        star is due; ``backlog``: the consumer is behind (catch-up, see :mod:`policy`)."""
        policy = self.settings.policy
        due = []
        for key, star in list(self.pending.items()):
            reason = "shutdown" if force else policy.reason(star, now, backlog)
            if reason is None and not star.pending:
                del self.pending[key]          # a duplicate restored the classified state
            elif reason is not None:
                due.append((star, reason))
        if not due:
            return 0
        due.sort(key=lambda sr: sr[0].pending_since or 0.0)
        if deadline is None:
            deadline = time.perf_counter() + self.settings.classify_budget_s
        return self._classify(due, deadline)

    def _classify(self, due: list[tuple[StarState, str]], deadline: float | None) -> int:
        start = time.perf_counter()
        outcomes = self.classifier.classify((star.lightcurve() for star, _ in due), deadline)
        total = time.perf_counter() - start
        features = sum(o.features_s for o in outcomes)
        for o in outcomes:
            self.metrics.stage.labels("features").observe(o.features_s)
        if outcomes:
            self.metrics.stage.labels("inference").observe(max(total - features, 0.0))
        topic = self.settings.topics.classifications
        for (star, reason), outcome in zip(due, outcomes):
            self.metrics.triggers.labels(reason).inc()
            publish_ms = _now_ms()
            n_obs = outcome.n_observations
            if outcome.probabilities is None:
                self.metrics.skipped.labels("unusable_curve").inc()
                log.info("star %s not classified yet: %s", star.object_id, outcome.error)
                predicted = ""
            else:
                alert_id, ingest_ms = star.latest_alert
                first = star.first_pending_ingest_ms or ingest_ms
                record = self.classifier.record(outcome, alert_id, n_obs, ingest_ms, first, publish_ms)
                predicted = record["predicted_class"]
                self._produce(topic, star.object_id.encode(), self.settings.wire.encode("classification", record, topic),
                              latency=(ingest_ms, first))
            star.mark_classified(Classified(star.digest, n_obs, predicted, publish_ms))
            self.pending.pop((star.partition, star.object_id), None)
            self._markers.append(star)
        return len(outcomes)

    # ------------------------------------------------------------ delivery and commit

    def _produce(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None,
                 latency: tuple[int, int] | None = None) -> None:
        def delivered(err, msg) -> None:
            if err is not None:
                self._failed.append(f"{topic}: {err}")
            elif latency is not None:
                now_ms = _now_ms()
                self.metrics.published.inc()
                self.metrics.latency.labels("newest").observe(max(now_ms - latency[0], 0) / 1000)
                self.metrics.latency.labels("oldest").observe(max(now_ms - latency[1], 0) / 1000)

        kwargs = {"partition": partition} if partition is not None else {}
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=delivered, **kwargs)
                break
            except BufferError:            # local queue full: serve delivery reports, retry
                self.producer.poll(0.1)
        self.producer.poll(0)

    def _flush(self) -> None:
        remaining = self.producer.flush(60)
        if remaining or self._failed:
            failed, self._failed = self._failed[:5], []
            raise DeliveryError(f"{remaining} records undelivered after 60 s; failures: {failed}")

    def finish_batch(self, offsets: dict[tuple[str, int], int]) -> None:
        """Deliver everything, then the 'classified' markers, then commit ``offsets``."""
        start = time.perf_counter()
        self._flush()
        if self._markers:
            changelog = self.settings.topics.changelog
            for star in self._markers:
                self._produce(changelog, classified_key(star.object_id),
                              encode("state", classified_change(star.object_id, star.classified)), star.partition)
            self._markers = []
            self._flush()
        self.metrics.stage.labels("produce").observe(time.perf_counter() - start)
        if offsets:
            start = time.perf_counter()
            tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
            try:
                self.consumer.commit(offsets=tps, asynchronous=False)
            except KafkaException as exc:  # e.g. a rebalance: the next owner re-reads, harmlessly
                log.warning("offset commit failed (%s); those alerts will be re-read", exc)
            self.metrics.stage.labels("commit").observe(time.perf_counter() - start)
        self.metrics.pending.set(len(self.pending))
        self.metrics.stars.set(sum(len(st.stars) for st in self.stores.values()))

    # ------------------------------------------------------------ rebalance and restore

    def _on_assign(self, consumer, partitions) -> None:
        for tp in partitions:
            self.restore(tp.partition)
        self.metrics.partitions.set(len(self.stores))
        self.metrics.state_observations.set(sum(st.n_observations for st in self.stores.values()))

    def _on_revoke(self, consumer, partitions) -> None:
        for tp in partitions:
            self.stores.pop(tp.partition, None)
            for key in [k for k in self.pending if k[0] == tp.partition]:
                del self.pending[key]
            try:
                self.metrics.lag.remove(str(tp.partition))
            except KeyError:
                pass
        log.info("partitions revoked: %s", [tp.partition for tp in partitions])
        self.metrics.partitions.set(len(self.stores))

    def restore(self, partition: int) -> PartitionStore:
        """Rebuild one partition's store from its changelog partition (from the start to the end)."""
        start = time.perf_counter()
        store = PartitionStore(partition)
        topic = self.settings.topics.changelog
        count = 0
        for msg in read_partition(self._restorer, topic, partition):
            if msg.value() is None:
                continue
            try:
                store.apply(decode("state", msg.value()))
                count += 1
            except DecodeError as exc:
                log.error("changelog %s[%d]@%d unreadable, skipped: %s", topic, partition, msg.offset(), exc)
        now = time.time()
        pending = store.after_restore(now)
        for star in store.stars.values():
            if star.pending:
                self.pending[(partition, star.object_id)] = star
        self.stores[partition] = store
        elapsed = time.perf_counter() - start
        self.metrics.restored.inc(count)
        self.metrics.restore_seconds.observe(elapsed)
        log.info("partition %d restored: %d stars, %d changelog records in %.2f s; %d pending",
                 partition, len(store.stars), count, elapsed, pending)
        return store

    def _on_stats(self, stats_json: str) -> None:
        """librdkafka statistics (every ``lag_interval_s``): the consumer lag per partition, from the
        watermarks the fetches already carry, so measuring it costs no broker round trip."""
        try:
            stats = json.loads(stats_json)
            partitions = stats.get("topics", {}).get(self.settings.topics.alerts, {}).get("partitions", {})
            for pid, p in partitions.items():
                if int(pid) in self.stores and p.get("consumer_lag", -1) >= 0:
                    self.metrics.lag.labels(pid).set(p["consumer_lag"])
        except (ValueError, AttributeError, TypeError) as exc:
            log.debug("unreadable statistics: %s", exc)


def install_signal_handlers(app: StreamApp) -> None:
    """SIGINT and SIGTERM stop the loop gracefully (pending stars are classified first)."""

    def on_signal(signum, _frame) -> None:
        log.info("signal %d: stopping", signum)
        app.stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
