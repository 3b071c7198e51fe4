"""Fourier decomposition of a folded light curve and the features astronomers derive from it.

The curve folded at period P is fitted by weighted least squares with K harmonics::

    m(phi) = A0 + sum_k A_k sin(2 pi k phi + phi_k)

giving the amplitude ratios ``R_k1 = A_k / A_1`` and phase differences ``phi_k1 = phi_k - k phi_1``
(mod 2 pi) of Simon & Lee (1981), which separate RRab from RRc, Cepheids from RR Lyrae and
eclipsing binaries from pulsators. On top of that:

- the residuals after removing the fit are searched for a *second period* near the first
  (double-mode RRd stars pulsate at P1/P0 ≈ 0.745; Blazhko stars show side peaks close to f1);
- the first-harmonic amplitude is refitted in time segments: its variation measures Blazhko
  modulation;
- the fit at *twice* the period measures odd harmonics: an eclipsing binary whose periodogram
  peaks at half its orbit has unequal minima, so odd harmonics at 2P, a pulsator has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.timeseries import LombScargle

from varstream.lightcurve.periodogram import lomb_scargle

_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class FourierFit:
    """A K-harmonic fit of a folded curve.

    Attributes:
        amplitudes: ``A_1..A_K`` in mag.
        phases: ``phi_1..phi_K`` in radians.
        residuals: observed minus fitted magnitude (mag) for every point.
    """

    amplitudes: np.ndarray
    phases: np.ndarray
    residuals: np.ndarray

    def ratio(self, k: int) -> float:
        """``R_k1 = A_k / A_1`` (0 when A_1 vanishes)."""
        return float(self.amplitudes[k - 1] / self.amplitudes[0]) if self.amplitudes[0] > 1e-9 else 0.0

    def phase_difference(self, k: int) -> float:
        """``phi_k1 = phi_k - k phi_1`` in [0, 2 pi)."""
        return float(np.mod(self.phases[k - 1] - k * self.phases[0], _TWO_PI))


def _design(phase: np.ndarray, harmonics: int) -> np.ndarray:
    k = np.arange(1, harmonics + 1)
    arg = _TWO_PI * phase[:, None] * k[None, :]
    return np.hstack([np.ones((phase.size, 1)), np.sin(arg), np.cos(arg)])


def fourier_fit(times: np.ndarray, mags: np.ndarray, errors: np.ndarray, period: float,
                harmonics: int = 4) -> FourierFit:
    """Weighted least-squares fit of ``harmonics`` harmonics at ``period`` days.

    Curves too short for the requested harmonics (fewer than ``2 K + 4`` points) use fewer; the
    missing amplitudes are 0.
    """
    k_used = int(min(harmonics, max(1, (times.size - 4) // 2)))
    phase = np.mod((times - times[0]) / period, 1.0)
    design = _design(phase, k_used)
    w = 1.0 / errors
    coef, *_ = np.linalg.lstsq(design * w[:, None], mags * w, rcond=None)
    s, c = coef[1 : k_used + 1], coef[k_used + 1 :]
    amps = np.zeros(harmonics)
    phases = np.zeros(harmonics)
    amps[:k_used] = np.hypot(s, c)
    phases[:k_used] = np.arctan2(c, s)        # a sin x + b cos x = A sin(x + phi), phi = atan2(b, a)
    return FourierFit(amps, phases, mags - design @ coef)


@dataclass(frozen=True)
class SecondPeriod:
    """The strongest residual period near the first, after prewhitening.

    Attributes:
        period: second period in days.
        power: Lomb–Scargle power of the residuals there (0..1).
        near_power: largest residual power within 0.1 c/d of the first frequency (Blazhko side
            peaks), excluding the first frequency's own peak width.
    """

    period: float
    power: float
    near_power: float


def second_period(times: np.ndarray, residuals: np.ndarray, errors: np.ndarray, period: float,
                  window: float = 1.45, oversample: float = 2.0, refine: int = 10) -> SecondPeriod:
    """Search the prewhitened residuals between ``f1 / window`` and ``f1 * window`` (cycles/day).

    The range holds the partner mode of double-mode pulsators (RRd: f1/f0 ≈ 1.34) and Blazhko
    side peaks. A grid of ``oversample`` points per peak width finds the peak, which is then
    refined ``refine`` times finer with the exact periodogram; the cost is a small fraction of the
    full period search.
    """
    t = times - times[0]
    span = max(float(t[-1]), 1e-3)
    f1 = 1.0 / period
    fmin, fmax = f1 / window, f1 * window
    df = 1.0 / (oversample * span)
    n = int(min(max(16, np.ceil((fmax - fmin) / df) + 1), 200_000))
    if float(np.ptp(residuals)) <= 1e-12:
        return SecondPeriod(period, 0.0, 0.0)
    power = lomb_scargle(t, residuals, errors, fmin, df, n)
    freqs = fmin + df * np.arange(n)
    own = np.abs(freqs - f1) < 1.5 / span                 # the first peak's own width
    power_masked = np.where(own, 0.0, power)
    near = (np.abs(freqs - f1) < 0.1) & ~own
    near_power = float(power_masked[near].max()) if near.any() else 0.0
    j = int(np.argmax(power_masked))
    fine = freqs[j] + df * np.arange(-refine, refine + 1) / refine
    fine = fine[(np.abs(fine - f1) >= 1.5 / span) & (fine > 0)]
    if fine.size:
        exact = np.nan_to_num(LombScargle(t, residuals, errors).power(fine, method="cython"), nan=0.0)
        k = int(np.argmax(exact))
        return SecondPeriod(float(1.0 / fine[k]), float(np.clip(exact[k], 0.0, 1.0)), near_power)
    return SecondPeriod(float(1.0 / freqs[j]), float(power_masked[j]), near_power)


@dataclass(frozen=True)
class SegmentVariation:
    """How the first harmonic changes between time segments at a fixed period.

    Attributes:
        amplitude: ``std(A1) / mean(A1)`` over the segments (Blazhko amplitude modulation,
            evolving star spots).
        phase: circular standard deviation of ``phi_1`` over the segments in radians (Blazhko
            phase modulation, spot migration; a contact binary keeps its phase).
    """

    amplitude: float
    phase: float


def segment_variation(times: np.ndarray, mags: np.ndarray, errors: np.ndarray, period: float,
                      segments: int = 4, min_points: int = 12) -> SegmentVariation:
    """Refit the first two harmonics in ``segments`` time-ordered pieces of equal numbers of points
    (each with at least ``min_points`` points) at the fixed period, with a common phase origin.
    Both figures are 0 with fewer than two usable pieces."""
    pieces = np.array_split(np.arange(times.size), segments)
    amps, phases = [], []
    origin = times[0]
    for idx in pieces:
        if idx.size >= min_points:
            fit = fourier_fit(times[idx], mags[idx], errors[idx], period, harmonics=2)
            # the fit's phases count from the piece's first time; refer them to the curve's first
            shift = _TWO_PI * np.mod((times[idx][0] - origin) / period, 1.0)
            amps.append(fit.amplitudes[0])
            phases.append(fit.phases[0] - shift)
    if len(amps) < 2 or np.mean(amps) <= 1e-9:
        return SegmentVariation(0.0, 0.0)
    resultant = float(np.abs(np.mean(np.exp(1j * np.array(phases)))))
    circ_std = float(np.sqrt(-2.0 * np.log(max(resultant, 1e-12))))
    return SegmentVariation(float(np.std(amps) / np.mean(amps)), circ_std)


def odd_harmonic_fraction(times: np.ndarray, mags: np.ndarray, errors: np.ndarray, period: float) -> float:
    """Share of the signal in odd harmonics when folded at twice the period (0..1).

    At 2P a signal of period P has only even harmonics; unequal minima of an eclipsing binary
    whose periodogram peaked at half its orbital period put power into odd ones.
    """
    fit = fourier_fit(times, mags, errors, 2.0 * period, harmonics=4)
    odd = np.hypot(fit.amplitudes[0], fit.amplitudes[2])
    even = np.hypot(fit.amplitudes[1], fit.amplitudes[3])
    total = odd + even
    return float(odd / total) if total > 1e-9 else 0.0
