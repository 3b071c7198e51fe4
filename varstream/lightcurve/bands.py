"""One curve from every band a star was observed in: per-band offsets fitted with a shared period model.

A survey's alerts carry each observation's band (ZTF g/r/i, Rubin ugrizy; ASAS-SN changed from V to
g in 2018, 0.1–1.2 mag apart for the same star), kept per point in ``aux["band"]``. The models read
one curve, so :func:`combine_bands` — the pipeline's first step, offline and in the stream alike —
brings every band onto one scale with one rule for any set of bands:

1. a band with fewer than :data:`MIN_BAND_POINTS` usable points is set aside (its level cannot be
   fitted) and counted in ``meta["excluded_band_points"]``;
2. the multi-band periodogram — one sinusoid shared by all bands plus a mean per band (VanderPlas &
   Ivezić 2015; :func:`~varstream.lightcurve.periodogram.multiband_lomb_scargle`) — on the period
   search's coarse grid gives :data:`OFFSET_CANDIDATES` peaks;
3. at each peak (the best one then polished by a bounded search within one grid step), a Fourier series of :data:`OFFSET_HARMONICS` harmonics shared by all bands plus one
   constant per band is fitted by weighted least squares (points more than :data:`CLIP_SIGMA`
   robust standard deviations off the fit are left out of a second fit); the constants of the best
   fit are the band levels, so a band observed only near maximum light is not mistaken for a
   brighter band;
4. each band's amplitude relative to the shared shape is its points' regression on that shape
   (where measured to :data:`MIN_AMPLITUDE_SNR` standard errors; else 1), alternated
   :data:`AMPLITUDE_ITERATIONS` times with the fit of the shape to every band scaled by its amplitude;
5. every band is brought onto the reference band — the first of :data:`REFERENCE_ORDER` present
   (V-like bands first: the training survey's band): its level moved to the reference's level and
   its variation about it (and its errors) scaled by the reference's amplitude over its own. The
   offsets of the levels are recorded in ``meta["band_offsets_mag"]`` (mag between each band's
   level and the reference's), the scales in ``meta["band_amplitude_scales"]``.

The period search that follows (:mod:`~varstream.lightcurve.period`) then sees every usable point of
every band. A single-band curve, or one without ``aux["band"]``, passes unchanged.

What the features then assume: one light-curve shape in every band, at the reference band's
amplitude. Amplitudes do differ by band, physically and by class — pulsators are smaller in redder
bands (RR Lyrae ``A_r/A_g ≈ 0.75``, Sesar et al. 2010), a Mira's far more so, eclipses are nearly
achromatic — and step 5 takes that difference out (where it is measured well; otherwise it stays
as extra scatter about the folded shape), so the shape features read one band's shape, as they do
for a single-band survey. The ratios themselves (``meta["band_amplitude_scales"]``) are not
features; nor are the differences of shape between bands (phase shifts, the sharper maxima of
pulsators in blue bands). The survey emulation's multi-band surveys (:mod:`varstream.offline.emulate`)
draw band-dependent amplitudes, so the models see what this step leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from varstream.lightcurve.period import PeriodSearchConfig, frequency_grid
from varstream.lightcurve.periodogram import multiband_lomb_scargle
from varstream.lightcurve.sanitize import SanitizeConfig, usable_points
from varstream.lightcurve.types import LightCurve

#: ``LightCurve.band`` of a curve whose points carry their own band in ``aux["band"]``.
MIXED_BAND = "mixed"
#: Photometric bands a per-point band label may take: those the models were trained on (Catalina's
#: V-calibrated V, ASAS-SN's V and g) and the other common survey bands (Gaia G, ZTF g/r/i, Rubin
#: ugrizy, ATLAS c/o, Johnson-Cousins BVRI, unfiltered CV). The order is fixed: the stream's local
#: store writes a band as its index here.
SURVEY_BANDS = ("B", "CV", "G", "I", "R", "V", "c", "g", "i", "o", "r", "u", "y", "z")
#: Which band's scale a combined curve takes (the first present; others after, alphabetically):
#: nearest the models' training band (Catalina's V-calibrated CV) first.
REFERENCE_ORDER = ("V", "CV", "g", "G", "c", "r", "R", "o", "B", "i", "I", "u", "z", "y")
#: Fewest usable points of a band for its level to be fitted.
MIN_BAND_POINTS = 3
#: Periodogram peaks at which the shared model is fitted.
OFFSET_CANDIDATES = 5
#: Harmonics of the shared Fourier series.
OFFSET_HARMONICS = 3
#: Points further than this many robust standard deviations from the first fit are left out of the second.
CLIP_SIGMA = 5.0
#: A band's amplitude relative to the shared shape is used only when measured this many standard
#: errors from zero ...
MIN_AMPLITUDE_SNR = 10.0
#: ... and kept within this range (a band whose variation is 4× weaker is more likely badly sampled).
AMPLITUDE_RANGE = (0.25, 4.0)
#: Rounds of alternating fits of the shared shape (each band's variation scaled by its amplitude)
#: and of the amplitudes (given the shape).
AMPLITUDE_ITERATIONS = 3


def reference_band(bands: set[str] | list[str]) -> str:
    """The band whose scale a combined curve takes (see :data:`REFERENCE_ORDER`)."""
    rank = {b: i for i, b in enumerate(REFERENCE_ORDER)}
    return min(bands, key=lambda b: (rank.get(b, len(REFERENCE_ORDER)), b))


def _shared_model(t: np.ndarray, index: np.ndarray, n_bands: int, f: float, harmonics: int) -> np.ndarray:
    """Design matrix ``(n, n_bands + 2 harmonics)``: one indicator column per band, then the
    shared Fourier terms at ``f`` (c/d; none for ``f = 0``)."""
    columns = np.zeros((t.size, n_bands))
    columns[np.arange(t.size), index] = 1.0
    if f <= 0 or harmonics <= 0:
        return columns
    arg = 2.0 * np.pi * np.mod(t * f, 1.0)[:, None] * np.arange(1, harmonics + 1)[None, :]
    return np.hstack([columns, np.sin(arg), np.cos(arg)])


def _robust_fit(design: np.ndarray, y: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted least squares, refitted once without the points beyond :data:`CLIP_SIGMA` robust
    standard deviations; returns the coefficients and the truncated χ² over all points."""
    def solve(keep: np.ndarray) -> np.ndarray:
        a = design[keep] / dy[keep, None]
        return np.linalg.lstsq(a, y[keep] / dy[keep], rcond=None)[0]

    keep = np.ones(y.size, dtype=bool)
    coef = solve(keep)
    r = (y - design @ coef) / dy
    scale = 1.4826 * float(np.median(np.abs(r)))
    limit = CLIP_SIGMA * scale if scale > 0 else np.inf
    inliers = np.abs(r) <= limit
    if not inliers.all() and inliers.sum() > design.shape[1]:
        coef = solve(inliers)
        r = (y - design @ coef) / dy
    return coef, float(np.sum(np.minimum(r**2, limit**2)))


