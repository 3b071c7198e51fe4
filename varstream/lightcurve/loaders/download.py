"""Download path for users with internet: the ASAS-SN catalogue (VizieR II/366) and Sky Patrol
light curves, written in the layout :func:`open_dataset` reads.

Nothing here runs in the tests against the network; without one every function raises
:class:`DownloadError` with a clear message instead of a traceback.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Iterable

from varstream.lightcurve.loaders import asassn

log = logging.getLogger(__name__)

VIZIER_CATALOGUE = "II/366/catalog"


class DownloadError(RuntimeError):
    """A download failed (no network, service down, missing optional client)."""


def download_asassn_catalogue(out_dir: str | Path, row_limit: int = -1, timeout_s: float = 120.0) -> Path:
    """Fetch the ASAS-SN variable-star catalogue from VizieR (astroquery) into ``out_dir/catalogue.csv``.

    The raw VizieR column names are kept (``ASASSN-V``, ``Type``, ``Per``, ``Amp``, ``Dist``,
    ``Plx``, …); :func:`asassn.read_catalogue` understands them.

    Raises:
        DownloadError: VizieR cannot be reached or returned nothing.
    """
    try:
        from astroquery.vizier import Vizier
    except ImportError as exc:  # pragma: no cover - astroquery is a runtime dependency
        raise DownloadError(f"astroquery is not installed ({exc})") from None
    viz = Vizier(columns=["**"], row_limit=row_limit, timeout=timeout_s)
    try:
        tables = viz.get_catalogs(VIZIER_CATALOGUE)
    except Exception as exc:
        raise DownloadError(
            f"cannot download {VIZIER_CATALOGUE} from VizieR ({type(exc).__name__}: {exc}); "
            "check the internet connection or try again later"
        ) from None
    if len(tables) == 0:
        raise DownloadError(f"VizieR returned no table for {VIZIER_CATALOGUE}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "catalogue.csv"
    tables[0].write(path, format="ascii.csv", overwrite=True)
    log.info("wrote %d catalogue rows to %s", len(tables[0]), path)
    return path


def download_skypatrol_lightcurves(catalogue: str | Path, out_dir: str | Path, limit: int | None = None,
                                   classes: Iterable[str] | None = None, radius_arcsec: float = 5.0) -> int:
    """Fetch Sky Patrol light curves of catalogue stars into ``out_dir/lightcurves/J….csv``.

    Uses the ASAS-SN ``skypatrol`` client (``pip install 'varstream[download]'``) with one cone
    search per star; files keep the client's full columns (``jd, flux, …, mag, mag_err, camera,
    phot_filter``), which :func:`asassn.read_skypatrol` reads, band filter included.

    Returns:
        the number of light curves written.

    Raises:
        DownloadError: the client is missing or the service cannot be reached.
    """
    try:
        from pyasassn.client import SkyPatrolClient
    except ImportError:
        raise DownloadError("the Sky Patrol client is not installed: pip install 'varstream[download]'") from None
    entries = asassn.read_catalogue(catalogue)
    wanted = {c.upper() for c in classes} if classes else None
    out = Path(out_dir) / "lightcurves"
    out.mkdir(parents=True, exist_ok=True)
    try:
        client = SkyPatrolClient(verbose=False)
    except Exception as exc:
        raise DownloadError(f"cannot reach ASAS-SN Sky Patrol ({type(exc).__name__}: {exc})") from None
    written = 0
    for asassn_id, entry in entries.items():
        if wanted is not None and (entry.asassn_class or "").rstrip(":").upper() not in wanted:
            continue
        ra, dec = entry.meta.get("ra_deg"), entry.meta.get("dec_deg")
        if ra is None or dec is None:
            continue
        try:
            lcs = client.cone_search(ra, dec, radius=radius_arcsec, units="arcsec", download=True)
        except Exception as exc:
            raise DownloadError(f"Sky Patrol query for {asassn_id} failed ({type(exc).__name__}: {exc})") from None
        data = getattr(lcs, "data", None)
        if data is None or len(data) == 0:
            log.warning("no Sky Patrol light curve for %s", asassn_id)
            continue
        name = asassn_id.replace(".", "_").replace("+", "_")
        data.to_csv(out / f"{name}.csv", index=False, quoting=csv.QUOTE_MINIMAL)
        written += 1
        if limit is not None and written >= limit:
            break
    return written
