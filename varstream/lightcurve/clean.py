"""Cleaning steps: downsampling, phase folding, the SuperSmoother model and sigma clipping.

Each step is a plain function of a :class:`LightCurve`; :mod:`varstream.lightcurve.pipeline`
composes them. Steps that remove points record how many in a :class:`CleaningReport`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.stats import mad_std, sigma_clip
from scipy.ndimage import median_filter
from supersmoother import SuperSmoother

from varstream.lightcurve.sanitize import CleaningReport
from varstream.lightcurve.types import LightCurve


def downsample(lc: LightCurve, bin_days: float = 0.01, max_points: int = 1000,
               report: CleaningReport | None = None) -> LightCurve:
    """Bin an over-sampled curve, then thin it evenly if it is still too long.

    Curves with at most ``max_points`` points are returned unchanged: binning smears short
    periods (a delta Scuti star of 0.07 d changes noticeably within 30 minutes), so it is only
    applied where the number of points, and with it the cost of every later step, must be bounded.

    Binning groups points on a fixed grid of ``bin_days`` days (default 0.01 d = 14.4 min, the
    span of an ASAS-SN dither sequence) and replaces each group by its inverse-variance weighted
    mean: ``m = sum(w m) / sum(w)``, ``sigma = 1 / sqrt(sum(w))`` with ``w = 1 / sigma_i**2``; the
    time is the plain mean of the group's times (days). If more than ``max_points`` bins remain,
    ``max_points`` of them are kept at evenly spaced indices (deterministic).

    Args:
        lc: a sanitized curve (sorted, finite, positive errors).
        bin_days: bin width in days.
        max_points: the length above which the curve is reduced.
        report: where the counts of ``binned`` and ``thinned`` points are added.
    """
    n = len(lc)
    if n <= max_points:
        return lc
    t, m, e = lc.times, lc.mags, lc.errors
    keys = np.floor((t - t[0]) / bin_days).astype(np.int64)
    _, group = np.unique(keys, return_inverse=True)
    w = 1.0 / e**2
    sw = np.bincount(group, weights=w)
    mags = np.bincount(group, weights=w * m) / sw
    errs = 1.0 / np.sqrt(sw)
    times = np.bincount(group, weights=t) / np.bincount(group)
    if report is not None:
        report.drop("binned", n - times.size)
    if times.size > max_points:
        keep = np.unique(np.round(np.linspace(0, times.size - 1, max_points)).astype(np.int64))
        if report is not None:
            report.drop("thinned", times.size - keep.size)
        times, mags, errs = times[keep], mags[keep], errs[keep]
    # aux columns have no meaning after binning and are dropped
    return lc.with_values(times=times, mags=mags, errors=errs, aux={})


def phase(times: np.ndarray, period: float, epoch: float | None = None) -> np.ndarray:
    """Phase in [0, 1) of each time (days) for a period (days) and epoch (days; default first time)."""
    t0 = times[0] if epoch is None else epoch
    return np.mod((times - t0) / period, 1.0)


@dataclass(frozen=True)
class FoldedModel:
    """A SuperSmoother fit of a phase-folded curve.

    Attributes:
        period: folding period in days.
        grid: phases in [0, 1) where the model is tabulated.
        values: model magnitudes on ``grid``.
        residuals: observed minus model magnitude for every point of the curve that was fitted.
        phases: the phase of every fitted point.
    """

    period: float
    grid: np.ndarray
    values: np.ndarray
    residuals: np.ndarray
    phases: np.ndarray

    @property
    def amplitude(self) -> float:
        """Peak-to-peak amplitude of the smooth model, in magnitudes."""
        return float(self.values.max() - self.values.min())


def folded_model(lc: LightCurve, period: float, grid_points: int = 100) -> FoldedModel:
    """Fit Friedman's SuperSmoother (periodic, adaptive span) to the curve folded at ``period`` days.

    Points that fold onto the same phase (e.g. times on a regular grid folded at a commensurate
    period) are merged into their inverse-variance weighted mean first, since the smoother needs
    distinct abscissae. With fewer than 5 distinct phases the model is the flat weighted mean.
    """
    ph = phase(lc.times, period)
    w = 1.0 / lc.errors**2
    uniq, inverse = np.unique(np.round(ph, 12), return_inverse=True)
    sw = np.bincount(inverse, weights=w)
    mags = np.bincount(inverse, weights=w * lc.mags) / sw
    grid = np.linspace(0.0, 1.0, grid_points, endpoint=False)
    if uniq.size < 5:
        flat = float(np.sum(w * lc.mags) / np.sum(w))
        values = np.full(grid_points, flat)
        fitted = np.full(ph.size, flat)
    else:
        try:
            smoother = SuperSmoother(period=1.0)
            smoother.fit(uniq, mags, 1.0 / np.sqrt(sw), presorted=True)
            values = np.asarray(smoother.predict(grid), dtype=np.float64)
            fitted = np.asarray(smoother.predict(uniq), dtype=np.float64)[inverse]
        except ValueError:
            # SuperSmoother's smallest span (5 % of the points) can hold a single phase for
            # few, clustered points; a 5-point circular running median is the fallback.
            smooth = median_filter(mags, size=5, mode="wrap")
            values = np.interp(grid, uniq, smooth, period=1.0)
            fitted = smooth[inverse]
    return FoldedModel(period=period, grid=grid, values=values, residuals=lc.mags - fitted, phases=ph)


def phase_median_residuals(lc: LightCurve, period: float, window: int = 3) -> np.ndarray:
    """Residuals (mag) from a running median of the curve folded at ``period`` days.

    The magnitudes are ordered by phase and passed through a circular median filter of ``window``
    points (scipy.ndimage). A median filter keeps step edges — the ingress and egress of an
    eclipse — while an isolated outlier never becomes the median of its neighbourhood, so the
    residuals single out bad points without eating real sharp features. This is the reference for
    sigma clipping; features use the SuperSmoother model of the cleaned curve.
    """
    order = np.argsort(phase(lc.times, period), kind="stable")
    smooth = np.empty_like(lc.mags)
    smooth[order] = median_filter(lc.mags[order], size=min(window, len(lc)), mode="wrap")
    return lc.mags - smooth


def clip_outliers(lc: LightCurve, residuals: np.ndarray, sigma: float = 5.0, max_fraction: float = 0.1,
                  report: CleaningReport | None = None) -> LightCurve:
    """Sigma-clip points whose residual from a model is extreme (astropy ``sigma_clip``).

    The scale is the MAD-based standard deviation of the residuals (mag), floored at the median
    photometric error: residuals from a running median that includes the point itself scatter
    less than the noise (about 0.6 sigma), and without the floor ordinary 3-sigma noise is clipped. Clipping is
    iterated up to 3 times around the median residual. If it would remove more than
    ``max_fraction`` of the points the model itself is wrong (e.g. the eclipses of a detached
    binary folded at a wrong period) and nothing is clipped; the report notes it.

    Args:
        lc: the curve.
        residuals: observed minus model magnitude for each point (mag).
        sigma: clipping threshold in units of the scale.
        max_fraction: largest fraction of points that may be removed.
        report: where ``sigma_clip`` counts are added.
    """
    floor = float(np.median(lc.errors))

    def scale(values: np.ndarray, axis: int | None = None) -> np.ndarray:
        return np.maximum(mad_std(values, axis=axis), floor)

    mask = np.asarray(sigma_clip(residuals, sigma=sigma, maxiters=3, cenfunc="median", stdfunc=scale,
                                 masked=True).mask, dtype=bool)
    n_out = int(mask.sum())
    if n_out == 0:
        return lc
    if n_out > max_fraction * len(lc):
        if report is not None:
            report.notes.append(f"sigma clipping skipped: {n_out} of {len(lc)} points beyond {sigma} sigma")
        return lc
    if report is not None:
        report.drop("sigma_clip", n_out)
    return lc.select(~mask)
