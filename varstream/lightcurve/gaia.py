"""Distances and absolute magnitudes (Gaia normalisation).

Distance shifts the mean magnitude only: ``M = m - 5 log10(d / 10 pc)``; amplitudes are
distance-free. The error propagates as ``sigma_M**2 = sigma_m**2 + (5 sigma_d / (d ln 10))**2``.

Distances come, in order of preference, from

1. a catalogue distance (e.g. the ASAS-SN catalogue's ``Dist``, Bailer-Jones et al. 2018) with its
   error, or with the error implied by the parallax's fractional error;
2. a Gaia parallax, ``d = 1000 / (parallax - zero_point)`` pc, only when the parallax is precise
   (``parallax / error > 5``, where inversion is unbiased enough) and the astrometry is sound
   (RUWE <= 1.4 when known);
3. otherwise the distance is *missing*, which is a first-class state: features carry
   ``has_distance = 0`` and a NaN absolute magnitude, never an exception.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

log = logging.getLogger(__name__)

#: Gaia DR3 global parallax zero point in mas (Lindegren et al. 2021): parallaxes are too small by
#: 0.017 mas, so the corrected parallax is ``parallax - GAIA_DR3_ZERO_POINT_MAS``.
GAIA_DR3_ZERO_POINT_MAS = -0.017
MIN_PARALLAX_OVER_ERROR = 5.0
MAX_RUWE = 1.4


@dataclass(frozen=True)
class Distance:
    """A distance in parsecs with its 1-sigma error (pc) and where it came from."""

    value_pc: float
    error_pc: float
    source: str


def _num(meta: Mapping[str, Any], key: str) -> float | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def parallax_quality(parallax_mas: float | None, parallax_error_mas: float | None, ruwe: float | None = None,
                     zero_point_mas: float = GAIA_DR3_ZERO_POINT_MAS) -> tuple[float, float] | None:
    """The zero-point-corrected parallax and its error (mas), or None if it fails the quality cut."""
    if parallax_mas is None or parallax_error_mas is None or parallax_error_mas <= 0:
        return None
    corrected = parallax_mas - zero_point_mas
    if corrected <= 0 or corrected / parallax_error_mas <= MIN_PARALLAX_OVER_ERROR:
        return None
    if ruwe is not None and ruwe > MAX_RUWE:
        return None
    return corrected, parallax_error_mas


def parallax_distance(parallax_mas: float, parallax_error_mas: float) -> Distance:
    """``d = 1000 / parallax`` pc with ``sigma_d = 1000 sigma_parallax / parallax**2`` (a parallax that
    passed :func:`parallax_quality`, zero point applied)."""
    return Distance(1000.0 / parallax_mas, 1000.0 * parallax_error_mas / parallax_mas**2, "gaia_parallax")


def resolve_distance(meta: Mapping[str, Any]) -> Distance | None:
    """The best distance for a star from its metadata, or None when it is unknown.

    Keys read (all optional): ``distance_pc`` and ``distance_error_pc`` (a catalogue distance),
    ``parallax_mas``, ``parallax_error_mas``, ``ruwe`` (Gaia astrometry).
    """
    dist = _num(meta, "distance_pc")
    dist_err = _num(meta, "distance_error_pc")
    plx = parallax_quality(_num(meta, "parallax_mas"), _num(meta, "parallax_error_mas"), _num(meta, "ruwe"))
    has_parallax_info = _num(meta, "parallax_mas") is not None
    if dist is not None and dist > 0:
        if dist_err is not None and dist_err > 0 and not has_parallax_info:
            return Distance(dist, dist_err, "catalogue")
        if plx is not None:
            err = dist_err if dist_err is not None and dist_err > 0 else dist * plx[1] / plx[0]
            return Distance(dist, err, "catalogue")
        return None
    if plx is not None:
        return parallax_distance(*plx)
    return None


def absolute_magnitude(mag: float, mag_error: float, distance: Distance) -> tuple[float, float]:
    """Absolute magnitude and its error (mag) from an apparent magnitude and a distance (pc)."""
    d, sd = distance.value_pc, distance.error_pc
    m_abs = mag - 5.0 * math.log10(d / 10.0)
    err = math.sqrt(mag_error**2 + (5.0 * sd / (d * math.log(10.0))) ** 2)
    return m_abs, err


def intensity_mean_magnitude(mags: np.ndarray, errors: np.ndarray) -> tuple[float, float]:
    """Intensity-averaged mean magnitude and its standard error (mag).

    Variables are averaged in flux, not in magnitude (the standard mean magnitude of pulsators):
    ``<m> = -2.5 log10(mean(10**(-0.4 m)))``. The error is the standard error of the mean flux,
    ``sqrt(sum(sigma_F**2)) / N`` with ``sigma_F = 0.4 ln10 F sigma_m``, converted back to mag.
    """
    ref = float(np.median(mags))
    flux = 10.0 ** (-0.4 * (mags - ref))
    mean_flux = float(flux.mean())
    sigma_flux = 0.4 * math.log(10.0) * flux * errors
    sigma_mean = float(np.sqrt(np.sum(sigma_flux**2))) / flux.size
    mean_mag = ref - 2.5 * math.log10(mean_flux)
    return mean_mag, 2.5 / math.log(10.0) * sigma_mean / mean_flux
