"""Period search: a Lomb–Scargle periodogram on a coarse grid, refined around the best peaks.

The periodogram is the floating-mean (generalised) Lomb–Scargle of astropy's ``standard``
normalisation, computed with ``nifty-ls`` (the NUFFT method astropy calls ``fastnifty``). Its cost
is linear in the number of trial frequencies, which grows with the curve's time span, so the
search first scans a grid of ``coarse_oversample`` points per peak width (1 / baseline) and then
refines the ``n_candidates`` highest local maxima on a grid five times finer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import nifty_ls
from astropy.timeseries import LombScargle

from varstream.lightcurve.errors import LightCurveError


@dataclass(frozen=True)
class PeriodSearchConfig:
    """Trial-frequency grid of :func:`find_period`.

    Attributes:
        min_period: shortest trial period in days (0.05 d covers delta Scuti stars; Catalina's
            shortest catalogued period is 0.066 d).
        max_period: longest trial period in days; the curve's time span is used when it is shorter.
        coarse_oversample: coarse grid points per peak width (1 / time span).
        n_candidates: local maxima of the coarse periodogram that are refined.
        refine_factor: how much finer the refinement grid is than the coarse one.
        max_frequencies: cap on the coarse grid size (guards against absurd time spans).
        daily_alias_width: half-width in cycles/day of the windows around 1 and 2 cycles per
            (sidereal) day that are excluded from the candidates: a ground-based survey that
            observes at night sees spurious power there from nightly systematics. 0 disables.
    """

    min_period: float = 0.05
    max_period: float = 2000.0
    coarse_oversample: float = 2.0
    n_candidates: int = 5
    refine_factor: int = 5
    max_frequencies: int = 1_000_000
    daily_alias_width: float = 0.01


@dataclass(frozen=True)
class PeriodResult:
    """The best Lomb–Scargle period of a curve.

    Attributes:
        period: best period in days.
        power: Lomb–Scargle power at the best frequency (standard normalisation, 0..1).
        snr: peak height over the coarse periodogram's median, in units of its robust scatter.
        n_frequencies: trial frequencies scanned on the coarse grid.
    """

    period: float
    power: float
    snr: float
    n_frequencies: int

    @property
    def frequency(self) -> float:
        """Best frequency in cycles per day."""
        return 1.0 / self.period


def _coarse_periodogram(t: np.ndarray, y: np.ndarray, dy: np.ndarray, fmin: float, df: float,
                        n: int) -> np.ndarray:
    """nifty-ls periodogram in single precision (only used to find candidates, which are refined
    in double precision); times are relative to the first point, so float32 keeps ~1e-4 d."""
    f32 = np.float32
    res = nifty_ls.lombscargle(t.astype(f32), y.astype(f32), dy.astype(f32), fmin=fmin,
                               fmax=fmin + df * (n - 1), Nf=n, nthreads=1)
    return np.nan_to_num(np.asarray(res.power, dtype=np.float64), nan=0.0)


def find_period(object_id: str, times: np.ndarray, mags: np.ndarray, errors: np.ndarray,
                config: PeriodSearchConfig = PeriodSearchConfig()) -> PeriodResult:
    """Best period of a light curve (days), by Lomb–Scargle.

    Args:
        object_id: the star, for error messages.
        times: observation times in days, sorted, at least 3 distinct values.
        mags: magnitudes.
        errors: magnitude errors (mag, > 0).

    Raises:
        LightCurveError: fewer than 3 points, zero time span, or constant magnitudes.
    """
    if times.size < 3:
        raise LightCurveError(object_id, f"period search needs at least 3 points, got {times.size}")
    t = times - times[0]
    span = float(t[-1])
    if span <= 0:
        raise LightCurveError(object_id, "all observations at the same time")
    if float(np.ptp(mags)) <= 1e-9:
        raise LightCurveError(object_id, "magnitudes do not vary: no period to search")
    fmax = 1.0 / config.min_period
    fmin = 1.0 / min(config.max_period, span)
    if fmin >= fmax:
        fmin = fmax / 10.0
    df = 1.0 / (config.coarse_oversample * span)
    n = int(np.ceil((fmax - fmin) / df)) + 1
    if n > config.max_frequencies:
        n = config.max_frequencies
        df = (fmax - fmin) / (n - 1)
    n = max(n, 16)
    power = _coarse_periodogram(t, mags, errors, fmin, df, n)

    if config.daily_alias_width > 0:
        freqs = fmin + df * np.arange(n)
        for k in (1, 2):
            power[np.abs(freqs - k * 1.0027379) < config.daily_alias_width] = 0.0
    # Local maxima of the coarse periodogram, highest first.
    inner = (power[1:-1] >= power[:-2]) & (power[1:-1] >= power[2:])
    peaks = np.flatnonzero(inner) + 1
    if peaks.size == 0:
        peaks = np.array([int(np.argmax(power))])
    top = peaks[np.argsort(power[peaks])[::-1][: config.n_candidates]]

    # Refine every candidate on a grid refine_factor times finer, in one direct evaluation
    # (astropy's exact floating-mean Lomb–Scargle; a few hundred frequencies cost less than NUFFT set-up).
    steps = np.arange(-config.refine_factor, config.refine_factor + 1) / config.refine_factor
    fine = (fmin + df * (top[:, None] + steps[None, :])).ravel()
    fine = fine[fine > 0]
    if config.daily_alias_width > 0:
        near_day = np.abs(fine[:, None] - 1.0027379 * np.arange(1, 3)[None, :]).min(axis=1)
        fine = fine[near_day >= config.daily_alias_width]
    best_f, best_p = fmin + df * top[0], float(power[top[0]])
    if fine.size:
        fine_power = np.nan_to_num(LombScargle(t, mags, errors).power(fine, method="cython"), nan=0.0)
        j = int(np.argmax(fine_power))
        best_f, best_p = float(fine[j]), float(fine_power[j])

    sample = power[:: max(1, power.size // 5000)]  # robust statistics of the periodogram's floor
    med = float(np.median(sample))
    scatter = float(1.4826 * np.median(np.abs(sample - med)))
    snr = (best_p - med) / max(scatter, 1e-12)
    return PeriodResult(period=float(1.0 / best_f), power=float(best_p), snr=float(min(snr, 1e6)), n_frequencies=n)
