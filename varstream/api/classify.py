"""``varstream.classify`` and ``varstream.classify_many``: the exact path on the user's own curves."""

from __future__ import annotations

import functools
import logging
import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from varstream.api.curves import to_lightcurve
from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.pipeline import Featurised, PipelineConfig, featurise
from varstream.lightcurve.types import LightCurve

log = logging.getLogger(__name__)

#: Curves scored in one call of the classifier.
BATCH = 256


@dataclass(frozen=True)
class Classification:
    """One star's classification: the science fields of the record the stream publishes
    (``schemas/classification.avsc``; probabilities keyed by class here), the points given and
    those the pipeline dropped (by rule), the classifier — or ``error``, the reason it could not be
    classified (then the other fields are empty).

    Attributes:
        object_id: the star.
        predicted_class: the most probable class; ``probability`` its probability.
        family, family_probability: the most probable family (the sum of its classes) and its probability.
        nonperiodic_probability: the probability of not being a periodic variable (class NONPER;
            None for models trained without that outcome).
        probabilities: every class's probability (the model's class order).
        period_days, period_fap, period_cycles: the period (days), its false-alarm probability and
            the cycles the cleaned curve covers.
        n_points: points after cleaning; ``n_observations``: points given; ``dropped``: points
            dropped by each cleaning rule (``nonfinite``, ``large_error``, ``sigma_clip``, …).
        span_days: time span of the cleaned curve (days).
        abs_mag, abs_mag_err: absolute magnitude and its error (mag) when a distance was given.
        bands: the bands whose points were used.
        classifier: the classifier's name and version.
    """

    object_id: str
    predicted_class: str | None = None
    probability: float | None = None
    family: str | None = None
    family_probability: float | None = None
    nonperiodic_probability: float | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    period_days: float | None = None
    period_fap: float | None = None
    period_cycles: float | None = None
    n_points: int = 0
    n_observations: int = 0
    span_days: float | None = None
    abs_mag: float | None = None
    abs_mag_err: float | None = None
    bands: tuple[str, ...] = ()
    dropped: dict[str, int] = field(default_factory=dict)
    classifier: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the star was classified."""
        return self.error is None

    def row(self, classes: Iterable[str] = ()) -> dict[str, Any]:
        """A flat table row: the scalar fields, ``bands`` joined, ``dropped`` as ``rule:n`` pairs,
        and ``p_<class>`` for each of ``classes`` (default: the star's own)."""
        out = {k: getattr(self, k) for k in ("object_id", "predicted_class", "probability", "family",
                                              "family_probability", "nonperiodic_probability", "period_days", "period_fap", "period_cycles",
                                              "n_points", "n_observations", "span_days", "abs_mag", "abs_mag_err")}
        out["bands"] = " ".join(self.bands)
        out["dropped"] = " ".join(f"{k}:{v}" for k, v in sorted(self.dropped.items()))
        for c in list(classes) or list(self.probabilities):
            out[f"p_{c}"] = self.probabilities.get(c)
        out["error"] = self.error or ""
        return out


@functools.lru_cache(maxsize=4)
def _classifier(models_dir: str):
    from varstream.inference import load_classifier        # onnxruntime: only when first needed

    return load_classifier(models_dir)


def default_classifier(models: str | Path | None = None):
    """The shipped ensemble (or the one in ``models``), verified and loaded once per process."""
    from varstream.inference import default_models_dir

    return _classifier(str(Path(models) if models is not None else default_models_dir()))


def _result(lc: LightCurve, f: Featurised, probabilities: np.ndarray, classifier) -> Classification:
    from varstream.inference import classification_fields

    fields = classification_fields(f, probabilities, classifier.classes)
    probs = {p["label"]: p["probability"] for p in fields["probabilities"]}
    info = classifier.info
    return Classification(
        object_id=lc.object_id, predicted_class=fields["predicted_class"],
        probability=probs[fields["predicted_class"]], family=fields["family"] or None,
        family_probability=fields["family_probability"],
        nonperiodic_probability=fields["nonperiodic_probability"], probabilities=probs, period_days=fields["period_days"],
        period_fap=fields["period_fap"], period_cycles=fields["period_cycles"], n_points=fields["n_points"],
        n_observations=len(lc), span_days=fields["span_days"], abs_mag=fields["abs_mag"],
        abs_mag_err=fields["abs_mag_err"], bands=tuple(fields["bands"]), dropped=dict(f.report.dropped),
        classifier=f"{info.name} {info.version}")


def _score(curves: list[LightCurve], featurised: list[Featurised], classifier) -> list[Classification]:
    out = []
    for start in range(0, len(featurised), BATCH):
        chunk = featurised[start:start + BATCH]
        probs = classifier.predict_proba(np.stack([f.features.values for f in chunk]),
                                         np.stack([f.sequence for f in chunk]), np.array([f.n_points for f in chunk]))
        out += [_result(lc, f, p, classifier) for lc, f, p in zip(curves[start:start + BATCH], chunk, probs)]
    return out


def classify(times: Any, mags: Any = None, errors: Any = None, band: Any = None, *,
             catalogue: Mapping[str, Any] | None = None, models: str | Path | None = None,
             object_id: str | None = None, **columns: str | None) -> Classification:
    """Classify one light curve.

    Args:
        times: observation times (days; Julian dates and astropy ``Time`` understood) with ``mags``
            and ``errors`` (mag) — or, alone, an astropy ``Table``/``TimeSeries`` (columns found by
            their usual names, or ``time_col=``, ``mag_col=``, ``err_col=``, ``band_col=``) or a
            :class:`~varstream.lightcurve.types.LightCurve`.
        band: one band, or one per point (a multi-band curve: every band is used).
        catalogue: what an alert's catalogue data carry: ``distance_pc`` and ``distance_error_pc``,
            or ``parallax_mas``, ``parallax_error_mas`` and ``ruwe`` (for the absolute magnitude).
        models: a models directory (default: the shipped ensemble).
        object_id: the star's name (in results and errors).

    Raises:
        LightCurveError: the curve cannot be read or classified; the message names the star and why.
    """
    lc = to_lightcurve(times, mags, errors, band, object_id=object_id, catalogue=catalogue, **columns)
    classifier = default_classifier(models)
    return _score([lc], [featurise(lc, classifier.pipeline)], classifier)[0]


def _featurise_one(args: tuple[LightCurve, PipelineConfig]) -> Featurised | str:
    lc, config = args
    try:
        return featurise(lc, config)
    except LightCurveError as exc:
        return str(exc)


def classify_many(curves: Iterable[Any], *, jobs: int | None = 1, models: str | Path | None = None,
                  progress: bool = False) -> list[Classification]:
    """Classify many curves — each a ``LightCurve``, an astropy table, or a ``(times, mags, errors)``
    or ``(times, mags, errors, band)`` tuple — featurised on ``jobs`` processes (None: every core)
    and scored in batches. One result per curve, in order; a curve that cannot be classified gets
    its reason in ``error`` (nothing is raised for it)."""
    classifier = default_classifier(models)
    prepared: list[LightCurve | Classification] = []
    for i, item in enumerate(curves):
        try:
            if isinstance(item, tuple):
                prepared.append(to_lightcurve(*item, object_id=f"star{i}"))
            else:
                prepared.append(to_lightcurve(item, object_id=None if isinstance(item, LightCurve) else f"star{i}"))
        except LightCurveError as exc:
            prepared.append(Classification(exc.object_id, error=str(exc)))
    todo = [(i, c) for i, c in enumerate(prepared) if isinstance(c, LightCurve)]
    work = [(c, classifier.pipeline) for _, c in todo]
    jobs = (os.cpu_count() or 1) if jobs is None else max(1, jobs)
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(work), desc="classify", unit="curve")
    else:
        bar = None
    if jobs > 1 and len(work) > 1:
        with mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn").Pool(jobs) as pool:
            featurised = []
            for f in pool.imap(_featurise_one, work, chunksize=4):
                featurised.append(f)
                if bar:
                    bar.update()
    else:
        featurised = []
        for w in work:
            featurised.append(_featurise_one(w))
            if bar:
                bar.update()
    if bar:
        bar.close()
    good = [(i, c, f) for (i, c), f in zip(todo, featurised) if not isinstance(f, str)]
    for (i, c), f in zip(todo, featurised):
        if isinstance(f, str):
            prepared[i] = Classification(c.object_id, n_observations=len(c), error=f)
    for (i, _, _), result in zip(good, _score([c for _, c, _ in good], [f for _, _, f in good], classifier)):
        prepared[i] = result
    return prepared  # type: ignore[return-value]