@dataclass(frozen=True)
class BandFit:
    """What :func:`band_levels` found: each band's level (mag), its amplitude relative to the
    shared shape (1.0 where it cannot be measured, see :data:`MIN_AMPLITUDE_SNR`), and the shape's
    frequency (c/d; 0.0 when no shape fits better than the levels alone)."""

    levels: dict[str, float]
    amplitudes: dict[str, float]
    frequency: float


def _amplitudes(shape: np.ndarray, resid: np.ndarray, dy: np.ndarray, index: np.ndarray,
                labels: np.ndarray) -> dict[str, float]:
    """Each band's amplitude relative to the shared shape: the weighted regression of its
    points' offsets from their level on the shape, where significant and plausible."""
    out = {}
    for i, b in enumerate(labels):
        sel = index == i
        w = 1.0 / dy[sel] ** 2
        ss = float(np.sum(w * shape[sel] ** 2))
        a = float(np.sum(w * shape[sel] * resid[sel]) / ss) if ss > 0 else 1.0
        significant = ss > 0 and a * np.sqrt(ss) >= MIN_AMPLITUDE_SNR
        out[str(b)] = float(np.clip(a, *AMPLITUDE_RANGE)) if significant else 1.0
    return out


def band_levels(t: np.ndarray, y: np.ndarray, dy: np.ndarray, bands: np.ndarray,
                config: PeriodSearchConfig = PeriodSearchConfig()) -> BandFit:
    """Each band's level (mag) and amplitude under one periodic shape shared by all bands (steps
    2–3 of the module notes), and that shape's frequency (c/d). Times in days; ``bands``: one label
    per point, at least two distinct."""
    labels, index = np.unique(np.asarray(bands).astype(str), return_inverse=True)
    t = t - float(np.min(t))
    span = float(np.max(t))
    n_params = labels.size
    harmonics = int(min(OFFSET_HARMONICS, max(0, (t.size - n_params - 2) // 2)))
    freqs, df = [0.0], 0.0
    if span > 0 and harmonics > 0:
        fmin, _, df, n = frequency_grid(span, config)
        power = multiband_lomb_scargle(t, y, dy, labels[index], fmin, df, n)
        inner = np.flatnonzero((power[1:-1] >= power[:-2]) & (power[1:-1] >= power[2:])) + 1
        top = inner[np.argsort(power[inner])[::-1][:OFFSET_CANDIDATES]]
        freqs += [fmin + df * float(i) for i in top]
    best: tuple[float, np.ndarray, float] | None = None
    for f in freqs:
        coef, chi2 = _robust_fit(_shared_model(t, index, labels.size, f, harmonics), y, dy)
        if best is None or chi2 < best[0]:
            best = (chi2, coef, f)
    _, coef, f = best
    amplitudes = {str(b): 1.0 for b in labels}
    if f > 0:
        # the coarse grid's step leaves the fold drifting over the span: polish the peak first
        polished = minimize_scalar(lambda x: _robust_fit(_shared_model(t, index, labels.size, x, harmonics), y, dy)[1],
                                   bounds=(f - df, f + df), method="bounded", options={"xatol": df * 1e-3})
        if polished.success and polished.fun < best[0]:
            f = float(polished.x)
        design = _shared_model(t, index, labels.size, f, harmonics)
        coef, _ = _robust_fit(design, y, dy)
        for _ in range(AMPLITUDE_ITERATIONS):
            shape = design[:, labels.size:] @ coef[labels.size:]
            amplitudes = _amplitudes(shape, y - coef[index], dy, index, labels)
            scale = np.array([amplitudes[str(b)] for b in labels])[index]
            scaled = np.hstack([design[:, : labels.size], design[:, labels.size:] * scale[:, None]])
            coef, _ = _robust_fit(scaled, y, dy)
        amplitudes = _amplitudes(design[:, labels.size:] @ coef[labels.size:], y - coef[index], dy, index, labels)
    return BandFit({str(b): float(c) for b, c in zip(labels, coef[: labels.size])}, amplitudes, float(f))


def combine_bands(lc: LightCurve, sanitize: SanitizeConfig = SanitizeConfig(),
                  period: PeriodSearchConfig = PeriodSearchConfig()) -> LightCurve:
    """One curve on the reference band's scale from ``lc``'s per-point ``aux["band"]`` (see the
    module notes); ``lc`` itself when it has no band labels.

    The levels are fitted on the points :func:`~varstream.lightcurve.sanitize.sanitize` would keep,
    so bad points cannot move them; bad points of kept bands stay for ``sanitize`` to drop and
    count. ``meta["band_offsets_mag"]``: the offset added to each kept band (0 for the reference);
    ``meta["excluded_band_points"]``: points of the bands set aside.
    """
    if "band" not in lc.aux:
        return lc
    bands = np.asarray(lc.aux["band"]).astype(str)
    aux = {k: v for k, v in lc.aux.items() if k != "band"}
    meta = dict(lc.meta)
    good = usable_points(lc.times, lc.mags, lc.errors, sanitize)
    labels, counts = np.unique(bands[good], return_counts=True)
    kept = {str(b) for b, c in zip(labels, counts) if c >= MIN_BAND_POINTS}
    if not kept and labels.size:
        kept = {str(labels[np.argmax(counts)])}          # too few points anywhere: the largest band
    if not kept:
        kept = {str(b) for b in np.unique(bands)[:1]}    # no usable point at all: sanitize will say so
    keep = np.isin(bands, sorted(kept))
    ref = reference_band(kept) if kept else MIXED_BAND
    offsets = {b: 0.0 for b in kept}
    scales = {b: 1.0 for b in kept}
    mags, errors = lc.mags, lc.errors
    if len(kept) > 1:
        use = good & keep
        fit = band_levels(lc.times[use], lc.mags[use], lc.errors[use], bands[use], period)
        scales = {b: fit.amplitudes[ref] / fit.amplitudes[b] for b in sorted(kept)}
        level, scale = np.zeros(len(lc)), np.ones(len(lc))
        for b in kept:
            level[bands == b], scale[bands == b] = fit.levels[b], scales[b]
        mags = fit.levels[ref] + (lc.mags - level) * scale
        errors = lc.errors * scale
        offsets = {b: fit.levels[ref] - fit.levels[b] for b in sorted(kept)}
    meta["band_offsets_mag"] = offsets
    meta["band_amplitude_scales"] = scales
    meta["excluded_band_points"] = int((~keep).sum())
    out = LightCurve(lc.object_id, lc.times, mags, errors, ref, lc.label, meta, aux)
    return out if keep.all() else out.select(keep)
