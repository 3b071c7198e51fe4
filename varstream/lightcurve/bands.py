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
3. at each peak, a Fourier series of :data:`OFFSET_HARMONICS` harmonics shared by all bands plus one
   constant per band is fitted by weighted least squares (points more than :data:`CLIP_SIGMA`
   robust standard deviations off the fit are left out of a second fit); the constants of the best
   fit are the band levels, so a band observed only near maximum light is not mistaken for a
   brighter band;
4. every band is shifted onto the reference band — the first of :data:`REFERENCE_ORDER` present
   (V-like bands first: the training survey's band) — and the offsets are recorded in
   ``meta["band_offsets_mag"]`` (mag added to each band's points).

The period search that follows (:mod:`~varstream.lightcurve.period`) then sees every usable point of
every band. A single-band curve, or one without ``aux["band"]``, passes unchanged.

What the features then assume: one light-curve shape with one amplitude in every band. Amplitudes
do differ by band — pulsators are smaller in redder bands (RR Lyrae ``A_r/A_g ≈ 0.7``, Sesar et
al. 2010), eclipses are nearly achromatic — so in a multi-band curve that difference stays as extra
scatter about the folded shape; the models learn it from the survey emulation's multi-band surveys
(:mod:`varstream.offline.emulate`), which draw band-dependent amplitudes. Amplitude ratios between
bands are not features.
"""

from __future__ import annotations

import numpy as np

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


def band_levels(t: np.ndarray, y: np.ndarray, dy: np.ndarray, bands: np.ndarray,
                config: PeriodSearchConfig = PeriodSearchConfig()) -> tuple[dict[str, float], float]:
    """The level (mag) of each band under one periodic shape shared by all bands (steps 2–3 of the
    module notes), and the frequency (c/d) of that shape (0.0 when none fits better than the levels
    alone). Times in days; ``bands``: one label per point, at least two distinct."""
    labels, index = np.unique(np.asarray(bands).astype(str), return_inverse=True)
    t = t - float(np.min(t))
    span = float(np.max(t))
    n_params = labels.size
    harmonics = int(min(OFFSET_HARMONICS, max(0, (t.size - n_params - 2) // 2)))
    freqs = [0.0]
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
    return {str(b): float(c) for b, c in zip(labels, coef[: labels.size])}, float(f)


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
    mags = lc.mags
    if len(kept) > 1:
        use = good & keep
        levels, _ = band_levels(lc.times[use], lc.mags[use], lc.errors[use], bands[use], period)
        offsets = {b: levels[ref] - levels[b] for b in sorted(kept)}
        shift = np.zeros(len(lc))
        for b, offset in offsets.items():
            shift[bands == b] = offset
        mags = lc.mags + shift
    meta["band_offsets_mag"] = offsets
    meta["excluded_band_points"] = int((~keep).sum())
    out = LightCurve(lc.object_id, lc.times, mags, lc.errors, ref, lc.label, meta, aux)
    return out if keep.all() else out.select(keep)
