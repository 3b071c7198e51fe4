"""Check a decoded alert and turn it into observations, or say exactly why it is rejected.

A rejected alert goes whole to the dead-letter topic with a :class:`Rejection` (a machine-readable
code and a message naming the alert and star; the photometric codes are
:data:`~varstream.lightcurve.sanitize.POINT_RULES`). Earlier observations attached to an alert
(``prev_sources``) are checked point by point: bad ones are dropped and counted, the rest kept.
The limits are the pipeline's :class:`~varstream.lightcurve.sanitize.SanitizeConfig`, so the
stream accepts exactly the points the offline cleaning would keep.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from varstream.lightcurve.sanitize import (
    POINT_RULES,
    SanitizeConfig,
    count_problems,
    describe_problem,
    point_problems,
)
from varstream.stream.state import BANDS

#: Bands the stream accepts (:data:`varstream.stream.state.BANDS`): those the models were trained
#: on (Catalina's V-calibrated V, ASAS-SN's V and g) and the other common survey bands, which are
#: kept and merged or set aside by the pipeline's band rule.
KNOWN_BANDS = frozenset(BANDS)
#: Most observations one alert may carry (the new one plus ``prev_sources``).
MAX_SOURCES = 10_000
MAX_ID_LENGTH = 256


@dataclass(frozen=True)
class Rejection:
    """Why an alert cannot be used: ``code`` (e.g. ``nonpositive_error``) and a readable ``reason``."""

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
    """The first problem with one observation, or None if it is usable.

    The photometric rules and their codes are the pipeline's own
    (:func:`~varstream.lightcurve.sanitize.point_problems`); only the band check is the stream's.
    """
    mjd, mag, err, band = src.get("mjd"), src.get("mag"), src.get("mag_err"), src.get("band")
    if not isinstance(band, str) or band not in KNOWN_BANDS:
        return Rejection("unknown_band", f"unknown band {band!r} (known: {', '.join(sorted(KNOWN_BANDS))})")
    values = []
    for name, value in (("mjd", mjd), ("mag", mag), ("mag_err", err)):
        if not isinstance(value, float | int) or isinstance(value, bool):
            return Rejection("nonfinite", f"{name} is {value!r}, not a finite number")
        values.append(float(value))
    code = int(point_problems(*(np.array([v]) for v in values), limits)[0])
    if code == 0:
        return None
    rule = POINT_RULES[code - 1]
    return Rejection(rule, describe_problem(rule, *values, limits))


#: Every rejection code of :func:`validate_alert` besides the photometric ones (POINT_RULES).
REJECTION_CODES = ("bad_object_id", "bad_alert_id", "missing_key", "key_mismatch", "too_many_sources", "unknown_band")


def validate_alert(alert: dict, key: bytes | None, limits: SanitizeConfig = SanitizeConfig()) -> ValidAlert | Rejection:
    """Check one decoded alert (see the module notes)."""
    alert_id, object_id = alert.get("alert_id"), alert.get("object_id")
    if not isinstance(object_id, str) or not object_id.strip() or len(object_id) > MAX_ID_LENGTH:
        return Rejection("bad_object_id", f"alert {str(alert_id)[:80]!r}: object_id {str(object_id)[:80]!r} "
                                          f"is empty or longer than {MAX_ID_LENGTH} characters")
    if not isinstance(alert_id, str) or not alert_id or len(alert_id) > MAX_ID_LENGTH:
        return Rejection("bad_alert_id", f"star {object_id}: alert_id is empty or longer than {MAX_ID_LENGTH}")
    where = f"alert {alert_id} of star {object_id}"
    if key is None:
        return Rejection("missing_key", f"{where}: the message has no key; alerts must be keyed by object id, "
                                        "or the broker spreads one star over several partitions and splits its state")
    if key != object_id.encode():
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
    if prev:
        bands_ok = np.array([isinstance(p.get("band"), str) and p["band"] in KNOWN_BANDS for p in prev])
        dropped["unknown_band"] = int((~bands_ok).sum())
        kept = [p for p, ok in zip(prev, bands_ok) if ok]
        columns = [np.array([p[k] for p in kept], dtype=np.float64) for k in ("mjd", "mag", "mag_err")]
        codes = point_problems(*columns, limits)
        dropped.update(count_problems(codes))
        sources += [(float(p["mjd"]), p["band"], float(p["mag"]), float(p["mag_err"]))
                    for p, code in zip(kept, codes) if code == 0]
    dropped = Counter({k: v for k, v in dropped.items() if v})
    cat = alert.get("catalogue") or {}
    catalogue = {k: float(v) for k, v in cat.items() if isinstance(v, float | int) and math.isfinite(v)}
    return ValidAlert(alert_id, object_id, sources, catalogue, dropped)
