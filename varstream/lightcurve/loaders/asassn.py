"""ASAS-SN: the variable-star catalogue (VizieR II/366, optionally cross-matched to Gaia DR3) and
Sky Patrol light curves.

Two light-curve formats are read:

- the 3-column form ``time,mag,mag_err`` (time is HJD);
- the full Sky Patrol export ``jd,flux,flux_err,mag,mag_err,limit,fwhm,cam,asas_sn_id`` (optionally
  ``phot_filter``), preceded by a ``#`` header line of JSON-like ``"key":value`` pairs.

ASAS-SN observed in V until late 2018 and in g since (new g-band units from late 2017; the original
units switched filters around JD 2458450). The two bands differ by 0.1–1.2 mag for the same star,
so merging them silently corrupts every feature. Without a filter column, :func:`separate_eras`
labels each point: before :data:`G_START_JD` V, after :data:`V_END_JD` g, and in between (both
bands interleaved) by which of two magnitude levels the point sits on; points whose band cannot be
told are dropped and counted.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from varstream.lightcurve.bands import MIXED_BAND
from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.loaders.archive import count_members, iter_members
from varstream.lightcurve.loaders.text import parse_columns
from varstream.lightcurve.taxonomy import normalise_label
from varstream.lightcurve.types import JD_TO_MJD, LightCurve

log = logging.getLogger(__name__)

CATALOGUE = "catalogue_gaia_dr3.csv"
ARCHIVE = "skypatrol_lightcurves.tar.gz"
#: First g-band data (new units, late 2017), JD.
G_START_JD = 2458000.0
#: Last V-band data (original units switched to g around Dec 2018), JD.
V_END_JD = 2458460.0
#: ``merged``: both eras, each point's band in ``aux["band"]`` (the pipeline's
#: :func:`~varstream.lightcurve.bands.combine_bands` puts both on one scale); ``g`` or ``V``: one era only.
ERAS = ("merged", "g", "V")


def asassn_id_from_filename(name: str) -> str:
    """``J000022_54_590559_3`` → ``J000022.54+590559.3`` (``_`` between RA and Dec means ``+``)."""
    stem = Path(name).stem
    m = re.fullmatch(r"J(\d{6})_(\d{2})([_-])(\d{6})_(\d)", stem)
    if not m:
        raise ValueError(f"not an ASAS-SN Sky Patrol light-curve name: {name!r}")
    sign = "+" if m.group(3) == "_" else "-"
    return f"J{m.group(1)}.{m.group(2)}{sign}{m.group(4)}.{m.group(5)}"


# ---------------------------------------------------------------- catalogue

_META_COLUMNS = {
    # our meta key: (catalogue columns tried in order: cross-matched file, raw VizieR II/366)
    "ra_deg": ("asassn_ra", "RAJ2000", "ra"),
    "dec_deg": ("asassn_dec", "DEJ2000", "dec"),
    "catalogue_period_days": ("asassn_period_asassn", "Per", "period"),
    "catalogue_amplitude_mag": ("asassn_amplitude_asassn", "Amp", "amplitude"),
    "catalogue_mag": ("asassn_asassn_mag", "Vmag", "mean_vmag"),
    "distance_pc": ("asassn_Dist", "Dist"),
    "parallax_mas": ("gaia_parallax", "asassn_Plx", "Plx"),
    "parallax_error_mas": ("gaia_parallax_error", "asassn_e_Plx", "e_Plx"),
    "ruwe": ("gaia_ruwe",),
    "gaia_source_id": ("gaia_source_id", "asassn_GaiaDR3", "GaiaDR3"),
    "gaia_bp_rp": ("gaia_bp_rp",),
    "gaia_ag_gspphot": ("gaia_ag_gspphot",),
}
_ID_COLUMNS = ("asassn_asassn_id", "ASASSN-V", "asassn_name", "ID")
_CLASS_COLUMNS = ("asassn_class", "Type", "variable_type", "Class")


@dataclass(frozen=True)
class AsassnEntry:
    """One catalogue row: ``asassn_id`` (``J…`` name), its class and star-level metadata."""

    asassn_id: str
    asassn_class: str | None
    meta: dict[str, Any]

    @property
    def label(self) -> str:
        """The class as the models see it (:func:`~varstream.lightcurve.taxonomy.normalise_label`)."""
        return normalise_label(self.asassn_class)


def _first(row: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = row.get(name)
        if value is not None and value.strip() != "":
            return value.strip()
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except ValueError:
        return None
    return out if np.isfinite(out) else None


def read_catalogue(path: str | Path) -> dict[str, AsassnEntry]:
    """The catalogue keyed by ASAS-SN name (``J000022.54+590559.3``, without the ``ASASSN-V`` prefix).

    Reads the cross-matched columns of ``catalogue_gaia_dr3.csv`` or the raw VizieR II/366 columns.
    """
    entries: dict[str, AsassnEntry] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            raw_id = _first(row, _ID_COLUMNS)
            if raw_id is None:
                continue
            asassn_id = raw_id.replace("ASASSN-V", "").strip()
            meta: dict[str, Any] = {}
            for key, columns in _META_COLUMNS.items():
                value = _first(row, columns)
                if key == "gaia_source_id":
                    if value is not None:
                        meta[key] = value
                    continue
                number = _number(value)
                if number is not None:
                    meta[key] = number
            entries[asassn_id] = AsassnEntry(asassn_id, _first(row, _CLASS_COLUMNS), meta)
    return entries


# ---------------------------------------------------------------- V/g eras

@dataclass(frozen=True)
class EraSplit:
    """Per-point band labels (``"V"``, ``"g"`` or ``""`` for undecidable), the g − V level difference
    (mag) used to tell the bands apart in the overlap (not applied to the magnitudes: the pipeline's
    :func:`~varstream.lightcurve.bands.combine_bands` fits the offsets) and the undecidable points."""

    bands: np.ndarray
    offset_mag: float | None
    n_ambiguous: int


def _two_level_fit(t: np.ndarray, m: np.ndarray, delta: float, half_window: float) -> tuple[np.ndarray, float]:
    """Per-point local lower level ``L`` (points sit at ``L`` or ``L + delta``) and the total L1 cost.

    For each point, ``L`` minimises ``sum_j min(|m_j - L|, |m_j - L - delta|)`` over the points
    within ``half_window`` days; candidates are the window's own values and values minus ``delta``.
    """
    lo = np.searchsorted(t, t - half_window, side="left")
    hi = np.searchsorted(t, t + half_window, side="right")
    levels = np.empty(t.size)
    total = 0.0
    for i, (a, b) in enumerate(zip(lo, hi)):
        w = m[a:b]
        cand = np.concatenate([w, w - delta])
        diff = w[None, :] - cand[:, None]                      # signed: point minus candidate level
        cost = np.minimum(np.abs(diff), np.abs(diff - delta)).sum(axis=1)
        j = int(np.argmin(cost))
        levels[i] = cand[j]
        total += min(abs(m[i] - cand[j]), abs(m[i] - cand[j] - delta))
    return levels, total


def separate_eras(jd: np.ndarray, mag: np.ndarray, g_start_jd: float = G_START_JD,
                  v_end_jd: float = V_END_JD) -> EraSplit:
    """Label each point of a merged V+g ASAS-SN curve with its band.

    Points before ``g_start_jd`` are V, after ``v_end_jd`` g. In the overlap both bands are
    interleaved: every ±15-day window holds points at a local V level ``L`` and at ``L + delta``
    (delta = g − V). The sign of delta is taken from the eras either side (median of the first 100
    g-era points minus the last 100 V-era points); its size is the value in 0.05–2.0 mag that fits
    the overlap best (least total absolute deviation); the local levels are smoothed over ±45 days
    and each point goes to the nearer level.
    If the two levels are not well separated (delta < 4× the night-to-night scatter in the
    single-band eras, or either band
    holds under 10 % of the overlap points) the overlap points are undecidable (band ``""``) and
    the caller drops them.

    Args:
        jd: times (JD or HJD), any order.
        mag: magnitudes.
    """
    jd = np.asarray(jd, dtype=np.float64)
    mag = np.asarray(mag, dtype=np.float64)
    bands = np.full(jd.size, "", dtype="<U1")
    bands[jd < g_start_jd] = "V"
    bands[jd > v_end_jd] = "g"
    overlap = np.flatnonzero((jd >= g_start_jd) & (jd <= v_end_jd))
    v_idx = np.flatnonzero(bands == "V")
    g_idx = np.flatnonzero(bands == "g")
    offset = None
    if v_idx.size and g_idx.size:
        v_last = v_idx[np.argsort(jd[v_idx])][-100:]
        g_first = g_idx[np.argsort(jd[g_idx])][:100]
        offset = float(np.median(mag[g_first]) - np.median(mag[v_last]))
    if overlap.size == 0:
        return EraSplit(bands, offset, 0)
    if v_idx.size == 0 or g_idx.size == 0:
        # only one era around the overlap: the overlap points belong to it
        bands[overlap] = "g" if v_idx.size == 0 else "V"
        return EraSplit(bands, offset, 0)

    order = overlap[np.argsort(jd[overlap])]
    t, m = jd[order], mag[order]
    sign = 1.0 if offset >= 0 else -1.0
    best = None
    for size in np.arange(0.05, 2.0001, 0.025):
        levels, cost = _two_level_fit(t, m, sign * size, 15.0)
        if best is None or cost < best[2]:
            best = (sign * size, levels, cost)
    delta, levels, _ = best
    # The V level is continuous in time: a window that happens to hold one band only fits its
    # level to that band; a wider running median of the levels overrules such windows.
    lo = np.searchsorted(t, t - 45.0, side="left")
    hi = np.searchsorted(t, t + 45.0, side="right")
    levels = np.array([np.median(levels[a:b]) for a, b in zip(lo, hi)])
    upper = np.abs(m - levels - delta) < np.abs(m - levels)      # on the L + delta level
    # Night-to-night scatter in the single-band eras (noise plus fast intrinsic variation): two
    # free levels fit anything, so the split is trusted only if delta stands well above it.
    era_scatter = []
    for idx in (v_idx, g_idx):
        if idx.size > 10:
            step = np.diff(mag[idx[np.argsort(jd[idx])]])
            era_scatter.append(1.4826 * float(np.median(np.abs(step))) / np.sqrt(2.0))
    scatter = max(era_scatter) if era_scatter else np.inf
    frac = float(upper.mean())
    if not (0.1 <= frac <= 0.9 and abs(delta) > 4.0 * scatter):
        return EraSplit(bands, offset, int(overlap.size))
    bands[order[upper]] = "g"
    bands[order[~upper]] = "V"
    offset = float(np.median(m[upper] - levels[upper]))
    return EraSplit(bands, offset, 0)


# ---------------------------------------------------------------- light curves

def _parse_header(line: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in re.findall(r'"([^"]+)"\s*:\s*("[^"]*"|[^,]+)', line):
        value = value.strip()
        out[key] = value.strip('"') if value.startswith('"') else _number(value)
    return out


def read_skypatrol(object_id: str, data: bytes, era: str = "merged",
                   entry: AsassnEntry | None = None) -> LightCurve:
    """A Sky Patrol CSV (3-column or full export) as one single-band :class:`LightCurve`.

    Args:
        object_id: the star's name (ASAS-SN ``J…`` name or Sky Patrol id).
        data: the file's bytes.
        era: ``"g"`` or ``"V"`` keep that band only; ``"merged"`` keeps both, each point's band in
            ``aux["band"]`` (``LightCurve.band`` is ``"mixed"``): the pipeline shifts the V points
            and the g points onto one scale with :func:`~varstream.lightcurve.bands.combine_bands`, the rule the
            stream applies to the bands its alerts carry, which keeps the full time span for the
            period search.
        entry: the star's catalogue row (label and metadata), if known.

    Times become ``JD - 2400000.5`` (``meta["time_system"] = "HJD-2400000.5"``). Non-detections
    (upper limits, ``mag_err`` 99.99) are left for :func:`sanitize` to drop as ``large_error``.

    Raises:
        LightCurveError: unknown era, missing columns, or no rows.
    """
    if era not in ERAS:
        raise LightCurveError(object_id, f"unknown era {era!r}; expected one of {ERAS}")
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    header: dict[str, Any] = {}
    while lines and lines[0].startswith("#"):
        header.update(_parse_header(lines.pop(0)))
    if not lines:
        raise LightCurveError(object_id, "Sky Patrol file has no rows")
    columns = [c.strip() for c in lines[0].split(",")]
    body = "\n".join(lines[1:]).encode()
    time_col = "time" if "time" in columns else "jd" if "jd" in columns else None
    if time_col is None or "mag" not in columns or "mag_err" not in columns:
        raise LightCurveError(object_id, f"Sky Patrol file lacks time/jd, mag or mag_err columns: {columns}")
    aux: dict[str, np.ndarray] = {}
    numeric = [c for c in columns if c not in ("cam", "camera", "phot_filter", "asas_sn_id", "image_id", "quality")]
    if numeric == columns:
        table, bad = parse_columns(body, len(columns), delimiter=b",")
        jd, mag, err = (table[:, columns.index(c)] for c in (time_col, "mag", "mag_err"))
        filters = None
    else:
        rows = list(csv.reader(io.StringIO(body.decode())))
        good = [r for r in rows if len(r) == len(columns)]
        bad = len(rows) - len(good)

        def col(name: str) -> np.ndarray:
            vals = [r[columns.index(name)] for r in good]
            return np.array([_number(v) if _number(v) is not None else np.nan for v in vals])

        jd, mag, err = col(time_col), col("mag"), col("mag_err")
        cam_col = "cam" if "cam" in columns else "camera" if "camera" in columns else None
        if cam_col:
            aux["camera"] = np.array([r[columns.index(cam_col)] for r in good])
        filters = np.array([r[columns.index("phot_filter")] for r in good]) if "phot_filter" in columns else None
    meta: dict[str, Any] = {"survey": "ASAS-SN Sky Patrol", "time_system": "HJD-2400000.5", "bad_lines": bad}
    meta.update({f"skypatrol_{k}": v for k, v in header.items()})
    label = None
    if entry is not None:
        meta.update(entry.meta)
        meta["catalogue_class"] = entry.asassn_class
        label = entry.label or None

    if filters is not None:
        bands = np.where(np.char.upper(filters.astype(str)) == "V", "V", "g")
        v, g = bands == "V", bands == "g"
        split = EraSplit(bands, None, 0)
    else:
        split = separate_eras(jd, mag)
    meta["era_ambiguous_points"] = split.n_ambiguous
    meta["era"] = era
    if era == "merged":
        keep = split.bands != ""
        meta["era_dropped_points"] = int((~keep).sum())
        aux["band"] = split.bands
        return LightCurve(object_id, jd[keep] - JD_TO_MJD, mag[keep], err[keep], MIXED_BAND, label=label,
                          meta=meta, aux={k: v[keep] for k, v in aux.items()})
    keep = split.bands == era
    meta["era_dropped_points"] = int((~keep).sum())
    return LightCurve(object_id, jd[keep] - JD_TO_MJD, mag[keep], err[keep], era, label=label, meta=meta,
                      aux={k: v[keep] for k, v in aux.items()})


def _member_id(name: str) -> str:
    try:
        return asassn_id_from_filename(name)
    except ValueError:
        return Path(name).stem


def _export_id(data: bytes, path: Path) -> str:
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    header = _parse_header(first) if first.startswith("#") else {}
    return str(header.get("name") or header.get("asas_sn_id") or path.stem)


def catalogue_path(directory: str | Path) -> Path:
    """The catalogue of an ASAS-SN-style directory: ``catalogue_gaia_dr3.csv``, else the first
    ``catalogue*.csv`` (e.g. a VizieR download)."""
    directory = Path(directory)
    path = directory / CATALOGUE
    if not path.exists():
        found = sorted(directory.glob("catalogue*.csv"))
        path = found[0] if found else path
    return path


def count_lightcurves(directory: str | Path) -> int:
    """How many curves :func:`iter_lightcurves` yields (archive members are listed, not read)."""
    directory = Path(directory)
    archive = directory / ARCHIVE
    return len(list(directory.glob("skypatrol_*.csv"))) + (count_members(archive, ".csv") if archive.exists() else 0)


def iter_lightcurves(directory: str | Path, limit: int | None = None, era: str = "merged",
                     include_exports: bool = True, ids: Iterable[str] | None = None) -> Iterator[LightCurve]:
    """Stream the light curves of an ASAS-SN-style dataset directory.

    The directory holds ``catalogue_gaia_dr3.csv`` (or any II/366-style ``catalogue*.csv``) and
    ``skypatrol_lightcurves.tar.gz`` (``lightcurves/J….csv``); loose ``skypatrol_*.csv`` full
    exports beside them are read too when ``include_exports``. ``ids``: only these stars (the
    others are skipped unread).
    """
    directory = Path(directory)
    cat_path = catalogue_path(directory)
    catalogue = read_catalogue(cat_path) if cat_path.exists() else {}
    wanted = set(ids) if ids is not None else None
    count = 0
    archive = directory / ARCHIVE
    if archive.exists():
        for object_id, data in iter_members(archive, ".csv", wanted, _member_id):
            yield read_skypatrol(object_id, data, era, catalogue.get(object_id))
            count += 1
            if limit is not None and count >= limit:
                return
    if include_exports:
        for path in sorted(directory.glob("skypatrol_*.csv")):
            data = path.read_bytes()
            object_id = _export_id(data, path)
            if wanted is not None and object_id not in wanted:
                continue
            yield read_skypatrol(object_id, data, era, catalogue.get(object_id))
            count += 1
            if limit is not None and count >= limit:
                return
