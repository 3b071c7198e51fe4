"""Light curves from what users hold: numpy arrays, astropy ``Table``/``TimeSeries``, ``LightCurve``.

:func:`to_lightcurve` turns any of them into a :class:`~varstream.lightcurve.types.LightCurve` the
pipeline reads, and says clearly (a :class:`~varstream.lightcurve.errors.LightCurveError` naming the
star) what it cannot use — it never guesses silently:

- **columns** of a table are found by their usual names, case-insensitively (:data:`TIME_NAMES`,
  :data:`MAG_NAMES`, :data:`ERROR_NAMES`, :data:`BAND_NAMES`; or named explicitly);
- **times** become ``JD − 2400000.5`` days: an astropy ``Time`` column (or a ``TimeSeries``' time)
  by its ``mjd``; a column named ``jd``/``hjd``/``bjd``, or any time column whose values exceed
  2,400,000 (a Julian date), minus 2,400,000.5; anything else is taken as MJD-like days (a constant
  shift does not change a period);
- ``Quantity`` columns are read in days and magnitudes; masked values become NaN, which the
  pipeline drops and counts;
- a **band** is one value or one per point; ZTF's filter ids (``fid`` 1, 2, 3) become g, r, i;
- **difference photometry** (ZTF's ``magpsf``, forced-photometry difference fluxes, a
  ``scienceFlux``-less Rubin ``psfFlux``) is not a light curve of the star and is refused with what
  is needed instead.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from varstream.lightcurve.bands import MIXED_BAND
from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.types import JD_TO_MJD, LightCurve

#: Column names tried for each quantity, in order (compared case-insensitively).
TIME_NAMES = ("mjd", "time", "hjd", "jd", "bjd", "obsmjd", "mjd_obs", "date", "t")
MAG_NAMES = ("mag", "magnitude", "mags", "m", "mag_auto", "flux_mag")
ERROR_NAMES = ("mag_err", "magerr", "e_mag", "err", "error", "mag_error", "emag", "dmag", "sigma", "sigma_mag",
               "magnitude_error")
BAND_NAMES = ("band", "filter", "fid", "passband", "phot_filter", "filtercode", "filtername")
ID_NAMES = ("object_id", "id", "objectid", "name", "source_id", "star", "oid", "star_id")
#: Columns that mark difference photometry (not a light curve of the star).
DIFFERENCE_NAMES = ("magpsf", "sigmapsf", "forcediffimflux", "forcediffimfluxunc", "diffmaglim", "psfflux")
#: Time columns that hold Julian dates by their name.
JULIAN_NAMES = ("jd", "hjd", "bjd")
#: ZTF's filter ids.
ZTF_FIDS = {1: "g", 2: "r", 3: "i"}
#: Band used when the user gives none.
DEFAULT_BAND = "V"


def find_column(names: Sequence[str], candidates: Sequence[str], explicit: str | None = None) -> str | None:
    """The column of ``names`` that is ``explicit`` (exactly, then case-insensitively) or, without
    one, the first of ``candidates`` present (case-insensitively); None if there is none."""
    lower = {n.lower(): n for n in names}
    if explicit is not None:
        return explicit if explicit in names else lower.get(explicit.lower())
    return next((lower[c] for c in candidates if c in lower), None)


def _values(column: Any, unit: str) -> np.ndarray:
    """A column's values as float64: a Quantity (or a column with a unit) in ``unit`` (its bare
    numbers when astropy cannot convert, e.g. AB magnitudes to mag), masked entries as NaN."""
    mask = np.ma.getmaskarray(column) if np.ma.isMaskedArray(column) or hasattr(column, "mask") else None
    quantity = column.quantity if getattr(column, "unit", None) is not None and hasattr(column, "quantity") \
        else column if hasattr(column, "to_value") else None
    if quantity is not None:
        try:
            data = np.asarray(quantity.to_value(unit), dtype=np.float64)
        except Exception:                       # a unit astropy cannot take to ``unit``: its numbers
            data = np.asarray(quantity.value, dtype=np.float64)
    else:
        data = np.ma.filled(np.ma.asarray(column, dtype=np.float64), np.nan)
    data = np.array(data, dtype=np.float64)
    if mask is not None and np.shape(mask) == data.shape:
        data[mask] = np.nan
    return data


def _times(column: Any, name: str | None) -> tuple[np.ndarray, str]:
    """Times in ``JD − 2400000.5`` days and how they were read (``meta["time_system"]``)."""
    if hasattr(column, "mjd") and hasattr(column, "scale"):          # astropy Time
        mjd = np.ma.filled(np.ma.asarray(column.mjd, dtype=np.float64), np.nan)
        return mjd, f"MJD ({column.scale})"
    t = _values(column, "day")
    finite = t[np.isfinite(t)]
    if (name or "").lower() in JULIAN_NAMES or (finite.size and np.median(finite) > 2_400_000):
        return t - JD_TO_MJD, f"{(name or 'JD').upper()} - 2400000.5"
    return t, f"{name or 'time'} as given (days)"


def _bands(band: Any, n: int, object_id: str) -> tuple[str, dict[str, np.ndarray]]:
    """``(LightCurve.band, aux)`` for one band or one per point."""
    if band is None:
        return DEFAULT_BAND, {}
    if isinstance(band, str):
        return band, {}
    values = np.ma.filled(np.ma.asarray(band), "") if np.ma.isMaskedArray(band) else np.asarray(band)
    if values.ndim == 0:
        return _band_name(values.item()), {}
    if values.size != n:
        raise LightCurveError(object_id, f"band has {values.size} values for {n} points")
    names = np.array([_band_name(v) for v in values.tolist()])
    if np.unique(names).size == 1:
        return str(names[0]), {}
    return MIXED_BAND, {"band": names}


def _band_name(value: Any) -> str:
    """A band label: ZTF filter ids as g/r/i, ``ZTF_g``/``zg`` as g, anything else as written."""
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and float(value).is_integer()):
        return ZTF_FIDS.get(int(value), str(int(value)))
    text = str(value).strip()
    if text.upper().startswith("ZTF_"):
        return text[4:]
    if len(text) == 2 and text[0] == "z" and text[1] in "gri":
        return text[1]
    return text or DEFAULT_BAND


def table_lightcurve(table: Any, object_id: str | None = None, band: Any = None,
                     catalogue: Mapping[str, Any] | None = None, time_col: str | None = None,
                     mag_col: str | None = None, err_col: str | None = None, band_col: str | None = None,
                     label: str | None = None) -> LightCurve:
    """A :class:`LightCurve` from an astropy ``Table`` or ``TimeSeries`` (see the module notes);
    ``band`` overrides a band column; ``catalogue`` becomes ``meta`` (distance and parallax keys of
    :func:`~varstream.lightcurve.gaia.resolve_distance`)."""
    oid = object_id or str(getattr(table, "meta", {}).get("object_id", "star"))
    names = list(table.colnames)
    diff = [n for n in names if n.lower() in DIFFERENCE_NAMES]
    if diff and find_column(names, MAG_NAMES, mag_col) is None:
        raise LightCurveError(oid, f"difference photometry ({', '.join(diff)}) is not a light curve of the star: "
                                   "give total magnitudes (a 'mag' column), or add the reference magnitude "
                                   "(ZTF magnr with sigmagnr and isdiffpos) to the difference first")
    tcol = "time" if time_col is None and "time" in names and hasattr(table["time"], "mjd") else \
        find_column(names, TIME_NAMES, time_col)
    mcol = find_column(names, MAG_NAMES, mag_col)
    ecol = find_column(names, ERROR_NAMES, err_col)
    missing = [what for what, col, given in (("time", tcol, time_col), ("magnitude", mcol, mag_col),
                                              ("magnitude error", ecol, err_col)) if col is None]
    if missing:
        raise LightCurveError(oid, f"no {' or '.join(missing)} column among {names} (name it with "
                                   "--time-col/--mag-col/--err-col, or time_col=, mag_col=, err_col=)")
    times, system = _times(table[tcol], tcol)
    bcol = find_column(names, BAND_NAMES, band_col)
    if band_col is not None and bcol is None:
        raise LightCurveError(oid, f"no band column {band_col!r} among {names}")
    per_point = band if band is not None else (table[bcol] if bcol else None)
    return from_arrays(times, _values(table[mcol], "mag"), _values(table[ecol], "mag"), per_point,
                       object_id=oid, catalogue=catalogue, label=label, time_system=system)


def from_arrays(times: Any, mags: Any, errors: Any, band: Any = None, *, object_id: str = "star",
                catalogue: Mapping[str, Any] | None = None, label: str | None = None,
                time_system: str | None = None) -> LightCurve:
    """A :class:`LightCurve` from arrays (times in days — Julian dates are recognised — or an
    astropy ``Time``; magnitudes and errors in mag, Quantities understood)."""
    if time_system is None:
        times, time_system = _times(times, None)
    mags, errors = _values(mags, "mag"), _values(errors, "mag")
    times = np.asarray(times, dtype=np.float64)
    if not (times.ndim == mags.ndim == errors.ndim == 1):
        raise LightCurveError(object_id, "times, magnitudes and errors must be one-dimensional")
    if not (times.size == mags.size == errors.size):
        raise LightCurveError(object_id, f"times, magnitudes and errors differ in length "
                                         f"({times.size}, {mags.size}, {errors.size})")
    name, aux = _bands(band, times.size, object_id)
    meta = {"time_system": time_system, **dict(catalogue or {})}
    return LightCurve(object_id, times, mags, errors, name, label=label, meta=meta, aux=aux)


def to_lightcurve(source: Any, mags: Any = None, errors: Any = None, band: Any = None, *,
                  object_id: str | None = None, catalogue: Mapping[str, Any] | None = None,
                  **columns: str | None) -> LightCurve:
    """Any supported input as a :class:`LightCurve`: a ``LightCurve`` (``catalogue`` merged into its
    meta), an astropy ``Table``/``TimeSeries`` (``columns``: ``time_col``, ``mag_col``, ``err_col``,
    ``band_col``), or arrays ``(times, mags, errors)``.

    Raises:
        LightCurveError: missing columns or values, difference photometry, mismatched lengths.
    """
    if isinstance(source, LightCurve):
        if catalogue:
            source = source.with_values(meta={**source.meta, **catalogue})
        return source
    if hasattr(source, "colnames"):
        return table_lightcurve(source, object_id, band, catalogue, **columns)
    if mags is None or errors is None:
        raise LightCurveError(object_id or "star", "give times, magnitudes and errors (or a table or LightCurve)")
    return from_arrays(source, mags, errors, band, object_id=object_id or "star", catalogue=catalogue)
