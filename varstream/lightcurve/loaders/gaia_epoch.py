"""Gaia DR3 epoch photometry (G band) of variable stars, labelled by family only.

Layout of a Gaia-style dataset directory:

- ``catalogue.csv``: ``source_id, family, gaia_best_class, class_score, n_points, span_days``;
  ``family`` is one of RR, CEP, DSCT, ECL, LPV (Gaia DR3's own variability classification, machine
  labels; see :data:`~varstream.lightcurve.taxonomy.FAMILIES`);
- ``lightcurves.tar.gz``: ``lightcurves/<source_id>.csv`` with the header ``mjd,mag,mag_err``, sorted
  by time; ``mjd`` is Gaia's barycentric time converted to MJD (BJD − 2455197.5 + 55197).

A star's label is its family: the set has no finer classes, so it is scored at family level.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from varstream.lightcurve.loaders.archive import count_members, iter_members
from varstream.lightcurve.loaders.text import parse_columns
from varstream.lightcurve.taxonomy import normalise_label
from varstream.lightcurve.types import LightCurve

CATALOGUE = "catalogue.csv"
ARCHIVE = "lightcurves.tar.gz"
GAIA_BAND = "G"


@dataclass(frozen=True)
class GaiaEntry:
    """One catalogue row: the family label, Gaia's own class and its score."""

    source_id: str
    family: str
    gaia_class: str
    class_score: float | None


def read_catalogue(path: str | Path) -> dict[str, GaiaEntry]:
    """The catalogue keyed by ``source_id`` (as a string, the light-curve file stem)."""
    entries = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sid = (row.get("source_id") or "").strip()
            if not sid:
                continue
            try:
                score = float(row.get("class_score") or "nan")
            except ValueError:
                score = None
            entries[sid] = GaiaEntry(sid, normalise_label(row.get("family")), (row.get("gaia_best_class") or "").strip(),
                                     score)
    return entries


def lightcurve_from_csv(object_id: str, data: bytes, entry: GaiaEntry | None = None) -> LightCurve:
    """One ``<source_id>.csv`` file's bytes as a :class:`LightCurve` (times MJD, G magnitudes)."""
    lines = data.split(b"\n", 1)
    body = lines[1] if lines and lines[0].strip().lower().startswith(b"mjd") and len(lines) > 1 else data
    table, bad = parse_columns(body, 3, delimiter=b",")
    meta = {"survey": "Gaia DR3 epoch photometry", "time_system": "MJD (barycentric)", "bad_lines": bad}
    label = None
    if entry is not None:
        label = entry.family or None
        meta.update(gaia_source_id=entry.source_id, gaia_class=entry.gaia_class, gaia_class_score=entry.class_score)
    return LightCurve(object_id, table[:, 0], table[:, 1], table[:, 2], GAIA_BAND, label=label, meta=meta)


def count_lightcurves(directory: str | Path) -> int:
    """How many curves :func:`iter_lightcurves` yields (archive members are listed, not parsed)."""
    return count_members(Path(directory) / ARCHIVE, ".csv")


def iter_lightcurves(directory: str | Path, limit: int | None = None,
                     ids: Iterable[str] | None = None) -> Iterator[LightCurve]:
    """Stream the light curves of a Gaia-style dataset directory (``ids``: only these stars)."""
    directory = Path(directory)
    catalogue = read_catalogue(directory / CATALOGUE)
    for count, (object_id, data) in enumerate(iter_members(directory / ARCHIVE, ".csv", ids), start=1):
        yield lightcurve_from_csv(object_id, data, catalogue.get(object_id))
        if limit is not None and count >= limit:
            return
