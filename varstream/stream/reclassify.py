"""The execute step of ``varstream serve``: which stars are due, their reclassification, and the
classification records produced.

:class:`Reclassifier` holds the stars waiting for a classification (changed, or classified by the
fast path and still to be settled), asks the cost policy (:mod:`varstream.stream.policy`) which are
due, runs them through the science step (:class:`~varstream.stream.classify.StreamClassifier`) —
the full period search or the fast path, as the policy decides — and produces each classification.
It keeps the stars it classified as *markers*, whose "classified" records the app writes to the
changelog after the classifications are delivered (:meth:`take_markers`).
"""

from __future__ import annotations

import logging
import time

from varstream.stream.classify import Job, Outcome, StreamClassifier
from varstream.stream.delivery import Delivery
from varstream.stream.ingest import now_ms
from varstream.stream.metrics import StreamMetrics
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.settings import ServeSettings
from varstream.stream.state import Classified, StarState
from varstream.stream.store import PartitionStore

log = logging.getLogger(__name__)

__all__ = ["Reclassifier", "classified_from", "job_for"]


def job_for(star: StarState, reason: str, policy: ReclassifyPolicy) -> Job:
    """The science step's job for a due star: the full period search, or the fast path from the
    candidates of its last classification, as the policy says for this trigger."""
    c = star.classified
    if policy.full_search(star, reason):
        return Job(star.lightcurve())
    return Job(star.lightcurve(), c.candidates, c.full_explained, policy.explained_drop)


def classified_from(star: StarState, outcome: Outcome, predicted: str, publish_ms: int) -> Classified:
    """What a star keeps of a classification (``outcome`` featurised): its period and what the
    period search learnt — the candidates, and from the last *full* search the size of the curve
    and the variance share explained (a fast-path outcome keeps the previous full search's)."""
    f, previous = outcome.featurised, star.classified
    if outcome.fast:
        search = (f.period.candidates, previous.full_observations, previous.full_explained)
    else:
        search = (f.period.candidates, outcome.n_observations, float(f.period.explained))
    return Classified(star.digest, outcome.n_observations, predicted, publish_ms, *search,
                      exact=not outcome.fast, period_days=float(f.period.period))


class Reclassifier:
    """Pending stars → due stars → classifications (see the module notes).

    ``stores`` is the app's live map of assigned partitions' stores (a classified star is marked
    changed in its store)."""

    def __init__(self, settings: ServeSettings, classifier: StreamClassifier, delivery: Delivery,
                 metrics: StreamMetrics, stores: dict[int, PartitionStore]) -> None:
        self.settings = settings
        self.classifier = classifier
        self.delivery = delivery
        self.metrics = metrics
        self.stores = stores
        self.pending: dict[tuple[int, str], StarState] = {}
        self._markers: list[StarState] = []

    def add(self, star: StarState) -> None:
        """A star that changed (or was restored pending, or is still to be settled)."""
        self.pending[(star.partition, star.object_id)] = star

    def forget_partition(self, partition: int) -> None:
        """The partition was revoked: its stars are the next owner's."""
        for key in [k for k in self.pending if k[0] == partition]:
            del self.pending[key]

    def waiting(self) -> int:
        """Stars with observations not yet classified."""
        return sum(star.pending for star in self.pending.values())

    def take_markers(self) -> list[StarState]:
        """The stars classified since the last call (their 'classified' changelog records are due)."""
        markers, self._markers = self._markers, []
        return markers

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

    def _classify(self, due: list[tuple[StarState, str]], deadline: float | None) -> int:
        start = time.perf_counter()
        policy = self.settings.policy
        outcomes = self.classifier.classify((job_for(star, reason, policy) for star, reason in due), deadline)
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
                self.add(star)                                               # to be settled
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
        star.mark_classified(classified_from(star, outcome, predicted, publish_ms))

    def _latency_observer(self, ingest_ms: int, first_ingest_ms: int):
        """The delivery callback of one classification: counted, and its latencies observed (s)."""
        def observe(_msg) -> None:
            delivered = now_ms()
            self.metrics.published.inc()
            self.metrics.latency.labels("newest").observe(max(delivered - ingest_ms, 0) / 1000)
            self.metrics.latency.labels("oldest").observe(max(delivered - first_ingest_ms, 0) / 1000)
        return observe
