"""``varstream serve``: the Kafka plumbing around the science step.

One loop, per consumer process — consume → execute → produce:

1. **consume** a batch of alerts (consumer group on the alert topic, keyed by object id);
2. **execute**: each alert goes through :class:`~varstream.stream.ingest.Ingest` (decode, check,
   update the star's state and its changelog, or dead-letter it), then the stars the cost policy
   (:mod:`varstream.stream.policy`) says are due are reclassified by the science step
   (:class:`~varstream.stream.classify.StreamClassifier`);
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

from varstream.stream.classify import Job, Outcome, StreamClassifier
from varstream.stream.codec import DECODE_CODES, encode
from varstream.stream.delivery import Delivery, DeliveryError
from varstream.stream.formats import SKIP_REASONS, AlertReader
from varstream.stream.ingest import Ingest, now_ms
from varstream.stream.kafka import ensure_topics
from varstream.lightcurve.sanitize import POINT_RULES
from varstream.stream.metrics import StreamMetrics, initialise_labels
from varstream.stream.policy import TRIGGERS
from varstream.stream.restore import Restorer
from varstream.stream.settings import ServeSettings
from varstream.stream.state import Classified, StarState, classified_change, classified_key
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
        self.pending: dict[tuple[int, str], StarState] = {}
        self.stop = threading.Event()
        self._markers: list[StarState] = []
        self.delivery = delivery or Delivery(settings.kafka)          # no connection until used
        # alerts are checked against the very point rules the classifier's pipeline cleans with
        self.ingest = Ingest(self.stores, self.delivery, settings.topics, settings.wire,
                             self.classifier.config.sanitize, self.metrics, self._on_changed,
                             AlertReader(settings.input_format, settings.wire))
        self.consumer: Consumer | None = None
        self.restorer: Restorer | None = None

    def _on_changed(self, star: StarState) -> None:
        self.pending[(star.partition, star.object_id)] = star

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
        while any(star.pending for star in self.pending.values()) and time.perf_counter() < deadline:
            self.classify_due(time.time(), force=True, deadline=deadline)
            self.finish_batch({})
        left = sum(star.pending for star in self.pending.values())
        if left:
            log.warning("%d stars still pending at shutdown; the next owner classifies them", left)

    # ------------------------------------------------------------ execute: classification

    def classify_due(self, now: float, force: bool = False, backlog: bool = False,
                     deadline: float | None = None) -> int:
        """Reclassify due stars, oldest change first, within the time budget (or until
        ``deadline``, a ``time.perf_counter()`` value); returns how many. ``force``: every pending
        star is due; ``backlog``: the consumer is behind (catch-up, see :mod:`policy`)."""
        policy = self.settings.policy
        due = []
        for key, star in list(self.pending.items()):
            reason = "shutdown" if force and star.pending else (None if force else policy.reason(star, now, backlog))
            if reason is None and not star.pending and (star.classified is None or star.classified.exact):
                del self.pending[key]          # classified exactly (or a duplicate restored the classified state)
            elif reason is not None:
                due.append((star, reason))
        if not due:
            return 0
        due.sort(key=lambda sr: (sr[1] == "settle", sr[0].pending_since or 0.0))    # settling last
        if deadline is None:
            deadline = time.perf_counter() + self.settings.classify_budget_s
        return self._classify(due, deadline)

    def _job(self, star: StarState, reason: str) -> Job:
        policy, c = self.settings.policy, star.classified
        if policy.full_search(star, reason):
            return Job(star.lightcurve())
        return Job(star.lightcurve(), c.candidates, c.full_explained, policy.explained_drop)

    def _classify(self, due: list[tuple[StarState, str]], deadline: float | None) -> int:
        start = time.perf_counter()
        outcomes = self.classifier.classify((self._job(star, reason) for star, reason in due), deadline)
        total = time.perf_counter() - start
        features = sum(o.features_s for o in outcomes)
        for o in outcomes:
            self.metrics.stage.labels("features").observe(o.features_s)
            if o.featurised is not None:
                self.metrics.searches.labels("fast" if o.fast else "fallback" if o.fell_back else "full").inc()
        if outcomes:
            self.metrics.stage.labels("inference").observe(max(total - features, 0.0))
        for (star, reason), outcome in zip(due, outcomes):
            self.metrics.triggers.labels(reason).inc()
            self._publish(star, reason, outcome)
            self.pending.pop((star.partition, star.object_id), None)
            if not star.classified.exact:
                self.pending[(star.partition, star.object_id)] = star      # to be settled
            self._markers.append(star)
            if star.partition in self.stores:
                self.stores[star.partition].touch(star)
        return len(outcomes)

    def _publish(self, star: StarState, reason: str, outcome: Outcome) -> None:
        """Produce the classification (a settling one only if its period differs) and record it."""
        publish_ms = now_ms()
        previous, f = star.classified, outcome.featurised
        if outcome.probabilities is None:
            self.metrics.skipped.labels("unusable_curve").inc()
            log.info("star %s not classified yet: %s", star.object_id, outcome.error)
            star.mark_classified(Classified(star.digest, outcome.n_observations, "", publish_ms))
            return
        period = float(f.period.period)
        if reason == "settle" and previous is not None and period == previous.period_days:
            predicted, publish_ms = previous.predicted_class, previous.publish_ms   # the fast path was exact
        else:
            alert_id, ingest_ms = star.latest_alert
            first = star.first_pending_ingest_ms or ingest_ms
            record = self.classifier.record(outcome, alert_id, outcome.n_observations, ingest_ms, first, publish_ms)
            predicted = record["predicted_class"]
            topic = self.settings.topics.classifications
            self.delivery.produce(topic, self.settings.wire.encode("classification", record, topic),
                                  star.object_id.encode(), on_delivered=self._latency_observer(ingest_ms, first))
        if outcome.fast:
            search = (f.period.candidates, previous.full_observations, previous.full_explained)
        else:
            search = (f.period.candidates, outcome.n_observations, float(f.period.explained))
        star.mark_classified(Classified(star.digest, outcome.n_observations, predicted, publish_ms, *search,
                                        exact=not outcome.fast, period_days=period))

    def _latency_observer(self, ingest_ms: int, first_ingest_ms: int):
        def observe(_msg) -> None:
            delivered = now_ms()
            self.metrics.published.inc()
            self.metrics.latency.labels("newest").observe(max(delivered - ingest_ms, 0) / 1000)
            self.metrics.latency.labels("oldest").observe(max(delivered - first_ingest_ms, 0) / 1000)
        return observe

    # ------------------------------------------------------------ produce: delivery and commit

    def finish_batch(self, offsets: dict[tuple[str, int], int]) -> None:
        """Deliver everything, then the 'classified' markers, then commit ``offsets``, then write
        the changed stars and the checkpoint to the local stores."""
        start = time.perf_counter()
        self.delivery.flush()
        if self._markers:
            changelog = self.settings.topics.changelog
            for star in self._markers:
                self.delivery.produce(changelog, encode("state", classified_change(star.object_id, star.classified)),
                                      classified_key(star.object_id), star.partition)
            self._markers = []
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
        self.metrics.pending.set(len(self.pending))
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
                self.pending[(tp.partition, star.object_id)] = star
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
            for key in [k for k in self.pending if k[0] == tp.partition]:
                del self.pending[key]
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
