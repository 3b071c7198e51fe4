"""``varstream serve``: the runtime around the science step — it alone consumes, produces, commits
and checkpoints.

One loop, per consumer process (Kafka Streams' ownership of the commit order):

1. **consume** a batch of alerts (consumer group on the alert topic, keyed by object id);
2. **execute** the pure science step (:class:`~varstream.stream.step.Step`) on it: the alerts
   update their stars' state and the due stars are reclassified; it returns
   :class:`~varstream.stream.effects.Effects`;
3. **finish** (:meth:`StreamApp.finish`), in the order that makes at-least-once hold: produce the
   state changes (changelog) and dead letters, then the classifications, and wait until every one
   is acknowledged; then the "classified" markers, acknowledged too; only then **commit** the input
   offsets; then **checkpoint**: the changed stars and the changelog offset written to the local
   stores in one batch. A failed delivery raises before anything is committed; re-processing is
   harmless because the state de-duplicates observations and a star is reclassified only when
   its observations changed.

State is the Kafka Streams pattern on confluent-kafka: a local store per input partition
(:mod:`varstream.stream.store`, RocksDB under ``--state-dir``), brought up to date from the
changelog partition of the same number when the partition is assigned
(:mod:`varstream.stream.restore`): only the changelog's tail past the store's checkpoint is read.
After each commit every star that is not waiting leaves memory; waiting stars (unclassified, or
not yet settled) keep a marker and are classified after a restore.
"""

from __future__ import annotations

import json
import logging
import signal
import threading

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, TopicPartition

from varstream.lightcurve.sanitize import POINT_RULES
from varstream.stream.classify import StreamClassifier
from varstream.stream.codec import DECODE_CODES, encode
from varstream.stream.delivery import Delivery, DeliveryError
from varstream.stream.effects import Clock, Effects, InputRecord, Publication, SystemClock
from varstream.stream.formats import SKIP_REASONS, AlertReader
from varstream.stream.kafka import ensure_topics
from varstream.stream.metrics import StreamMetrics, initialise_labels
from varstream.stream.policy import TRIGGERS
from varstream.stream.restore import Restorer
from varstream.stream.settings import ServeSettings
from varstream.stream.step import Step
from varstream.stream.store import Checkpoint, PartitionStore, open_backend
from varstream.stream.validate import REJECTION_CODES

log = logging.getLogger(__name__)

__all__ = ["DeliveryError", "StreamApp", "install_signal_handlers"]


def input_record(msg) -> InputRecord:
    """A consumed confluent-kafka message as the step's input."""
    ts_type, ts = msg.timestamp()
    return InputRecord(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                       ts if ts_type != TIMESTAMP_NOT_AVAILABLE and ts > 0 else None)


