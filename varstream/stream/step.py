"""The stream's science step: a batch of alert messages in, :class:`~varstream.stream.effects.Effects` out.

ALeRCE's step/framework split: :class:`Step` holds no consumer or producer and never sleeps;
time comes from an injected :class:`~varstream.stream.effects.Clock`. For each message it runs
:class:`~varstream.stream.ingest.Ingest` (decode, check, update the star's state), then asks the
:class:`~varstream.stream.reclassify.Reclassifier` to classify the stars the cost policy says are
due within the per-poll budget. The runtime (:mod:`.app`) consumes, produces what the effects
say, commits and checkpoints.
"""

from __future__ import annotations

from varstream.stream.classify import StreamClassifier
from varstream.stream.effects import Clock, Effects, InputRecord
from varstream.stream.formats import AlertReader
from varstream.stream.ingest import Ingest
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.reclassify import Reclassifier
from varstream.stream.state import StarState
from varstream.stream.store import PartitionStore


class Step:
    """Ingest + reclassification (see the module notes).

    Args:
        classifier: the model and the pipeline settings it was trained with (the alerts are
            checked against that pipeline's point rules, so the stream accepts exactly the points
            the offline cleaning keeps).
        reader: the input format and wire framing.
        policy: when and how stars are reclassified.
        budget_s: featurising time per execution at most (s).
        max_batch: a batch this full means the consumer is behind.
        catchup_lag_s: so does a newest alert that entered its topic longer ago than this (s).
    """

    def __init__(self, classifier: StreamClassifier, reader: AlertReader, policy: ReclassifyPolicy,
                 budget_s: float, max_batch: int, catchup_lag_s: float, clock: Clock) -> None:
        self.clock = clock
        self.max_batch = max_batch
        self.catchup_lag_s = catchup_lag_s
        self.ingest = Ingest(reader, classifier.config.sanitize, clock)
        self.reclassifier = Reclassifier(classifier, policy, budget_s, clock)

    def execute(self, batch: list[InputRecord], stores: dict[int, PartitionStore], now: float | None = None,
                deadline: float | None = None, force: bool = False) -> Effects:
        """Apply ``batch`` to ``stores`` (each message to its partition's store), then classify the
        due stars — every unclassified one with ``force`` (shutdown) — until the budget or
        ``deadline`` (a ``clock.monotonic()`` value) runs out. ``now``: wall seconds (default the
        clock's)."""
        effects = Effects()
        now = self.clock.wall() if now is None else now
        for msg in batch:
            star = self.ingest.handle(msg, stores[msg.partition], now, effects)
            if star is not None:
                self.reclassifier.add(star)
        self.reclassifier.classify_due(self.clock.wall(), stores, effects, force=force,
                                       backlog=self.behind(batch), deadline=deadline)
        return effects

    def behind(self, batch: list[InputRecord]) -> bool:
        """Whether the consumer is behind its input: a full batch, or a newest alert that entered
        its topic more than ``catchup_lag_s`` ago."""
        newest_ms = max((m.timestamp_ms for m in batch if m.timestamp_ms), default=None)
        behind_s = self.clock.wall() - newest_ms / 1000 if newest_ms else 0.0
        return len(batch) >= self.max_batch or behind_s > self.catchup_lag_s

    def hold(self, stars: list[StarState]) -> None:
        """Stars restored waiting (a new partition's): they are classified when due."""
        for star in stars:
            self.reclassifier.add(star)

    def forget_partition(self, partition: int) -> None:
        self.reclassifier.forget_partition(partition)

    def unclassified(self) -> int:
        return self.reclassifier.unclassified()

    def unsettled(self) -> int:
        return self.reclassifier.unsettled()
