"""Deterministic handling of bad input points.

Every rule either drops points and counts them in a :class:`CleaningReport`, or raises
:class:`~varstream.lightcurve.errors.LightCurveError` naming the star and the reason. Nothing is
dropped silently and nothing but ``LightCurveError`` is raised.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.types import LightCurve


@dataclass
class CleaningReport:
    """How many points each cleaning rule removed or changed, by rule name."""

    object_id: str
    n_input: int = 0
    dropped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def drop(self, reason: str, count: int) -> None:
        """Record ``count`` points removed for ``reason`` (zero counts are not recorded)."""
        if count:
            self.dropped[reason] += int(count)

    @property
    def n_dropped(self) -> int:
        return int(sum(self.dropped.values()))


@dataclass(frozen=True)
class SanitizeConfig:
    """Limits of :func:`sanitize`.

    Attributes:
        max_error: largest accepted magnitude error (mag); larger ones are non-detections or
            junk photometry in every survey we read (Sky Patrol writes 99.99 for upper limits).
        min_time: earliest accepted time in days (``JD - 2400000.5``); 0 is 1858-11-17, before
            any CCD survey, so smaller values are broken timestamps.
        max_time: latest accepted time in days (MJD 100000 is the year 2132).
        min_mag: brightest accepted magnitude (the Sun is -26.7 mag).
        max_mag: faintest accepted magnitude (no survey reaches 40 mag).
        min_points: fewest valid points a curve needs to be featurised.
    """

    max_error: float = 1.0
    min_time: float = 0.0
    max_time: float = 100_000.0
    min_mag: float = -30.0
    max_mag: float = 40.0
    min_points: int = 10


def sanitize(lc: LightCurve, config: SanitizeConfig = SanitizeConfig(),
             report: CleaningReport | None = None) -> tuple[LightCurve, CleaningReport]:
    """Drop bad points, sort by time and remove duplicate timestamps.

    Rules, in order (each counted under its name in the report):

    - ``nonfinite``: NaN or infinite time, magnitude or error;
    - ``nonpositive_error``: error <= 0 mag (an error of zero would give infinite weight);
    - ``large_error``: error > ``config.max_error`` mag;
    - ``absurd_time``: time outside ``[config.min_time, config.max_time]`` days;
    - ``absurd_mag``: magnitude outside ``[config.min_mag, config.max_mag]``;
    - ``duplicate_time``: several points at the same time; the one with the smallest error is
      kept (ties: the smallest magnitude), which makes re-sending a point idempotent.

    Unsorted input is sorted (stable), which is not counted as a loss.

    Raises:
        LightCurveError: the curve is empty, or fewer than ``config.min_points`` points remain.
    """
    report = report or CleaningReport(lc.object_id)
    report.n_input = len(lc)
    if len(lc) == 0:
        raise LightCurveError(lc.object_id, "empty light curve")
    t, m, e = lc.times, lc.mags, lc.errors

    finite = np.isfinite(t) & np.isfinite(m) & np.isfinite(e)
    report.drop("nonfinite", int((~finite).sum()))
    keep = finite
    with np.errstate(invalid="ignore"):
        nonpos = keep & (e <= 0)
        report.drop("nonpositive_error", int(nonpos.sum()))
        keep = keep & ~nonpos
        large = keep & (e > config.max_error)
        report.drop("large_error", int(large.sum()))
        keep = keep & ~large
        absurd = keep & ((t < config.min_time) | (t > config.max_time))
        report.drop("absurd_time", int(absurd.sum()))
        keep = keep & ~absurd
        absurd = keep & ((m < config.min_mag) | (m > config.max_mag))
        report.drop("absurd_mag", int(absurd.sum()))
        keep = keep & ~absurd

    idx = np.flatnonzero(keep)
    # Sort by (time, error, magnitude): the first point of each time is the one to keep.
    order = idx[np.lexsort((m[idx], e[idx], t[idx]))]
    if order.size > 1 and np.any(np.diff(t[idx]) < 0):
        report.notes.append("input was not sorted by time")
    ts = t[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = ts[1:] != ts[:-1]
    report.drop("duplicate_time", int((~first).sum()))
    order = order[first]

    if order.size < config.min_points:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.dropped.items())) or "none dropped"
        raise LightCurveError(
            lc.object_id,
            f"only {order.size} valid points, need at least {config.min_points} ({reasons})",
        )
    return lc.select(order), report


def single_band(object_id: str, bands: np.ndarray, policy: str = "dominant") -> tuple[str, np.ndarray, int]:
    """Choose one band from per-point band labels (a band change mid-curve).

    Args:
        object_id: the star, for the error message.
        bands: per-point band names.
        policy: ``"dominant"`` keeps the band with the most points (ties: alphabetical order);
            ``"strict"`` raises if more than one band is present.

    Returns:
        ``(band, mask of kept points, number of points dropped)``.

    Raises:
        LightCurveError: no points, an unknown policy, or several bands under ``"strict"``.
    """
    bands = np.asarray(bands).astype(str)
    if bands.size == 0:
        raise LightCurveError(object_id, "empty light curve")
    counts = Counter(bands.tolist())
    if policy == "strict" and len(counts) > 1:
        listing = ", ".join(f"{b} ({n} points)" for b, n in sorted(counts.items()))
        raise LightCurveError(object_id, f"band changes mid-curve: {listing}")
    if policy not in ("strict", "dominant"):
        raise LightCurveError(object_id, f"unknown band policy {policy!r}")
    band = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    mask = bands == band
    return band, mask, int((~mask).sum())