class StreamApp:
    """The consumer application (see the module notes). ``run`` until ``stop`` is set.

    ``classifier``, ``metrics``, ``delivery``, ``consumer`` and ``clock`` may be given (tests);
    by default they are built from ``settings``."""

    def __init__(self, settings: ServeSettings, classifier: StreamClassifier | None = None,
                 metrics: StreamMetrics | None = None, delivery: Delivery | None = None,
                 consumer: Consumer | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.classifier = classifier or StreamClassifier(settings.models_dir, settings.model, self.clock.monotonic,
                                                         settings.prior)
        settings.check_pipeline(self.classifier.config)
        self.metrics = metrics or StreamMetrics()
        info = self.classifier.info
        self.metrics.model.info({"name": info.name, "version": info.version, "sha256": info.model_sha256,
                                 "feature_version": info.feature_version})
        initialise_labels(self.metrics, DECODE_CODES + POINT_RULES + REJECTION_CODES + ("internal_error",),
                          POINT_RULES + SKIP_REASONS, TRIGGERS)
        self.stores: dict[int, PartitionStore] = {}
        self.epochs: dict[int, str] = {}                 # changelog epoch of each assigned partition
        self.stop = threading.Event()
        self.delivery = delivery or Delivery(settings.kafka)          # no connection until used
        self.step = Step(self.classifier, AlertReader(settings.input_format, settings.wire), settings.policy,
                         settings.classify_budget_s, settings.max_batch, settings.catchup_lag_s, self.clock)
        self.consumer = consumer
        self.restorer: Restorer | None = None

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Consume until :attr:`stop` is set; then classify what is unclassified, commit and leave."""
        s, t = self.settings, self.settings.topics
        if s.create_topics:
            ensure_topics(s.kafka, t, s.partitions)
        if self.consumer is None:
            self.consumer = Consumer(s.kafka.client(**s.group_consumer(), stats_cb=self._on_stats))
        self.restorer = Restorer(s.kafka, t.changelog, t.group, self.delivery)
        self.consumer.subscribe([t.alerts], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_revoke)
        log.info("serving %s → %s as group %s with %s", t.alerts, t.classifications, t.group, self.classifier.info.name)
        try:
            while not self.stop.is_set():
                self.poll_once()
            self.drain()
        finally:
            self.consumer.close()
            self.restorer.close()
            self.delivery.producer.flush(10)
            for store in self.stores.values():
                store.close()

    def poll_once(self) -> int:
        """One loop iteration — consume, execute, finish; returns the number of messages consumed."""
        msgs = self.consumer.consume(self.settings.max_batch, self.settings.poll_timeout_s)
        batch: list[InputRecord] = []
        offsets: dict[tuple[str, int], int] = {}
        for msg in msgs:
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", msg.error())
                continue
            if msg.partition() not in self.stores:
                log.warning("message from unassigned partition %d skipped (rebalance)", msg.partition())
                continue
            batch.append(input_record(msg))
            offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
        self.finish(self.step.execute(batch, self.stores), offsets)
        return len(msgs)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Classify every unclassified star now (graceful shutdown), then finish."""
        deadline = self.clock.monotonic() + timeout_s
        while self.step.unclassified() and self.clock.monotonic() < deadline:
            self.finish(self.step.execute([], self.stores, deadline=deadline, force=True), {})
        left = self.step.unclassified()
        if left:
            log.warning("%d stars still unclassified at shutdown; the next owner classifies them", left)

    # ------------------------------------------------------------ finish: produce, commit, checkpoint

    def finish(self, effects: Effects, offsets: dict[tuple[str, int], int]) -> None:
        """Carry out one execution's effects (see the module notes), then commit ``offsets``.

        Raises:
            DeliveryError: a record was not acknowledged; nothing is committed or checkpointed.
        """
        self.metrics.apply(effects)
        start = self.clock.monotonic()
        s, t = self.settings, self.settings.topics
        for rec in effects.changelog:
            self.delivery.produce(t.changelog, encode("state", rec.record), rec.key, rec.partition)
        for letter in effects.dead_letters:
            self.delivery.produce(t.deadletter, s.wire.encode("deadletter", letter.record, t.deadletter), letter.key)
        for pub in effects.classifications:
            self.delivery.produce(t.classifications, s.wire.encode("classification", pub.record, t.classifications),
                                  pub.key, on_delivered=self._latency_observer(pub))
        self.delivery.flush()
        if effects.markers:
            for rec in effects.markers:
                self.delivery.produce(t.changelog, encode("state", rec.record), rec.key, rec.partition)
            self.delivery.flush()
        self.metrics.stage.labels("produce").observe(self.clock.monotonic() - start)
        if offsets:
            self._commit(offsets)
        self._checkpoint()
        self.metrics.unclassified.set(self.step.unclassified())
        self.metrics.unsettled.set(self.step.unsettled())
        self.metrics.stars.set(sum(st.n_stars for st in self.stores.values()))
        self.metrics.report_prior(self.classifier.survey_prior)

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        start = self.clock.monotonic()
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            self.consumer.commit(offsets=tps, asynchronous=False)
        except KafkaException as exc:  # e.g. a rebalance: the next owner re-reads, harmlessly
            log.warning("offset commit failed (%s); those alerts will be re-read", exc)
        self.metrics.stage.labels("commit").observe(self.clock.monotonic() - start)

    def _checkpoint(self) -> None:
        """Write each store's changed stars with the checkpoint of the changelog records delivered."""
        changelog = self.settings.topics.changelog
        for partition, store in self.stores.items():
            if store.dirty:
                offset = self.delivery.acked.get((changelog, partition))
                store.commit(Checkpoint(self.epochs[partition], offset) if offset is not None else None)

    def _latency_observer(self, pub: Publication):
        """The delivery callback of one classification: counted, and its latencies observed (s)."""
        def observe(_msg) -> None:
            delivered_ms = self.clock.wall() * 1000
            self.metrics.published.inc()
            self.metrics.latency.labels("newest").observe(max(delivered_ms - pub.ingest_ms, 0) / 1000)
            self.metrics.latency.labels("oldest").observe(max(delivered_ms - pub.first_ingest_ms, 0) / 1000)
        return observe

    # ------------------------------------------------------------ rebalance

    def _on_assign(self, consumer, partitions) -> None:
        s = self.settings
        for tp in partitions:
            store = PartitionStore(tp.partition, open_backend(s.state_dir, s.topics.group, tp.partition))
            restored = self.restorer.restore(store, self.clock.wall())
            self.epochs[tp.partition] = store.checkpoint().epoch
            self.step.hold(restored.waiting)
            self.stores[tp.partition] = store
            self.metrics.restored.inc(restored.records)
            self.metrics.restore_seconds.observe(restored.seconds)
        self.metrics.partitions.set(len(self.stores))
        self.metrics.stars.set(sum(st.n_stars for st in self.stores.values()))
        self.metrics.report_prior(self.classifier.survey_prior)

    def _on_revoke(self, consumer, partitions) -> None:
        for tp in partitions:
            store = self.stores.pop(tp.partition, None)
            if store is not None:
                store.close()
            self.epochs.pop(tp.partition, None)
            self.step.forget_partition(tp.partition)
            try:
                self.metrics.lag.remove(str(tp.partition))
            except KeyError:
                pass
        log.info("partitions revoked: %s", [tp.partition for tp in partitions])
        self.metrics.partitions.set(len(self.stores))

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
    """SIGINT and SIGTERM stop the loop gracefully (unclassified stars are classified first)."""

    def on_signal(signum, _frame) -> None:
        log.info("signal %d: stopping", signum)
        app.stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
