"""The class mix of the survey a stream serves, estimated from its own unlabelled classifications.

The shipped classifier's probabilities assume a class mix (its card's ``output_prior``: what they
average to on the real validation stars of the training survey). Another survey sees another
mix — more long-period variables in a red, crowded field, fewer contact binaries at a bright
limit. :class:`SurveyPrior` keeps each star's latest probabilities (under the shipped prior) and,
every :attr:`~SurveyPrior.every` classifications once :data:`MIN_STARS` stars are known, re-runs
Saerens et al. (2002)'s EM (:func:`varstream.priors.estimate_prior`) on them. The estimate is
reported (``/metrics``, ``varstream prior``); only ``serve --prior survey`` moves the published
probabilities onto it (then a record's ``prior`` is ``survey``), because that makes one
consumer group's stream differ from the offline prediction of the same curve, by design.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from varstream import priors
from varstream.inference import TRAINED_PRIOR

#: Fewest stars an estimate is made from.
MIN_STARS = 100
#: Classifications between two estimates.
ESTIMATE_EVERY = 200
#: Stars kept at most (the most recently classified; ~100 bytes each).
MAX_STARS = 100_000


class SurveyPrior:
    """Each star's latest probabilities and the EM estimate of their class prior.

    Args:
        classes: the classifier's classes (order of every probability row).
        base_prior: the prior the probabilities assume (the card's ``output_prior``).
        every: classifications between estimates; ``min_stars``: fewest stars for one;
            ``max_stars``: the most recently classified stars kept.
    """

    def __init__(self, classes: list[str], base_prior: np.ndarray, every: int = ESTIMATE_EVERY,
                 min_stars: int = MIN_STARS, max_stars: int = MAX_STARS) -> None:
        self.classes = list(classes)
        self.base = priors.normalised(base_prior)
        self.every = every
        self.min_stars = min_stars
        self.max_stars = max_stars
        self.latest: OrderedDict[str, np.ndarray] = OrderedDict()
        self.estimate: np.ndarray | None = None
        self._since = 0

    @property
    def stars(self) -> int:
        """Stars whose latest probabilities the estimate is made from."""
        return len(self.latest)

    def observe(self, object_id: str, probabilities: np.ndarray) -> None:
        """A star's new classification (probabilities under the base prior); re-estimates every
        :attr:`every` of them once there are :attr:`min_stars` stars."""
        self.latest.pop(object_id, None)
        self.latest[object_id] = np.asarray(probabilities, dtype=np.float64)
        if len(self.latest) > self.max_stars:
            self.latest.popitem(last=False)
        self._since += 1
        if self._since >= self.every and self.stars >= self.min_stars:
            self.refresh()

    def refresh(self) -> np.ndarray | None:
        """Estimate the prior now (None below :attr:`min_stars` stars)."""
        self._since = 0
        if self.stars < self.min_stars:
            return None
        # warm start from the last estimate: on the serving path an update takes a few iterations
        self.estimate = priors.estimate_prior(np.stack(list(self.latest.values())), self.base,
                                              start=self.estimate).prior
        return self.estimate

    def apply(self, probabilities: np.ndarray) -> np.ndarray | None:
        """``probabilities`` moved onto the survey's estimated prior, or None while there is no estimate."""
        if self.estimate is None:
            return None
        return priors.reweight(probabilities, self.estimate, self.base)

    @staticmethod
    def from_records(records: list[dict], classes: list[str], base_prior: np.ndarray,
                     min_stars: int = 1) -> SurveyPrior:
        """An estimate from classification records (the latest per star: most observations; only
        records with the ``trained`` prior or none — a survey-prior record is already moved)."""
        est = SurveyPrior(classes, base_prior, every=10**12, min_stars=min_stars)
        best: dict[str, dict] = {}
        for rec in records:
            if rec.get("prior", "") not in ("", TRAINED_PRIOR):
                continue
            old = best.get(rec["object_id"])
            if old is None or rec["n_observations"] >= old["n_observations"]:
                best[rec["object_id"]] = rec
        for oid, rec in best.items():
            p = {e["label"]: e["probability"] for e in rec["probabilities"]}
            if set(p) == set(classes):
                est.latest[oid] = np.array([p[c] for c in classes])
        est.refresh()
        return est
