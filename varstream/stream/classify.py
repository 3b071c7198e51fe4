"""The stream's science step: star curves in, classification records out (no Kafka here).

Each star's accumulated curve goes through the shared pipeline
(:func:`~varstream.lightcurve.pipeline.featurise`, the very function the training used) and the
classifier of :func:`~varstream.inference.load_classifier` scores all due stars in one batch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from varstream.inference import ENSEMBLE, load_classifier
from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.pipeline import Featurised, PipelineConfig, featurise
from varstream.lightcurve.types import LightCurve

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """The result for one star: probabilities over ``classes``, or ``error`` if it could not be
    featurised (too few points, ...). Timings in seconds."""

    object_id: str
    n_observations: int = 0
    probabilities: np.ndarray | None = None
    featurised: Featurised | None = None
    error: str | None = None
    features_s: float = 0.0


class StreamClassifier:
    """A classifier (one ONNX model or the ensemble) with the pipeline settings it was trained with."""

    def __init__(self, models_dir: str | Path, model: str = ENSEMBLE, config: PipelineConfig = PipelineConfig()) -> None:
        self.config = config
        self.model = load_classifier(models_dir, model)
        self.info = self.model.info
        self.classes = self.model.classes

    def classify(self, curves: Iterable[LightCurve], deadline: float | None = None) -> list[Outcome]:
        """Featurise the curves in order — stopping once ``time.perf_counter()`` passes
        ``deadline``, after at least one — then score the usable ones in one batch. Returns one
        outcome per curve featurised (a prefix of ``curves``)."""
        outcomes = []
        for lc in curves:
            start = time.perf_counter()
            try:
                outcomes.append(Outcome(lc.object_id, len(lc), featurised=featurise(lc, self.config)))
            except LightCurveError as exc:
                outcomes.append(Outcome(lc.object_id, len(lc), error=str(exc)))
            except Exception as exc:  # a bug must not stop the stream: the star waits for new data
                log.exception("star %s: featurising failed", lc.object_id)
                outcomes.append(Outcome(lc.object_id, len(lc), error=f"internal error: {type(exc).__name__}: {exc}"))
            outcomes[-1].features_s = time.perf_counter() - start
            if deadline is not None and time.perf_counter() > deadline:
                break
        ok = [o for o in outcomes if o.featurised is not None]
        if ok:
            x = np.stack([o.featurised.features.values for o in ok])
            seq = np.stack([o.featurised.sequence for o in ok])
            for o, p in zip(ok, self.model.predict_proba(x, seq)):
                o.probabilities = p
        return outcomes

    def record(self, outcome: Outcome, alert_id: str, n_observations: int, ingest_ms: int,
               first_ingest_ms: int, publish_ms: int) -> dict:
        """The ``Classification`` record (see ``schemas/classification.avsc``) of a scored star."""
        f = outcome.featurised
        probs = outcome.probabilities
        info = self.info
        return {
            "object_id": outcome.object_id,
            "alert_id": alert_id,
            "classifier": {"name": info.name, "version": info.version, "model_sha256": info.model_sha256,
                           "feature_version": info.feature_version,
                           "members": [{"name": n, "onnx_sha256": h} for n, h in info.members]},
            "probabilities": [{"label": c, "probability": float(p)} for c, p in zip(self.classes, probs)],
            "predicted_class": self.classes[int(np.argmax(probs))],
            "n_points": int(f.n_points),
            "n_observations": int(n_observations),
            "span_days": float(f.baseline_days),
            "period_days": float(f.period.period),
            "ingest_time": int(ingest_ms),
            "first_ingest_time": int(first_ingest_ms),
            "publish_time": int(publish_ms),
        }
