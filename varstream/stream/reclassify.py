"""Which stars are due, their reclassification, and the classification records it yields.

:class:`Reclassifier` holds the *waiting* stars (unclassified, or classified by the fast path and
still to be settled; see :mod:`.state`), asks the cost policy (:mod:`varstream.stream.policy`)
which are due, runs them through the classifier
(:class:`~varstream.stream.classify.StreamClassifier`) — the full period search or the fast path,
as the policy decides — and returns each classification and each "classified" marker as
:class:`~varstream.stream.effects.Effects`: it produces nothing itself.
"""

from __future__ import annotations

import logging

from varstream.stream.classify import Job, Outcome, StreamClassifier, classification_record
from varstream.stream.effects import Clock, Effects, Publication, StateRecord
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.state import Classified, StarState, classified_change, classified_key
from varstream.stream.store import PartitionStore

log = logging.getLogger(__name__)

__all__ = ["Reclassifier", "classified_from", "job_for"]


def job_for(star: StarState, reason: str, policy: ReclassifyPolicy) -> Job:
    """The classifier's job for a due star: the full period search, or the fast path from the
    candidates of its last classification, as the policy says for this trigger."""
    c = star.classified
    if policy.full_search(star, reason):
        return Job(star.lightcurve())
    return Job(star.lightcurve(), c.candidates, c.full_explained - policy.explained_drop, c.window)


def classified_from(star: StarState, outcome: Outcome, predicted: str, publish_ms: int) -> Classified:
    """What a star keeps of a classification (``outcome`` featurised): its period and what the
    period search learnt — the candidates, and from the last *full* search the size of the curve
    and the variance share explained (a fast-path outcome keeps the previous full search's)."""
    f, previous = outcome.featurised, star.classified
    if outcome.fast:
        search = (f.period.candidates, previous.full_observations, previous.full_explained)
        window = previous.window
    else:
        search = (f.period.candidates, outcome.n_observations, float(f.period.explained))
        window = f.period.window
    return Classified(star.digest, outcome.n_observations, predicted, publish_ms, *search,
                      exact=not outcome.fast, period_days=float(f.period.period), window=tuple(window))


class Reclassifier:
    """Waiting stars → due stars → classifications (see the module notes)."""

    def __init__(self, classifier: StreamClassifier, policy: ReclassifyPolicy, budget_s: float,
                 clock: Clock) -> None:
        self.classifier = classifier
        self.policy = policy
        self.budget_s = budget_s
        self.clock = clock
        self.queue: dict[tuple[int, str], StarState] = {}

    def add(self, star: StarState) -> None:
        """A star that changed (or was restored waiting, or is still to be settled)."""
        self.queue[(star.partition, star.object_id)] = star

    def forget_partition(self, partition: int) -> None:
        """The partition was revoked: its stars are the next owner's."""
        for key in [k for k in self.queue if k[0] == partition]:
            del self.queue[key]

    def unclassified(self) -> int:
        """Stars with observations not yet classified."""
        return sum(star.unclassified for star in self.queue.values())

    def unsettled(self) -> int:
        """Stars classified by the fast path whose exact classification is still to come."""
        return sum(star.unsettled and not star.unclassified for star in self.queue.values())

    def classify_due(self, now: float, stores: dict[int, PartitionStore], effects: Effects, force: bool = False,
                     backlog: bool = False, deadline: float | None = None) -> int:
        """Reclassify due stars, oldest change first, within the time budget (or until
        ``deadline``, a clock's ``monotonic()`` value); returns how many. ``force``: every
        unclassified star is due; ``backlog``: the consumer is behind (catch-up, see :mod:`policy`)."""
        due = []
        for key, star in list(self.queue.items()):
            if force:
                reason = "shutdown" if star.unclassified else None
            else:
                reason = self.policy.reason(star, now, backlog)
            if reason is None and not star.waiting:
                del self.queue[key]          # classified exactly (or a duplicate restored the classified state)
            elif reason is not None:
                due.append((star, reason))
        if not due:
            return 0
        due.sort(key=lambda sr: (sr[1] == "settle", sr[0].unclassified_since or 0.0))    # settling last
        if deadline is None:
            deadline = self.clock.monotonic() + self.budget_s
        return self._classify(due, deadline, stores, effects)

    def _classify(self, due: list[tuple[StarState, str]], deadline: float, stores: dict[int, PartitionStore],
                  effects: Effects) -> int:
        start = self.clock.monotonic()
        outcomes = self.classifier.classify((job_for(star, reason, self.policy) for star, reason in due), deadline)
        total = self.clock.monotonic() - start
        for o in outcomes:
            effects.timing("features", o.features_s)
            if o.featurised is not None:
                effects.count("searches", "fast" if o.fast else "fallback" if o.fell_back else "full")
        if outcomes:
            effects.timing("inference", max(total - sum(o.features_s for o in outcomes), 0.0))
        for (star, reason), outcome in zip(due, outcomes):
            effects.count("triggers", reason)
            self._publish(star, reason, outcome, effects)
            self.queue.pop((star.partition, star.object_id), None)
            if star.unsettled:
                self.add(star)                                               # to be settled
            effects.markers.append(StateRecord(star.partition, classified_key(star.object_id),
                                               classified_change(star.object_id, star.classified)))
            if star.partition in stores:
                stores[star.partition].touch(star)
        return len(outcomes)

    def _publish(self, star: StarState, reason: str, outcome: Outcome, effects: Effects) -> None:
        """The classification (a settling one only if its period differs), and the star's record of it."""
        publish_ms = int(self.clock.wall() * 1000)
        previous, f = star.classified, outcome.featurised
        if outcome.probabilities is None:
            effects.count("skipped", "unusable_curve")
            log.info("star %s not classified yet: %s", star.object_id, outcome.error)
            star.mark_classified(Classified(star.digest, outcome.n_observations, "", publish_ms))
            return
        if reason == "settle" and previous is not None and float(f.period.period) == previous.period_days:
            predicted, publish_ms = previous.predicted_class, previous.publish_time   # the fast path was exact
        else:
            alert_id, ingest_ms = star.latest_alert
            first = star.first_unclassified_ingest_ms or ingest_ms
            c = self.classifier
            record = classification_record(outcome, c.info, c.classes, alert_id, ingest_ms, first, publish_ms)
            predicted = record["predicted_class"]
            effects.classifications.append(Publication(star.object_id.encode(), record, ingest_ms, first))
        star.mark_classified(classified_from(star, outcome, predicted, publish_ms))
