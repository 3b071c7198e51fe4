"""Check a decoded alert and turn it into observations, or say exactly why it is rejected.

A rejected alert goes whole to the dead-letter topic with a :class:`Rejection` (a machine-readable
code and a message naming the alert and star). Earlier observations attached to an alert
(``prev_sources``) are checked point by point: bad ones are dropped and counted, the rest kept.
The limits are the pipeline's :class:`~varstream.lightcurve.sanitize.SanitizeConfig`, so the
stream accepts exactly the points the offline cleaning would keep.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from varstream.lightcurve.sanitize import SanitizeConfig

#: Bands the shipped models can use (ASAS-SN V and g, Catalina's unfiltered V-calibrated CV) and
#: the other common survey bands, which are accepted and kept but set aside by merge_bands when a
#: star has more points in another band.
KNOWN_BANDS = frozenset({"V", "g", "CV", "r", "i", "z", "y", "u", "B", "R", "I", "G", "o", "c"})
#: Most observations one alert may carry (the new one plus ``prev_sources``).
MAX_SOURCES = 10_000
MAX_ID_LENGTH = 256


@dataclass(frozen=True)
class Rejection:
    """Why an alert cannot be used: ``code`` (e.g. ``bad_error``) and a readable ``reason``."""

    code: str
    reason: str


@dataclass
class ValidAlert:
    """A checked alert: its ids, usable observations ``(mjd, band, mag, mag_err)``, catalogue data,
    and how many attached earlier points were dropped, by reason."""

    alert_id: str
    object_id: str
    sources: list[tuple[float, str, float, float]]
    catalogue: dict[str, float]
    dropped: Counter = field(default_factory=Counter)


def check_source(src: dict, limits: SanitizeConfig) -> Rejection | None:
    """The first problem with one observation, or None if it is usable."""
    mjd, mag, err, band = src.get("mjd"), src.get("mag"), src.get("mag_err"), src.get("band")
    if not isinstance(band, str) or band not in KNOWN_BANDS:
        return Rejection("unknown_band", f"unknown band {band!r} (known: {', '.join(sorted(KNOWN_BANDS))})")
    for name, value in (("mjd", mjd), ("mag", mag), ("mag_err", err)):
        if not isinstance(value, float | int) or not math.isfinite(value):
            return Rejection("nonfinite", f"{name} is {value!r}, not a finite number")
    if err <= 0:
        return Rejection("bad_error", f"mag_err {err} mag is not positive")
    if err > limits.max_error:
        return Rejection("large_error", f"mag_err {err} mag exceeds {limits.max_error} mag "
                                        "(a non-detection or junk photometry)")
    if not limits.min_time <= mjd <= limits.max_time:
        return Rejection("absurd_time", f"mjd {mjd} outside [{limits.min_time}, {limits.max_time}] days")
    if not limits.min_mag <= mag <= limits.max_mag:
        return Rejection("absurd_mag", f"mag {mag} outside [{limits.min_mag}, {limits.max_mag}]")
    return None


def validate_alert(alert: dict, key: bytes | None, limits: SanitizeConfig = SanitizeConfig()) -> ValidAlert | Rejection:
    """Check one decoded alert (see the module notes)."""
    alert_id, object_id = alert.get("alert_id"), alert.get("object_id")
    if not isinstance(object_id, str) or not object_id.strip() or len(object_id) > MAX_ID_LENGTH:
        return Rejection("bad_object_id", f"alert {str(alert_id)[:80]!r}: object_id {str(object_id)[:80]!r} "
                                          f"is empty or longer than {MAX_ID_LENGTH} characters")
    if not isinstance(alert_id, str) or not alert_id or len(alert_id) > MAX_ID_LENGTH:
        return Rejection("bad_alert_id", f"star {object_id}: alert_id is empty or longer than {MAX_ID_LENGTH}")
    where = f"alert {alert_id} of star {object_id}"
    if key is not None and key != object_id.encode():
        return Rejection("key_mismatch", f"{where}: message key {key[:80]!r} is not the object id "
                                         "(alerts must be keyed by object id to keep a star on one partition)")
    prev = alert.get("prev_sources") or []
    if len(prev) + 1 > MAX_SOURCES:
        return Rejection("too_many_sources", f"{where}: {len(prev) + 1} observations, more than {MAX_SOURCES}")
    problem = check_source(alert["source"], limits)
    if problem is not None:
        return Rejection(problem.code, f"{where}: {problem.reason}")
    s = alert["source"]
    sources = [(float(s["mjd"]), s["band"], float(s["mag"]), float(s["mag_err"]))]
    dropped: Counter = Counter()
    for p in prev:
        problem = check_source(p, limits)
        if problem is None:
            sources.append((float(p["mjd"]), p["band"], float(p["mag"]), float(p["mag_err"])))
        else:
            dropped[problem.code] += 1
    cat = alert.get("catalogue") or {}
    catalogue = {k: float(v) for k, v in cat.items() if isinstance(v, float | int) and math.isfinite(v)}
    return ValidAlert(alert_id, object_id, sources, catalogue, dropped)
