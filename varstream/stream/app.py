"""``varstream serve``: the Kafka plumbing around the science step.

One loop, per consumer process — consume → execute → produce:

1. **consume** a batch of alerts (consumer group on the alert topic, keyed by object id);
2. **execute**: each alert goes through :class:`~varstream.stream.ingest.Ingest` (decode, check,
   update the star's state and its changelog, or dead-letter it), then the stars the cost policy
   (:mod:`varstream.stream.policy`) says are due are reclassified by the science step
   (:class:`~varstream.stream.reclassify.Reclassifier` around
   :class:`~varstream.stream.classify.StreamClassifier`);
3. **produce** their classifications, wait until every record is delivered
   (:class:`~varstream.stream.delivery.Delivery`), record "classified" in the changelog, and only
   then commit the input offsets (at-least-once; re-processing is harmless because the state
   de-duplicates observations and a star is reclassified only when its observations changed).

State is the Kafka Streams pattern on confluent-kafka: a local store per input partition
(:mod:`varstream.stream.store`, RocksDB under ``--state-dir``), brought up to date from the
changelog partition of the same number when the partition is assigned
(:mod:`varstream.stream.restore`): only the changelog's tail past the store's checkpoint is read.
After each commit the changed stars and the checkpoint are written to the store in one batch and
every star that is not pending leaves memory. Stars whose last changes were never classified (a
crash between the two) carry a pending marker and are classified after the restore.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from varstream.stream.classify import StreamClassifier
from varstream.stream.codec import DECODE_CODES, encode
from varstream.stream.delivery import Delivery, DeliveryError
from varstream.stream.formats import SKIP_REASONS, AlertReader
from varstream.stream.ingest import Ingest
from varstream.stream.kafka import ensure_topics
from varstream.lightcurve.sanitize import POINT_RULES
from varstream.stream.metrics import StreamMetrics, initialise_labels
from varstream.stream.policy import TRIGGERS
from varstream.stream.reclassify import Reclassifier
from varstream.stream.restore import Restorer
from varstream.stream.settings import ServeSettings
from varstream.stream.state import classified_change, classified_key
from varstream.stream.validate import REJECTION_CODES
from varstream.stream.store import Checkpoint, PartitionStore, open_backend

log = logging.getLogger(__name__)

__all__ = ["DeliveryError", "StreamApp", "install_signal_handlers"]


class StreamApp:
    """The consumer application (see the module notes). ``run`` until ``stop`` is set."""

    def __init__(self, settings: ServeSettings, classifier: StreamClassifier | None = None,
                 metrics: StreamMetrics | None = None, delivery: Delivery | None = None) -> None:
        self.settings = settings
        self.classifier = classifier or StreamClassifier(settings.models_dir, settings.model, settings.pipeline)
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
        self.reclassifier = Reclassifier(settings, self.classifier, self.delivery, self.metrics, self.stores)
        # alerts are checked against the very point rules the classifier's pipeline cleans with
        self.ingest = Ingest(self.stores, self.delivery, settings.topics, settings.wire,
                             self.classifier.config.sanitize, self.metrics, self.reclassifier.add,
                             AlertReader(settings.input_format, settings.wire))
        self.consumer: Consumer | None = None
        self.restorer: Restorer | None = None

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Consume until :attr:`stop` is set; then classify what is pending, commit and leave."""
        s, t = self.settings, self.settings.topics
        if s.create_topics:
            ensure_topics(s.kafka, t, s.partitions)
        group_conf = {"group.id": t.group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                      "enable.partition.eof": False, "statistics.interval.ms": int(s.lag_interval_s * 1000),
                      "stats_cb": self._on_stats, **s.consumer_settings}
        self.consumer = Consumer(s.kafka.client(**group_conf))
        self.restorer = Restorer(s.kafka, t.changelog, t.group, self.delivery)
        self.consumer.subscribe([t.alerts], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_revoke)
        log.info("serving %s → %s as group %s with %s", t.alerts, t.classifications, t.group, self.classifier.info.name)
        try:
            while not self.stop.is_set():
                self.step()
            self.drain()
        finally:
            self.consumer.close()
            self.restorer.close()
            self.delivery.producer.flush(10)
            for store in self.stores.values():
                store.close()

    def step(self) -> int:
        """One loop iteration — consume, execute, produce; returns the number of messages consumed."""
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
            self.ingest.handle(msg, now)
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
        while self.reclassifier.waiting() and time.perf_counter() < deadline:
            self.classify_due(time.time(), force=True, deadline=deadline)
            self.finish_batch({})
        left = self.reclassifier.waiting()
        if left:
            log.warning("%d stars still pending at shutdown; the next owner classifies them", left)

    # ------------------------------------------------------------ execute: classification

    def classify_due(self, now: float, force: bool = False, backlog: bool = False,
                     deadline: float | None = None) -> int:
        """Reclassify the due stars (:meth:`Reclassifier.classify_due`); returns how many."""
        return self.reclassifier.classify_due(now, force, backlog, deadline)

    # ------------------------------------------------------------ produce: delivery and commit

    def finish_batch(self, offsets: dict[tuple[str, int], int]) -> None:
        """Deliver everything, then the 'classified' markers, then commit ``offsets``, then write
        the changed stars and the checkpoint to the local stores."""
        start = time.perf_counter()
        self.delivery.flush()
        markers = self.reclassifier.take_markers()
        if markers:
            changelog = self.settings.topics.changelog
            for star in markers:
                self.delivery.produce(changelog, encode("state", classified_change(star.object_id, star.classified)),
                                      classified_key(star.object_id), star.partition)
            self.delivery.flush()
        self.metrics.stage.labels("produce").observe(time.perf_counter() - start)
        if offsets:
            start = time.perf_counter()
            tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
            try:
                self.consumer.commit(offsets=tps, asynchronous=False)
            except KafkaException as exc:  # e.g. a rebalance: the next owner re-reads, harmlessly
                log.warning("offset commit failed (%s); those alerts will be re-read", exc)
            self.metrics.stage.labels("commit").observe(time.perf_counter() - start)
        self._save_stores()
        self.metrics.pending.set(len(self.reclassifier.pending))
        self.metrics.stars.set(sum(st.n_stars for st in self.stores.values()))

    def _save_stores(self) -> None:
        """Write each store's changed stars with the checkpoint of the changelog records delivered."""
        changelog = self.settings.topics.changelog
        for partition, store in self.stores.items():
            if store.dirty:
                offset = self.delivery.acked.get((changelog, partition))
                store.commit(Checkpoint(self.epochs[partition], offset) if offset is not None else None)

    # ------------------------------------------------------------ rebalance

    def _on_assign(self, consumer, partitions) -> None:
        s = self.settings
        for tp in partitions:
            store = PartitionStore(tp.partition, open_backend(s.state_dir, s.topics.group, tp.partition))
            restored = self.restorer.restore(store, time.time())
            self.epochs[tp.partition] = store.checkpoint().epoch
            for star in store.cache.values():            # pending or to be settled (see store.pending_stars)
                self.reclassifier.add(star)
            self.stores[tp.partition] = store
            self.metrics.restored.inc(restored.records)
            self.metrics.restore_seconds.observe(restored.seconds)
        self.metrics.partitions.set(len(self.stores))
        self.metrics.stars.set(sum(st.n_stars for st in self.stores.values()))

    def _on_revoke(self, consumer, partitions) -> None:
        for tp in partitions:
            store = self.stores.pop(tp.partition, None)
            if store is not None:
                store.close()
            self.epochs.pop(tp.partition, None)
            self.reclassifier.forget_partition(tp.partition)
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
    """SIGINT and SIGTERM stop the loop gracefully (pending stars are classified first)."""

    def on_signal(signum, _frame) -> None:
        log.info("signal %d: stopping", signum)
        app.stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
