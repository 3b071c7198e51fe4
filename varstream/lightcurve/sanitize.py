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


#: Reason codes of :func:`point_problems`, in the order the rules are tried; every caller (the
#: offline cleaning, the band merge, the stream's alert checks and the replay tool) uses these codes.
POINT_RULES = ("nonfinite", "nonpositive_error", "large_error", "absurd_time", "absurd_mag")


def point_problems(times: np.ndarray, mags: np.ndarray, errors: np.ndarray,
                   config: SanitizeConfig = SanitizeConfig()) -> np.ndarray:
    """The first rule each point breaks, as an index into :data:`POINT_RULES` plus one (0: usable).

    The one definition of a usable photometric point (times in days, magnitudes and errors in mag):

    - ``nonfinite``: NaN or infinite time, magnitude or error;
    - ``nonpositive_error``: error <= 0 mag (an error of zero would give infinite weight);
    - ``large_error``: error > ``config.max_error`` mag (a non-detection or junk photometry);
    - ``absurd_time``: time outside ``[config.min_time, config.max_time]`` days;
    - ``absurd_mag``: magnitude outside ``[config.min_mag, config.max_mag]``.
    """
    t, m, e = (np.asarray(a, dtype=np.float64) for a in (times, mags, errors))
    codes = np.zeros(t.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        tests = (~(np.isfinite(t) & np.isfinite(m) & np.isfinite(e)),
                 e <= 0,
                 e > config.max_error,
                 (t < config.min_time) | (t > config.max_time),
                 (m < config.min_mag) | (m > config.max_mag))
    for code, broken in enumerate(tests, start=1):
        codes[(codes == 0) & broken] = code
    return codes


def usable_points(times: np.ndarray, mags: np.ndarray, errors: np.ndarray,
                  config: SanitizeConfig = SanitizeConfig()) -> np.ndarray:
    """Boolean mask of the points that break no rule of :func:`point_problems`."""
    return point_problems(times, mags, errors, config) == 0


def count_problems(codes: np.ndarray) -> Counter:
    """``{rule name: number of points}`` from :func:`point_problems` codes (usable points not counted)."""
    counts = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(POINT_RULES) + 1)
    return Counter({name: int(counts[i + 1]) for i, name in enumerate(POINT_RULES) if counts[i + 1]})


def describe_problem(rule: str, time: float, mag: float, error: float,
                     config: SanitizeConfig = SanitizeConfig()) -> str:
    """A readable reason for one point that breaks ``rule`` (units included)."""
    if rule == "nonfinite":
        bad = [f"{n} is {v!r}" for n, v in (("time", time), ("mag", mag), ("mag_err", error))
               if not np.isfinite(v)]
        return ", ".join(bad) + ", not a finite number"
    if rule == "nonpositive_error":
        return f"mag_err {error} mag is not positive"
    if rule == "large_error":
        return f"mag_err {error} mag exceeds {config.max_error} mag (a non-detection or junk photometry)"
    if rule == "absurd_time":
        return f"time {time} outside [{config.min_time}, {config.max_time}] days"
    if rule == "absurd_mag":
        return f"mag {mag} outside [{config.min_mag}, {config.max_mag}]"
    raise ValueError(f"unknown point rule {rule!r}")


def duplicate_key(mag_err: float, mag: float, band: str = "") -> tuple[float, float, str]:
    """The rule between points at the same time: the smallest key is kept — the smallest error
    (mag), then the smallest magnitude, then the first band name (per-point bands, as the stream
    keeps them). A total order, so the point kept does not depend on the order points arrive in;
    :func:`sanitize` and the stream's per-star state both apply it."""
    return (float(mag_err), float(mag), str(band))


def sanitize(lc: LightCurve, config: SanitizeConfig = SanitizeConfig(),
             report: CleaningReport | None = None) -> tuple[LightCurve, CleaningReport]:
    """Drop bad points, sort by time and remove duplicate timestamps.

    Points that break a rule of :func:`point_problems` are dropped and counted under the rule's
    name; then ``duplicate_time``: of several points at the same time the one with the smallest
    :func:`duplicate_key` is kept, which makes re-sending a point idempotent.
    Unsorted input is sorted (stable), which is not counted as a loss.

    Raises:
        LightCurveError: the curve is empty, or fewer than ``config.min_points`` points remain.
    """
    report = report or CleaningReport(lc.object_id)
    report.n_input = len(lc)
    if len(lc) == 0:
        raise LightCurveError(lc.object_id, "empty light curve")
    t, m, e = lc.times, lc.mags, lc.errors
    codes = point_problems(t, m, e, config)
    for rule, count in count_problems(codes).items():
        report.drop(rule, count)

    idx = np.flatnonzero(codes == 0)
    bands = lc.aux.get("band")
    tie = np.asarray(bands, dtype=str)[idx] if bands is not None else np.zeros(idx.size, dtype="U1")
    # Sort by time, then duplicate_key: the first point of each time is the one to keep.
    order = idx[np.lexsort((tie, m[idx], e[idx], t[idx]))]
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
