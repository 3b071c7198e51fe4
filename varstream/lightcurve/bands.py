"""Turn a curve whose points carry their own band (``aux["band"]``) into a single-band curve.

The models read one band. A survey alert stream sends every observation with its band, and
ASAS-SN changed filter from V to g in 2018 with 0.1–1.2 mag offsets between the two, so both the
offline loaders and the stream call :func:`merge_bands` on the same per-point labels — one rule,
so training and serving cannot drift:

- V and g together (ASAS-SN's two eras): the V points are shifted onto the g scale by the g − V
  offset from :func:`band_offset` and the curve becomes band ``g``;
- one band: kept as it is;
- anything else: the band with the most points is kept (ties: alphabetical), the others are
  dropped and counted in ``meta["excluded_band_points"]``.
"""

from __future__ import annotations

import numpy as np

from varstream.lightcurve.sanitize import SanitizeConfig, single_band, usable_points
from varstream.lightcurve.types import LightCurve

#: Bands whose points are merged onto :data:`REFERENCE_BAND` by an offset.
MERGEABLE_BANDS = ("V", "g")
REFERENCE_BAND = "g"
#: ``LightCurve.band`` of a curve whose points carry their own band in ``aux["band"]``.
MIXED_BAND = "mixed"
#: Photometric bands a per-point band label may take: those the models were trained on (Catalina's
#: V-calibrated V, ASAS-SN's V and g) and the other common survey bands (Gaia G, ZTF g/r/i, Rubin
#: ugrizy, ATLAS c/o, Johnson-Cousins BVRI, unfiltered CV). The order is fixed: the stream's local
#: store writes a band as its index here.
SURVEY_BANDS = ("B", "CV", "G", "I", "R", "V", "c", "g", "i", "o", "r", "u", "y", "z")
#: Half-width (days) of the window in which g and V points are paired to measure the offset.
PAIR_WINDOW_DAYS = 10.0
#: Fewest g points with V neighbours for the paired estimate; otherwise the era medians are used.
MIN_PAIRS = 10
#: Points of each era used by the fallback estimate (last V points, first g points).
ERA_POINTS = 100


def band_offset(t_ref: np.ndarray, m_ref: np.ndarray, t_other: np.ndarray, m_other: np.ndarray,
                window_days: float = PAIR_WINDOW_DAYS, min_pairs: int = MIN_PAIRS) -> float:
    """The magnitude offset ``ref − other`` (mag) between two bands of one star.

    Where the bands overlap in time, every reference point within ``window_days`` days of
    points in the other band is compared with the median of those points, and the offset is
    the median of these differences (local in time, so a slow variable's trend cancels). With
    fewer than ``min_pairs`` such points, the offset is the median of the first
    :data:`ERA_POINTS` reference points minus the median of the last ``ERA_POINTS`` other points.
    Both arrays of times are in days; returns 0.0 if either band is empty.
    """
    if t_ref.size == 0 or t_other.size == 0:
        return 0.0
    order = np.argsort(t_other, kind="stable")
    t_o, m_o = t_other[order], m_other[order]
    lo = np.searchsorted(t_o, t_ref - window_days, side="left")
    hi = np.searchsorted(t_o, t_ref + window_days, side="right")
    paired = np.flatnonzero(hi > lo)
    if paired.size >= min_pairs:
        diffs = np.array([m_ref[i] - np.median(m_o[lo[i]:hi[i]]) for i in paired])
        return float(np.median(diffs))
    first_ref = m_ref[np.argsort(t_ref, kind="stable")[:ERA_POINTS]]
    return float(np.median(first_ref) - np.median(m_o[-ERA_POINTS:]))


def merge_bands(lc: LightCurve, config: SanitizeConfig = SanitizeConfig()) -> LightCurve:
    """A single-band copy of ``lc`` from its per-point ``aux["band"]`` labels (see the module notes).

    A curve without ``aux["band"]`` is returned unchanged. The offset is measured on the points
    that :func:`~varstream.lightcurve.sanitize.sanitize` would keep, so bad points cannot move it;
    it is recorded in ``meta["era_offset_mag"]`` (None when no shift was applied).
    """
    if "band" not in lc.aux:
        return lc
    bands = np.asarray(lc.aux["band"]).astype(str)
    aux = {k: v for k, v in lc.aux.items() if k != "band"}
    meta = dict(lc.meta)
    present = set(bands.tolist())
    if len(present) == 0:
        return LightCurve(lc.object_id, lc.times, lc.mags, lc.errors, lc.band, lc.label, meta, aux)
    if present == set(MERGEABLE_BANDS):
        good = usable_points(lc.times, lc.mags, lc.errors, config)
        ref = good & (bands == REFERENCE_BAND)
        other = good & (bands != REFERENCE_BAND)
        offset = band_offset(lc.times[ref], lc.mags[ref], lc.times[other], lc.mags[other])
        mags = np.where(bands == REFERENCE_BAND, lc.mags, lc.mags + offset)
        meta["era_offset_mag"] = offset
        meta["excluded_band_points"] = 0
        return LightCurve(lc.object_id, lc.times, mags, lc.errors, REFERENCE_BAND, lc.label, meta, aux)
    band, keep, dropped = single_band(lc.object_id, bands, "dominant")
    meta.setdefault("era_offset_mag", None)
    meta["excluded_band_points"] = dropped
    out = LightCurve(lc.object_id, lc.times, lc.mags, lc.errors, band, lc.label, meta, aux)
    return out.select(keep) if dropped else out
