"""The one pipeline from a raw :class:`LightCurve` to features: used offline and in the stream.

Steps, in order (each a function in its own module):

0. :func:`~varstream.lightcurve.bands.combine_bands` — a curve whose points carry their band
   (``aux["band"]``, as the stream keeps them) becomes one curve on one band's scale: per-band
   offsets fitted with a period model shared by all bands (the identity for one band).
1. :func:`~varstream.lightcurve.sanitize.sanitize` — drop non-finite points, non-positive or huge
   errors, absurd times and duplicate timestamps; sort by time.
2. :func:`~varstream.lightcurve.clean.downsample` — bin and thin curves longer than ``max_points``.
3. :func:`~varstream.lightcurve.period.find_period` — the period (Lomb–Scargle candidates decided
   by multi-harmonic and phase-binned models); given the candidates of an earlier search of the
   same star (``hint``), :func:`~varstream.lightcurve.period.refine_period` looks near them only
   (the stream's fast path).
4. :func:`~varstream.lightcurve.clean.phase_median_residuals` +
   :func:`~varstream.lightcurve.clean.clip_outliers` — sigma clipping of the residuals from the
   running median of the phase-ordered curve (edge-preserving) (clipping about the folded shape keeps real eclipses
   and pulsation extremes that a clip about the overall median would throw away).
5. :func:`~varstream.lightcurve.ghkss.ghkss` — local-projective noise reduction of the
   magnitudes ordered by phase (a circular series), if enabled.
6. :func:`~varstream.lightcurve.clean.folded_model` — SuperSmoother model of the cleaned, folded
   curve; then features (:mod:`~varstream.lightcurve.features`), the GRU sequence
   (:mod:`~varstream.lightcurve.sequence`) and the absolute magnitude from the Gaia distance
   (:mod:`~varstream.lightcurve.gaia`).

It raises only :class:`~varstream.lightcurve.errors.LightCurveError`, and never returns a NaN
feature except the optional absolute magnitude when the distance is missing.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from varstream.lightcurve.bands import combine_bands
from varstream.lightcurve.clean import phase_median_residuals, clip_outliers, downsample, folded_model, phase
from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.features import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    OPTIONAL_NAMES,
    FeatureInputs,
    FeatureVector,
    compute_features,
)
from varstream.lightcurve.gaia import Distance, resolve_distance
from varstream.lightcurve.ghkss import ghkss
from varstream.lightcurve.period import PeriodResult, PeriodSearchConfig, find_period, refine_period
from varstream.lightcurve.sanitize import CleaningReport, SanitizeConfig, sanitize
from varstream.lightcurve.sequence import phase_sequence
from varstream.lightcurve.types import LightCurve

#: ``aux`` column of a cleaned curve: its magnitudes before GHKSS noise reduction (mag).
OBSERVED_MAGS = "observed_mag"

__all__ = ["FEATURE_VERSION", "Featurised", "PipelineConfig", "config_differences", "featurise", "feature_names"]


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of every step; the defaults are what the shipped models were trained with.

    Attributes:
        sanitize: limits for bad points (see :class:`SanitizeConfig`).
        bin_days: downsampling bin width in days.
        max_points: curves longer than this are binned, then thinned (bounds the cost per curve).
        period: the Lomb–Scargle grid (see :class:`PeriodSearchConfig`).
        clip_sigma: sigma-clipping threshold about the folded model.
        max_clip_fraction: clipping that would remove more than this fraction is skipped.
        ghkss: apply GHKSS noise reduction to the phase-ordered magnitudes.
        ghkss_dim, ghkss_manifold_dim, ghkss_neighbours, ghkss_iterations: GHKSS parameters.
        sequence_length: steps of the GRU sequence.
    """

    sanitize: SanitizeConfig = field(default_factory=SanitizeConfig)
    bin_days: float = 0.01
    max_points: int = 1000
    period: PeriodSearchConfig = field(default_factory=PeriodSearchConfig)
    clip_sigma: float = 5.0
    max_clip_fraction: float = 0.1
    ghkss: bool = True
    ghkss_dim: int = 5
    ghkss_manifold_dim: int = 2
    ghkss_neighbours: int = 12
    ghkss_iterations: int = 1
    sequence_length: int = 100

    def to_dict(self) -> dict[str, Any]:
        """Every setting, nested steps as dicts (what a model card records)."""
        return asdict(self)

    @staticmethod
    def from_dict(values: dict[str, Any]) -> PipelineConfig:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValueError: a setting this version does not know, or one it needs is missing (a card
                written by another version of the pipeline: retrain, or use that version).
        """
        return _from_dict(PipelineConfig, values)


def _from_dict(cls: type, values: dict[str, Any]):
    known = {f.name: f for f in fields(cls)}
    unknown, missing = sorted(set(values) - set(known)), sorted(set(known) - set(values))
    if unknown or missing:
        raise ValueError(f"{cls.__name__} settings do not match this version: unknown {unknown}, missing {missing}")
    out = {}
    for name, f in known.items():
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        value = values[name]
        out[name] = _from_dict(type(default), value) if is_dataclass(default) else type(default)(value)
    return cls(**out)


def config_differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """``name: a → b`` for every setting where two configurations (dataclasses) differ."""
    out = []
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if is_dataclass(x):
            out += config_differences(x, y, f"{prefix}{f.name}.")
        elif x != y:
            out.append(f"{prefix}{f.name}: {x!r} → {y!r}")
    return out


@dataclass
class Featurised:
    """Everything the pipeline learned about one curve.

    Attributes:
        object_id: the star.
        label: its catalogue class, if known.
        features: the named, versioned feature vector.
        sequence: the GRU input, ``(sequence_length, 5)`` float32 (see :mod:`sequence`).
        sequence_length: real steps in ``sequence``.
        period: the period search's result (its ``candidates`` are the next ``hint``;
            ``n_frequencies`` is 0 when it was a refinement near a hint).
        distance: the distance used for the absolute magnitude, or None.
        report: points dropped by each cleaning rule.
        n_points: points after cleaning.
        baseline_days: time span of the cleaned curve in days.
        band: photometric band (the reference band of a multi-band curve).
        bands: every band whose points were used (see :func:`~varstream.lightcurve.bands.combine_bands`).
    """

    object_id: str
    label: str | None
    features: FeatureVector
    sequence: np.ndarray
    sequence_length: int
    period: PeriodResult
    distance: Distance | None
    report: CleaningReport
    n_points: int
    baseline_days: float
    band: str
    bands: tuple[str, ...] = ()


def feature_names() -> tuple[str, ...]:
    """Names of the feature vector, in order."""
    return FEATURE_NAMES


def prepare(lc: LightCurve, config: PipelineConfig = PipelineConfig(),
            report: CleaningReport | None = None) -> tuple[LightCurve, CleaningReport]:
    """Steps 0–2: one band, bad points and duplicates dropped, sorted, downsampled — everything
    that needs no period.

    Raises:
        LightCurveError: too few usable points (see :func:`sanitize`).
    """
    report = report or CleaningReport(lc.object_id)
    lc = combine_bands(lc, config.sanitize, config.period)
    dropped_bands = lc.meta.get("excluded_band_points") or 0
    cur, _ = sanitize(lc, config.sanitize, report)
    report.drop("other_band", dropped_bands)
    return downsample(cur, config.bin_days, config.max_points, report), report


def clean_about(cur: LightCurve, period: float, config: PipelineConfig, report: CleaningReport) -> LightCurve:
    """Steps 4–5 on a prepared curve: sigma clipping about the curve folded at ``period`` (days),
    then GHKSS noise reduction of the phase-ordered magnitudes (the observed ones are kept in
    ``aux[OBSERVED_MAGS]``).

    Raises:
        LightCurveError: too few points left after clipping.
    """
    residuals = phase_median_residuals(cur, period)
    cur = clip_outliers(cur, residuals, config.clip_sigma, config.max_clip_fraction, report)
    if len(cur) < config.sanitize.min_points:
        raise LightCurveError(cur.object_id, f"only {len(cur)} points left after sigma clipping "
                                             f"({report.dropped['sigma_clip']} clipped), need at least "
                                             f"{config.sanitize.min_points}")
    if config.ghkss:
        order = np.argsort(phase(cur.times, period), kind="stable")
        smoothed = np.empty_like(cur.mags)
        smoothed[order] = ghkss(cur.mags[order], config.ghkss_dim, config.ghkss_manifold_dim,
                                config.ghkss_neighbours, config.ghkss_iterations, periodic=True)
        cur = cur.with_values(mags=smoothed, aux={**cur.aux, OBSERVED_MAGS: cur.mags})
    return cur


def clean(lc: LightCurve, config: PipelineConfig = PipelineConfig(), report: CleaningReport | None = None,
          hint: tuple[float, ...] | None = None,
          window: tuple[float, ...] = ()) -> tuple[LightCurve, PeriodResult, CleaningReport]:
    """Steps 0–5: :func:`prepare`, the period search (step 3), :func:`clean_about`; returns the
    cleaned curve, its period and the cleaning report. ``hint``: candidate frequencies (c/d) of an
    earlier search, to refine instead of searching the whole grid (with ``window``, that search's
    spectral-window peaks, c/d).

    Raises:
        LightCurveError: too few usable points.
    """
    cur, report = prepare(lc, config, report)
    if hint:
        per = refine_period(cur.object_id, cur.times, cur.mags, cur.errors, hint, config.period, window)
    else:
        per = find_period(cur.object_id, cur.times, cur.mags, cur.errors, config.period)
    return clean_about(cur, per.period, config, report), per, report


def featurise(lc: LightCurve, config: PipelineConfig = PipelineConfig(), distance: Distance | None = None,
              hint: tuple[float, ...] | None = None, window: tuple[float, ...] = ()) -> Featurised:
    """Clean a light curve and compute its features and GRU sequence.

    Args:
        lc: the raw curve (any order, may hold bad points).
        config: pipeline settings.
        distance: the star's distance; by default it is resolved from ``lc.meta`` (catalogue
            distance or Gaia parallax, see :func:`resolve_distance`).
        hint: candidate frequencies (c/d) from an earlier full search of the same star
            (``Featurised.period.candidates``): the period is refined near them instead of searched
            on the whole grid; ``window``: that search's spectral-window peaks
            (``Featurised.period.window``). Offline features never use a hint.

    Raises:
        LightCurveError: the curve is unusable; the message names the star and the reason.
    """
    cur, per, report = clean(lc, config, hint=hint, window=window)
    if distance is None:
        distance = resolve_distance(lc.meta)
    model = folded_model(cur, per.period)
    order = np.argsort(model.phases, kind="stable")
    features = compute_features(FeatureInputs(cur.times, cur.mags, cur.errors, per, model, order, distance,
                                              cur.aux.get(OBSERVED_MAGS, cur.mags)))
    bad = [n for n, v in zip(features.names, features.values) if not np.isfinite(v) and n not in OPTIONAL_NAMES]
    if bad:
        raise LightCurveError(lc.object_id, f"features not finite: {', '.join(bad)}")
    seq, seq_len = phase_sequence(cur.times, cur.mags, cur.errors, per.period, config.sequence_length)
    return Featurised(
        object_id=lc.object_id,
        label=lc.label,
        features=features,
        sequence=seq,
        sequence_length=seq_len,
        period=per,
        distance=distance,
        report=report,
        n_points=len(cur),
        baseline_days=cur.baseline,
        band=cur.band,
        bands=tuple(sorted(cur.meta.get("band_offsets_mag") or {cur.band: 0.0})),
    )
