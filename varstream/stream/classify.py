"""The stream's science step: star states in, classification records out (no Kafka here).

Each star's accumulated curve goes through the shared pipeline
(:func:`~varstream.lightcurve.pipeline.featurise`, the very function the training used) and the
ONNX models score all due stars in one batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from varstream.inference import Ensemble, ModelIntegrityError, OnnxClassifier, load_models
from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.pipeline import Featurised, PipelineConfig, featurise
from varstream.lightcurve.types import LightCurve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifierInfo:
    """What the ``classifier`` field of a classification says about the model."""

    name: str
    version: str
    model_sha256: str
    feature_version: str


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
    """A model (one ONNX model or the ensemble of ``ensemble.json``) with the pipeline settings."""

    def __init__(self, models_dir: str | Path, model: str = "ensemble", config: PipelineConfig = PipelineConfig()) -> None:
        models_dir = Path(models_dir)
        self.config = config
        if model == "ensemble":
            spec = json.loads((models_dir / "ensemble.json").read_text())
            members = load_models(models_dir, tuple(spec["members"]))
            missing = [m for m in spec["members"] if m not in members]
            if missing:
                raise ModelIntegrityError(f"{models_dir}: ensemble members without a model card: {missing}")
            self.members = [members[m] for m in spec["members"]]
            self._ensemble = Ensemble(self.members)
            digest = hashlib.sha256(",".join(f"{m.card.name}:{m.card.sha256}" for m in self.members).encode())
            versions = sorted({m.card.version for m in self.members})
            self.info = ClassifierInfo("ensemble(" + "+".join(m.card.name for m in self.members) + ")",
                                       "/".join(versions), digest.hexdigest(), self.members[0].card.feature_version)
        else:
            card = models_dir / f"{model}.card.json"
            if not card.exists():
                raise FileNotFoundError(f"no model card {card}")
            self.members = [OnnxClassifier.load(card)]
            self._ensemble = Ensemble(self.members, name=model)
            c = self.members[0].card
            self.info = ClassifierInfo(c.name, c.version, c.sha256, c.feature_version)
        self.classes = self._ensemble.classes

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
            probs = self._ensemble.predict_proba(x, seq)
            for o, p in zip(ok, probs):
                o.probabilities = p
        return outcomes

    def record(self, outcome: Outcome, alert_id: str, n_observations: int, ingest_ms: int,
               first_ingest_ms: int, publish_ms: int) -> dict:
        """The ``Classification`` record (see ``schemas/classification.avsc``) of a scored star."""
        f = outcome.featurised
        probs = outcome.probabilities
        return {
            "object_id": outcome.object_id,
            "alert_id": alert_id,
            "classifier": {"name": self.info.name, "version": self.info.version,
                           "model_sha256": self.info.model_sha256, "feature_version": self.info.feature_version},
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
