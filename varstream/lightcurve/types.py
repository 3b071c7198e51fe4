"""The :class:`LightCurve` record: one star's photometry in one band."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from varstream.lightcurve.errors import LightCurveError

#: Days from the Julian Date to the Modified Julian Date: ``MJD = JD - JD_TO_MJD``.
JD_TO_MJD = 2400000.5


@dataclass(frozen=True, eq=False)
class LightCurve:
    """One star's light curve in a single photometric band.

    Attributes:
        object_id: survey identifier of the star.
        times: observation times in days. Loaders use ``JD - 2400000.5`` (MJD for Catalina, HJD-based
            for ASAS-SN) so that every survey shares one zero point; ``meta["time_system"]`` says which.
        mags: apparent magnitudes.
        errors: 1-sigma magnitude uncertainties (magnitudes).
        band: photometric band of every point (``"V"``, ``"g"``, ``"CV"`` for Catalina's
            unfiltered V-calibrated data, ...).
        label: the catalogue class if known (the survey's own code, see :mod:`taxonomy`).
        meta: star-level metadata (coordinates in degrees, catalogue period in days, distance in
            parsecs, parallax in mas, ...). Features never read catalogue periods or classes.
        aux: optional per-point arrays (e.g. ``camera``) that travel with the points when they are
            selected or reordered.
    """

    object_id: str
    times: np.ndarray
    mags: np.ndarray
    errors: np.ndarray
    band: str
    label: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    aux: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("times", "mags", "errors"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.ndim != 1:
                raise LightCurveError(self.object_id, f"{name} must be one-dimensional, got shape {arr.shape}")
            object.__setattr__(self, name, arr)
        n = self.times.size
        if self.mags.size != n or self.errors.size != n:
            raise LightCurveError(
                self.object_id,
                f"times, mags and errors differ in length ({n}, {self.mags.size}, {self.errors.size})",
            )
        if not isinstance(self.band, str) or not self.band:
            raise LightCurveError(self.object_id, f"band must be a non-empty string, got {self.band!r}")
        aux = {}
        for key, values in self.aux.items():
            arr = np.asarray(values)
            if arr.shape != (n,):
                raise LightCurveError(self.object_id, f"aux column {key!r} has shape {arr.shape}, expected ({n},)")
            aux[key] = arr
        object.__setattr__(self, "aux", aux)

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def baseline(self) -> float:
        """Time span from first to last observation, in days (0 for fewer than two points)."""
        return float(self.times.max() - self.times.min()) if len(self) > 1 else 0.0

    def select(self, index: np.ndarray) -> LightCurve:
        """A new curve with the points picked by a boolean mask or an index array (aux follows)."""
        return replace(
            self,
            times=self.times[index],
            mags=self.mags[index],
            errors=self.errors[index],
            aux={k: v[index] for k, v in self.aux.items()},
        )

    def with_values(self, **changes: Any) -> LightCurve:
        """A copy with some fields replaced (thin wrapper over :func:`dataclasses.replace`)."""
        return replace(self, **changes)
