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

from varstream.lightcurve.bands import SURVEY_BANDS
from varstream.lightcurve.sanitize import (
    POINT_RULES,
    SanitizeConfig,
    count_problems,
    describe_problem,
    point_problems,
)

#: Bands the stream accepts: :data:`~varstream.lightcurve.bands.SURVEY_BANDS`, those the models were
#: trained on and the other common survey bands, which the pipeline's band rule merges or sets aside.
KNOWN_BANDS = frozenset(SURVEY_BANDS)
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


def _number(value) -> float | None:
    """``value`` as a float if it is a real number (not a bool), else None."""
    if not isinstance(value, float | int) or isinstance(value, bool):
        return None
    return float(value)


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
    points = [alert["source"], *prev]
    bands_ok = np.array([isinstance(p.get("band"), str) and p["band"] in KNOWN_BANDS for p in points])
    if not bands_ok[0]:
        band = alert["source"].get("band")
        return Rejection("unknown_band", f"{where}: unknown band {band!r} (known: {', '.join(sorted(KNOWN_BANDS))})")
    values = [[_number(p.get(k)) for k in ("mjd", "mag", "mag_err")] for p in points]
    for name, value in zip(("mjd", "mag", "mag_err"), values[0]):
        if value is None:
            return Rejection("nonfinite", f"{where}: {name} is {alert['source'].get(name)!r}, not a finite number")
    columns = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=np.float64).T
    codes = point_problems(columns[0], columns[1], columns[2], limits)     # one pass over every point
    if codes[0]:
        rule = POINT_RULES[codes[0] - 1]
        return Rejection(rule, f"{where}: {describe_problem(rule, *values[0], limits)}")
    codes = np.where(bands_ok, codes, 0)
    dropped: Counter = Counter({"unknown_band": int((~bands_ok).sum())})
    dropped.update(count_problems(codes[1:]))
    sources = [(v[0], p["band"], v[1], v[2]) for p, v, ok, code in zip(points, values, bands_ok, codes)
               if ok and code == 0]
    dropped = Counter({k: v for k, v in dropped.items() if v})
    cat = alert.get("catalogue") or {}
    catalogue = {k: float(v) for k, v in cat.items() if isinstance(v, float | int) and math.isfinite(v)}
    return ValidAlert(alert_id, object_id, sources, catalogue, dropped)
