"""The stream's classifier: star curves in, scored outcomes out (no Kafka here).

Each star's accumulated curve goes through the shared pipeline
(:func:`~varstream.lightcurve.pipeline.featurise`, the very function the training used, with the
settings the model card records) and the classifier of
:func:`~varstream.inference.load_classifier` scores all due stars in one batch;
:func:`classification_record` turns a scored outcome into the published record.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from varstream.inference import (ENSEMBLE, PRIORS, SURVEY_PRIOR, TRAINED_PRIOR, ClassifierInfo,
                                  classification_fields, load_classifier)
from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.pipeline import Featurised, PipelineConfig, featurise
from varstream.lightcurve.types import LightCurve
from varstream.stream.survey_prior import SurveyPrior

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One star to classify: its curve and, for the fast path, the candidate frequencies (c/d) of
    its last full period search (and that search's spectral-window peaks, c/d) and the least share
    of variance the refined period must explain
    (else the fast path falls back to a full search; see
    :attr:`~varstream.stream.policy.ReclassifyPolicy.explained_drop`)."""

    curve: LightCurve
    hint: tuple[float, ...] | None = None
    min_explained: float = 0.0
    window: tuple[float, ...] = ()


@dataclass
class Outcome:
    """The result for one star: probabilities over ``classes``, or ``error`` if it could not be
    featurised (too few points, ...); ``fast``: the period came from the fast path (a refinement
    near the hint), ``fell_back``: the fast path was tried and its fit check sent it to the full
    search; ``prior``: the prior the probabilities assume (:data:`~varstream.inference.PRIORS`).
    Timings in seconds."""

    object_id: str
    n_observations: int = 0
    probabilities: np.ndarray | None = None
    featurised: Featurised | None = None
    error: str | None = None
    features_s: float = 0.0
    fast: bool = False
    fell_back: bool = False
    prior: str = TRAINED_PRIOR


class StreamClassifier:
    """A classifier (one ONNX model or the ensemble) with the pipeline settings it was trained with,
    and the estimate of the served survey's class prior (:mod:`.survey_prior`), which every scored
    star informs.

    ``monotonic``: the clock of the featurising budget (seconds); ``prior``: ``trained`` publishes
    the shipped classifier's probabilities (as offline), ``survey`` moves them onto the survey's
    estimated prior once there is one."""

    def __init__(self, models_dir: str | Path, model: str = ENSEMBLE,
                 monotonic: Callable[[], float] = time.perf_counter, prior: str = TRAINED_PRIOR) -> None:
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, not {prior!r}")
        self.model = load_classifier(models_dir, model)
        self.config: PipelineConfig = self.model.pipeline
        self.info = self.model.info
        self.classes = self.model.classes
        self.monotonic = monotonic
        self.prior = prior
        self.survey_prior = SurveyPrior(self.classes, self.model.output_prior)

    def featurise(self, job: Job) -> Outcome:
        """One star through the shared pipeline: the fast path when the job has a hint (falling back
        to the full search if the refined period explains less than ``min_explained``, or cannot be
        found), else the full search. Never raises for bad input."""
        lc = job.curve
        out = Outcome(lc.object_id, len(lc))
        try:
            if job.hint:
                try:
                    fast = featurise(lc, self.config, hint=job.hint, window=job.window)
                    if fast.period.explained >= job.min_explained:
                        out.featurised, out.fast = fast, True
                        return out
                except LightCurveError:
                    pass                               # e.g. no candidate left in range: search fully
                out.fell_back = True
            out.featurised = featurise(lc, self.config)
        except LightCurveError as exc:
            out.error = str(exc)
        except Exception as exc:  # a bug must not stop the stream: the star waits for new data
            log.exception("star %s: featurising failed", lc.object_id)
            out.error = f"internal error: {type(exc).__name__}: {exc}"
        return out

    def classify(self, jobs: Iterable[Job | LightCurve], deadline: float | None = None) -> list[Outcome]:
        """Featurise the jobs (or plain curves: full searches) in order — stopping once
        the clock passes ``deadline``, after at least one — then score the usable ones in one batch.
        Returns one outcome per job featurised (a prefix of ``jobs``)."""
        outcomes = []
        for job in jobs:
            start = self.monotonic()
            outcome = self.featurise(job if isinstance(job, Job) else Job(job))
            outcome.features_s = self.monotonic() - start
            outcomes.append(outcome)
            if deadline is not None and self.monotonic() > deadline:
                break
        ok = [o for o in outcomes if o.featurised is not None]
        if ok:
            x = np.stack([o.featurised.features.values for o in ok])
            seq = np.stack([o.featurised.sequence for o in ok])
            n_points = np.array([o.featurised.n_points for o in ok])
            for o, p in zip(ok, self.model.predict_proba(x, seq, n_points)):
                o.probabilities = p
                self.survey_prior.observe(o.object_id, p)
            if self.prior == SURVEY_PRIOR:
                for o in ok:
                    moved = self.survey_prior.apply(o.probabilities)
                    if moved is not None:
                        o.probabilities, o.prior = moved, SURVEY_PRIOR
        return outcomes


def classification_record(outcome: Outcome, info: ClassifierInfo, classes: list[str], alert_id: str,
                          ingest_ms: int, first_ingest_ms: int, publish_ms: int) -> dict:
    """The ``Classification`` record (``schemas/classification.avsc``) of a scored outcome: the
    classifier ``info``, what the classification says about the star
    (:func:`~varstream.inference.classification_fields`), the alert that triggered it and its Kafka
    timestamp, the oldest alert it newly includes, and the publish time (all ms since the epoch)."""
    return {
        "object_id": outcome.object_id,
        "alert_id": alert_id,
        "classifier": {"name": info.name, "version": info.version, "model_sha256": info.model_sha256,
                       "feature_version": info.feature_version,
                       "members": [{"name": n, "onnx_sha256": h} for n, h in info.members]},
        **classification_fields(outcome.featurised, outcome.probabilities, classes, outcome.prior),
        "n_observations": int(outcome.n_observations),
        "exact": not outcome.fast,
        "ingest_time": int(ingest_ms),
        "first_ingest_time": int(first_ingest_ms),
        "publish_time": int(publish_ms),
    }
