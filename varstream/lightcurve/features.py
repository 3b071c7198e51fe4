"""Named feature extractors and the versioned feature vector.

Each extractor is a small function of the cleaned curve (:class:`FeatureInputs`) that returns its
features as ``(name, value)`` pairs, registered with its names in :data:`EXTRACTORS`; the feature
vector is the extractors' output in that order and :data:`FEATURE_NAMES` is derived from the same
list, so a feature vector always travels with its names and version (the shape of SNAD's
``light-curve`` package). Bump :data:`FEATURE_VERSION` whenever a name, an order or a computation
changes: models record the version they were trained on and refuse another.

Feature groups (all magnitudes in mag, periods in days). Since version 4 the vector keeps only what carries
across surveys: nothing is measured against a survey's quoted errors (their scale differs by an order of
magnitude between surveys: Catalina's overstate the scatter about twofold, ASAS-SN's understate it
about threefold), and amplitudes enter as one logarithm each while every other statistic is a
scale-free ratio or shape:

- ``period``: log10 of the period, the Lomb–Scargle power, the share of the variance the
  winning periodic model explains, the period's significance (``-log10`` of its false-alarm
  probability, capped at :data:`MAX_SIGNIFICANCE`) and log10 of the cycles the curve covers
  (version 6: a Gaia LPV of 600 d over 960 d covers 1.6 — weak evidence, not a veto; see
  :mod:`varstream.lightcurve.period`);
- ``stats``: distribution of the cleaned magnitudes: log10 of the half p5–p95 range, standard
  deviation, MAD and IQR as ratios to it, skewness, kurtosis, share beyond one sigma, von Neumann
  ratio;
- ``timescale`` (version 5): the share of the variance found between points hours apart
  (:func:`short_lag_ratio`), which tells a slow variable from a fast one when sparse sampling
  makes the period search pick an alias (Gaia's long-period variables);
- ``folded``: the SuperSmoother model of the curve folded at the period (log10 amplitude, scatter
  about it over its amplitude, time spent faint, time spent near maximum light, rise time);
- ``fourier``: Fourier decomposition of the folded curve (A1 relative to the folded amplitude, R21,
  R31, phi21 and phi31 as cos/sin pairs), scatter about the fit over A1, the prewhitened second
  period near the first (double-mode RR Lyrae, Blazhko side peaks), amplitude and phase variation
  between time segments (Blazhko, spot evolution), odd harmonics at twice the period (unequal
  minima of eclipsing binaries); see :mod:`varstream.lightcurve.fourier`;
- ``c22time``: catch22 on the time-ordered magnitudes (the reference study's features);
- ``c22phase``: catch22 on the phase-ordered magnitudes, where the shape of a periodic signal lives;
- ``absolute``: absolute magnitude from the Gaia distance, its error and a ``has_distance`` flag.

Apparent mean magnitude, number of points and time span are deliberately *not* features: they
describe the survey and the star's distance, not its class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pycatch22
from astropy.stats import mad_std

from varstream.lightcurve.clean import FoldedModel
from varstream.lightcurve.fourier import fourier_fit, odd_harmonic_fraction, second_period, segment_variation
from varstream.lightcurve.gaia import Distance, absolute_magnitude, intensity_mean_magnitude
from varstream.lightcurve.period import PeriodResult

FEATURE_VERSION = "6"

_C24 = pycatch22.catch22_all([0.0, 1.0, 0.5, 2.0, 1.5, 0.2, 0.9, 1.1, 0.3, 0.7], catch24=True)["names"]
#: catch22 feature names used (catch24 without ``DN_mean``, which is the apparent magnitude).
CATCH22_NAMES: tuple[str, ...] = tuple(n for n in _C24 if n != "DN_mean")

#: Features that may be NaN: they are missing exactly when ``has_distance`` is 0.
OPTIONAL_NAMES = frozenset({"abs_mag", "abs_mag_err"})

_TINY = 1e-6


@dataclass(frozen=True, eq=False)
class FeatureVector:
    """Feature values with their names and the feature version they were computed by."""

    names: tuple[str, ...]
    values: np.ndarray
    version: str = FEATURE_VERSION

    def as_dict(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.values)}

    def __getitem__(self, name: str) -> float:
        return float(self.values[self.names.index(name)])


@dataclass(frozen=True)
class FeatureInputs:
    """What the extractors read: the cleaned curve (times in days, magnitudes and errors in mag),
    its period search, the folded SuperSmoother model, the phase order of the points, the
    distance (None when unknown) and the cleaned magnitudes before noise reduction (GHKSS works
    along the phase, so time-domain statistics read these)."""

    times: np.ndarray
    mags: np.ndarray
    errors: np.ndarray
    period: PeriodResult
    model: FoldedModel
    phase_order: np.ndarray
    distance: Distance | None
    observed_mags: np.ndarray


#: ``period_significance`` is capped here (a false-alarm probability of 1e-50 is certainty).
MAX_SIGNIFICANCE = 50.0


def period_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    result = x.period
    yield "log10_period", np.log10(result.period)
    yield "period_power", result.power
    yield "period_explained", result.explained
    yield "period_significance", min(result.significance, MAX_SIGNIFICANCE)
    yield "log10_cycles", np.log10(max(result.cycles, _TINY))


def _moments(mags: np.ndarray) -> tuple[float, float, float]:
    """Standard deviation (mag), skewness and excess kurtosis (0 for a constant series)."""
    d = mags - mags.mean()
    var = float(np.mean(d**2))
    if var <= _TINY**2:
        return 0.0, 0.0, 0.0
    return var**0.5, float(np.mean(d**3)) / var**1.5, float(np.mean(d**4)) / var**2 - 3.0


def stats_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    mags = x.mags
    p5, p25, p75, p95 = np.percentile(mags, [5, 25, 75, 95])
    amplitude = max(0.5 * float(p95 - p5), _TINY)
    std, skew, kurtosis = _moments(mags)
    yield "log10_amplitude", np.log10(amplitude)
    yield "std_ratio", std / amplitude
    yield "mad_ratio", float(mad_std(mags)) / amplitude
    yield "iqr_ratio", float(p75 - p25) / amplitude
    yield "skew", skew
    yield "kurtosis", kurtosis
    yield "beyond1std", float(np.mean(np.abs(mags - mags.mean()) > std)) if std > _TINY else 0.0
    yield "von_neumann_eta", float(np.mean(np.diff(mags) ** 2) / std**2) if std > _TINY else 0.0


#: Neighbours in time each point is paired with by :func:`short_lag_ratio`.
LAG_NEIGHBOURS = 4
#: Pairs up to this lag (days) — or the shortest fifth of the pairs' lags, if longer — are "short".
SHORT_LAG_DAYS = 1.0
#: Floor of the short-lag ratio (a constant pair of points would give log10 0).
_MIN_LAG_RATIO = 1e-4


def short_lag_ratio(times: np.ndarray, mags: np.ndarray) -> float:
    """How much a star varies on the shortest time scale a survey samples, as a share of all its
    variance: the structure function ``mean((m_j − m_i)²) / (2 var(m))`` over pairs of points at
    most :data:`LAG_NEIGHBOURS` apart in time order whose lag is at most :data:`SHORT_LAG_DAYS`, or
    at most the 20th percentile of those lags when that is longer (a survey without same-night
    visits). Dimensionless: ≈ 1 for white noise or a signal much faster than the lags (delta Scuti
    stars sampled hours apart), ≪ 1 for a slow one (a long-period variable within a night).
    Independent of the period search, so an alias period cannot mislead it; unlike error-based
    statistics it needs no survey's quoted errors. Returns 1.0 for a constant curve.
    """
    n = times.size
    k_max = min(LAG_NEIGHBOURS, n - 1)
    if k_max < 1:
        return 1.0
    lags = np.concatenate([times[k:] - times[:-k] for k in range(1, k_max + 1)])
    diffs = np.concatenate([mags[k:] - mags[:-k] for k in range(1, k_max + 1)])
    short = lags <= max(SHORT_LAG_DAYS, float(np.percentile(lags, 20)))
    var = float(np.var(mags))
    if var <= _TINY**2:
        return 1.0
    return max(float(np.mean(diffs[short] ** 2)) / (2.0 * var), _MIN_LAG_RATIO)


def timescale_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    yield "log10_short_lag_ratio", np.log10(short_lag_ratio(x.times, x.observed_mags))


def folded_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    model = x.model
    amp = model.amplitude
    resid = float(mad_std(model.residuals))
    top, bottom = float(model.values.min()), float(model.values.max())     # brightest, faintest (mag)
    yield "log10_model_amplitude", np.log10(max(amp, _TINY))
    yield "folded_scatter_ratio", resid / max(amp, _TINY)
    yield "folded_faint_fraction", float(np.mean(model.values > 0.5 * (top + bottom))) if amp > _TINY else 0.5
    # time spent near maximum light: large for a detached binary's flat out-of-eclipse light
    yield "folded_bright_fraction", float(np.mean(model.values < top + 0.1 * amp)) if amp > _TINY else 0.5
    bright = model.grid[int(np.argmin(model.values))]   # maximum light (smallest magnitude)
    faint = model.grid[int(np.argmax(model.values))]    # minimum light
    yield "folded_rise_fraction", float(np.mod(bright - faint, 1.0)) if amp > _TINY else 0.5


def fourier_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    times, mags, errors, period = x.times, x.mags, x.errors, x.period.period
    fit = fourier_fit(times, mags, errors, period, harmonics=4)
    a1 = float(fit.amplitudes[0])
    phi21, phi31 = fit.phase_difference(2), fit.phase_difference(3)
    yield "fourier_a1_ratio", 2.0 * a1 / max(x.model.amplitude, _TINY)
    yield "fourier_r21", fit.ratio(2)
    yield "fourier_r31", fit.ratio(3)
    yield "fourier_phi21_cos", float(np.cos(phi21))
    yield "fourier_phi21_sin", float(np.sin(phi21))
    yield "fourier_phi31_cos", float(np.cos(phi31))
    yield "fourier_phi31_sin", float(np.sin(phi31))
    yield "fourier_residual_ratio", float(np.std(fit.residuals)) / max(a1, _TINY)
    second = second_period(times, fit.residuals, errors, period)
    yield "log10_period2_ratio", float(np.log10(second.period / period))
    yield "period2_power", second.power
    yield "blazhko_power", second.near_power
    variation = segment_variation(times, mags, errors, period)
    yield "amplitude_variation", variation.amplitude
    yield "phase_variation", variation.phase
    yield "odd_harmonic_fraction", odd_harmonic_fraction(times, mags, errors, period)


def _catch22(prefix: str, series: np.ndarray) -> Iterable[tuple[str, float]]:
    out = pycatch22.catch22_all(series.tolist(), catch24=True)
    values = dict(zip(out["names"], out["values"]))
    for name in CATCH22_NAMES:
        yield f"{prefix}_{name}", float(values[name])


def catch22_time_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    return _catch22("c22time", x.mags)


def catch22_phase_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    return _catch22("c22phase", x.mags[x.phase_order])


def absolute_features(x: FeatureInputs) -> Iterable[tuple[str, float]]:
    mags, errors, distance = x.mags, x.errors, x.distance
    if distance is None:
        yield "abs_mag", float("nan")
        yield "abs_mag_err", float("nan")
        yield "has_distance", 0.0
        return
    mean_mag, mean_err = intensity_mean_magnitude(mags, errors)
    m_abs, m_err = absolute_magnitude(mean_mag, mean_err, distance)
    yield "abs_mag", m_abs
    yield "abs_mag_err", m_err
    yield "has_distance", 1.0


@dataclass(frozen=True)
class Extractor:
    """One named group of features: its names, in order, and the function that computes them."""

    group: str
    names: tuple[str, ...]
    compute: Callable[[FeatureInputs], Iterable[tuple[str, float]]]


#: The feature vector: these extractors' outputs, in this order.
EXTRACTORS: tuple[Extractor, ...] = (
    Extractor("period", ("log10_period", "period_power", "period_explained", "period_significance", "log10_cycles"),
              period_features),
    Extractor("stats", ("log10_amplitude", "std_ratio", "mad_ratio", "iqr_ratio", "skew", "kurtosis", "beyond1std",
                        "von_neumann_eta"), stats_features),
    Extractor("timescale", ("log10_short_lag_ratio",), timescale_features),
    Extractor("folded", ("log10_model_amplitude", "folded_scatter_ratio", "folded_faint_fraction",
                         "folded_bright_fraction", "folded_rise_fraction"), folded_features),
    Extractor("fourier", ("fourier_a1_ratio", "fourier_r21", "fourier_r31", "fourier_phi21_cos", "fourier_phi21_sin",
                          "fourier_phi31_cos", "fourier_phi31_sin", "fourier_residual_ratio", "log10_period2_ratio",
                          "period2_power", "blazhko_power", "amplitude_variation", "phase_variation",
                          "odd_harmonic_fraction"), fourier_features),
    Extractor("c22time", tuple(f"c22time_{n}" for n in CATCH22_NAMES), catch22_time_features),
    Extractor("c22phase", tuple(f"c22phase_{n}" for n in CATCH22_NAMES), catch22_phase_features),
    Extractor("absolute", ("abs_mag", "abs_mag_err", "has_distance"), absolute_features),
)
FEATURE_NAMES: tuple[str, ...] = tuple(n for e in EXTRACTORS for n in e.names)


def compute_features(x: FeatureInputs) -> FeatureVector:
    """Run every extractor in order; the names are checked against each extractor's declaration.

    Raises:
        RuntimeError: an extractor returned names other than it declares (a programming error).
    """
    values: list[float] = []
    for extractor in EXTRACTORS:
        pairs = list(extractor.compute(x))
        if tuple(n for n, _ in pairs) != extractor.names:
            raise RuntimeError(f"feature extractor {extractor.group} returned names out of order")
        values += [float(v) for _, v in pairs]
    return FeatureVector(FEATURE_NAMES, np.array(values, dtype=np.float64), FEATURE_VERSION)
