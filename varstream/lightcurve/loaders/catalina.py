"""Catalina Sky Survey (Siding Spring Survey) periodic variables: catalogue and light curves.

Layout of a Catalina-style dataset directory (Drake et al. 2017, as redistributed by ICVaS):

- ``catalogue.txt``: ``SSS_name ID RA_deg Dec_deg period_days Vmag n_obs amplitude_mag type [names…]``
- ``lightcurves.tar.gz``: ``lightcurves/<ID>.dat`` with columns ``MJD V_mag mag_err``, unsorted.

The archive is read in place, streaming, without unpacking to disk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from varstream.lightcurve.loaders.archive import count_members, iter_members
from varstream.lightcurve.loaders.text import parse_columns
from varstream.lightcurve.taxonomy import catalina_class
from varstream.lightcurve.types import LightCurve

log = logging.getLogger(__name__)

CATALOGUE = "catalogue.txt"
ARCHIVE = "lightcurves.tar.gz"
#: Catalina SSS is unfiltered and calibrated to Johnson V.
CATALINA_BAND = "V"


@dataclass(frozen=True)
class CatalinaEntry:
    """One catalogue line: coordinates in degrees, period in days, magnitudes in mag."""

    sss_name: str
    object_id: str
    ra_deg: float
    dec_deg: float
    period_days: float
    mean_mag: float
    n_obs: int
    amplitude_mag: float
    type_code: int
    other_names: str

    @property
    def label(self) -> str:
        return catalina_class(self.type_code)


def read_catalogue(path: str | Path) -> dict[str, CatalinaEntry]:
    """The catalogue keyed by the numeric ID (as a string, the light-curve file stem).

    Raises:
        ValueError: a line that does not parse, naming the file and line number.
    """
    entries: dict[str, CatalinaEntry] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            try:
                entry = CatalinaEntry(
                    sss_name=parts[0], object_id=parts[1], ra_deg=float(parts[2]), dec_deg=float(parts[3]),
                    period_days=float(parts[4]), mean_mag=float(parts[5]), n_obs=int(parts[6]),
                    amplitude_mag=float(parts[7]), type_code=int(parts[8]), other_names=" ".join(parts[9:]),
                )
                entry.label  # noqa: B018 - validates the type code
            except (IndexError, ValueError) as exc:
                raise ValueError(f"{path}:{lineno}: cannot parse catalogue line ({exc}): {line.strip()!r}") from None
            entries[entry.object_id] = entry
    return entries


def lightcurve_from_dat(object_id: str, data: bytes, entry: CatalinaEntry | None = None) -> LightCurve:
    """A Catalina ``.dat`` file's bytes as a :class:`LightCurve` (rows kept in file order)."""
    table, bad = parse_columns(data, 3)
    meta: dict = {"survey": "Catalina SSS", "time_system": "MJD", "bad_lines": bad}
    label = None
    if entry is not None:
        label = entry.label
        meta.update(sss_name=entry.sss_name, ra_deg=entry.ra_deg, dec_deg=entry.dec_deg,
                    catalogue_period_days=entry.period_days, catalogue_amplitude_mag=entry.amplitude_mag,
                    catalogue_mag=entry.mean_mag)
    if bad:
        log.warning("star %s: skipped %d malformed lines", object_id, bad)
    return LightCurve(object_id, table[:, 0], table[:, 1], table[:, 2], CATALINA_BAND, label=label, meta=meta)


def count_lightcurves(directory: str | Path) -> int:
    """How many curves :func:`iter_lightcurves` yields (archive members are listed, not parsed)."""
    return count_members(Path(directory) / ARCHIVE, ".dat")


def iter_lightcurves(directory: str | Path, limit: int | None = None,
                     ids: Iterable[str] | None = None) -> Iterator[LightCurve]:
    """Stream the light curves of a Catalina-style dataset directory.

    Args:
        directory: holds ``catalogue.txt`` and ``lightcurves.tar.gz``.
        limit: stop after this many curves (archive order).
        ids: only these star IDs.
    """
    directory = Path(directory)
    catalogue = read_catalogue(directory / CATALOGUE)
    for count, (object_id, data) in enumerate(iter_members(directory / ARCHIVE, ".dat", ids), start=1):
        entry = catalogue.get(object_id)
        if entry is None:
            log.warning("star %s: light curve has no catalogue entry; label unknown", object_id)
        yield lightcurve_from_dat(object_id, data, entry)
        if limit is not None and count >= limit:
            return
