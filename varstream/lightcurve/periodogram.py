"""The floating-mean Lomb–Scargle periodogram on a regular frequency grid, by non-uniform FFT.

The generalised periodogram of Zechmeister & Kürster (2009), astropy's ``standard`` normalisation
(the share of the weighted variance a sinusoid plus a mean explains, 0..1), computed from three
type-1 non-uniform FFTs (FINUFFT, Barnett et al. 2019) — the method of ``nifty-ls`` (Garrison et
al. 2024), which astropy calls ``fastnifty``. With normalised weights ``w`` (``Σw = 1``) and the
weighted-mean-subtracted magnitudes ``y``, at angular frequency ω:

- ``YC + i YS = Σ w y e^{iωt}``, ``C + i S = Σ w e^{iωt}`` (one batched transform at the times) and
  ``C2 + i S2 = Σ w e^{2iωt}`` (one transform on the doubled frequency grid);
- ``CC = (1 + C2)/2 − C²``, ``SS = (1 − C2)/2 − S²``, ``CS = S2/2 − C S``, ``YY = Σ w y²``;
- ``P = (SS YC² + CC YS² − 2 CS YC YS) / (YY (CC SS − CS²))``.

What this module adds over calling ``nifty-ls``: the FINUFFT *plans* — the FFT set-up, about half
of the cost of one periodogram of a few hundred points — are kept per process and reused for every
curve whose grid has the same size class (grids are rounded up to a multiple of
:data:`GRID_QUANTUM` frequencies and the extra ones dropped), so a stream or a training run pays for
them once. Single precision: the result ranks candidates, which are then refined exactly.
"""

from __future__ import annotations

from collections import OrderedDict

import finufft
import numpy as np

#: Grid sizes are rounded up to a multiple of this, so that curves of similar spans share plans.
GRID_QUANTUM = 4096
#: Plans kept per process (each holds a few MB).
MAX_PLANS = 8
#: FINUFFT settings: relative precision of single-precision candidates; a small upsampling factor
#: (cheaper FFTs); FFTW's quick planner (plans are reused anyway).
_EPS = 1e-5
_OPTS = {"upsampfac": 1.25, "fftw": 64, "nthreads": 1}

_plans: OrderedDict[tuple[int, int], finufft.Plan] = OrderedDict()


def _plan(n_modes: int, n_trans: int) -> finufft.Plan:
    key = (n_modes, n_trans)
    plan = _plans.get(key)
    if plan is None:
        plan = finufft.Plan(1, (n_modes,), n_trans=n_trans, eps=_EPS, isign=1, dtype="complex64", **_OPTS)
        _plans[key] = plan
        if len(_plans) > MAX_PLANS:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    return plan


def _transform(t: np.ndarray, values: np.ndarray, fmin: float, df: float, n_modes: int) -> np.ndarray:
    """``Σ_j values[:, j] e^{2πi f_m t_j}`` for ``f_m = fmin + m df``, ``m < n_modes`` (complex64)."""
    centre = n_modes // 2
    phase = 2.0 * np.pi * (fmin + centre * df) * t
    coeffs = (values * np.exp(1j * phase)).astype(np.complex64)
    x = np.mod(2.0 * np.pi * df * t + np.pi, 2.0 * np.pi) - np.pi
    plan = _plan(n_modes, values.shape[0])
    plan.setpts(x.astype(np.float32))
    out = plan.execute(np.ascontiguousarray(coeffs if values.shape[0] > 1 else coeffs[0]))
    return np.atleast_2d(out)


def lomb_scargle(t: np.ndarray, y: np.ndarray, dy: np.ndarray, fmin: float, df: float, n: int,
                 window: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Power (0..1, float64) at the ``n`` frequencies ``fmin + k df`` (cycles per day; times in days
    — best relative to the first point, so single precision keeps them to ~1e-4 d). With
    ``window``, also the spectral window ``|Σ w e^{iωt}|²`` (normalised weights, 0..1) at the same
    frequencies: the ``C + i S`` transform the power already needs, so it costs nothing."""
    n_modes = int(np.ceil(n / GRID_QUANTUM)) * GRID_QUANTUM
    w = 1.0 / dy**2
    w = w / w.sum()
    yc = y - np.sum(w * y)
    yy = float(np.sum(w * yc**2))
    if yy <= 0:
        return (np.zeros(n), np.zeros(n)) if window else np.zeros(n)
    first = _transform(t, np.stack([w * yc, w]), fmin, df, n_modes)[:, :n]
    second = _transform(t, w[None, :], 2.0 * fmin, 2.0 * df, n_modes)[0, :n]
    yc_, ys_ = first[0].real, first[0].imag
    c, s = first[1].real, first[1].imag
    c2, s2 = second.real, second.imag
    cc = 0.5 * (1.0 + c2) - c * c
    ss = 0.5 * (1.0 - c2) - s * s
    csx = 0.5 * s2 - c * s
    det = cc * ss - csx * csx
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        power = (ss * yc_ * yc_ + cc * ys_ * ys_ - 2.0 * csx * yc_ * ys_) / (np.float32(yy) * det)
    power = np.clip(np.where(np.isfinite(power), power, 0.0), 0.0, 1.0).astype(np.float64)
    if window:
        return power, np.clip((c * c + s * s).astype(np.float64), 0.0, 1.0)
    return power


def multiband_lomb_scargle(t: np.ndarray, y: np.ndarray, dy: np.ndarray, bands: np.ndarray, fmin: float,
                           df: float, n: int) -> np.ndarray:
    """The multi-band periodogram with one shared sinusoid and a mean per band (VanderPlas & Ivezić
    2015; astropy's ``LombScargleMultiband(nterms_base=1, nterms_band=0)``, ``standard``
    normalisation): the share of the weighted variance about the band means that a sinusoid of a
    common amplitude and phase explains, 0..1, at the ``n`` frequencies ``fmin + k df`` (c/d; times
    in days, best relative to the first point; ``bands``: any labels, one per point).

    With normalised weights and ``y`` minus its band's weighted mean, the band means are projected
    out of the cosine and sine (Frisch–Waugh): ``CC = (1 + C2)/2 − Σ_b C_b²/W_b``,
    ``SS = (1 − C2)/2 − Σ_b S_b²/W_b``, ``CS = S2/2 − Σ_b C_b S_b/W_b`` with ``C_b + i S_b = Σ_{i∈b}
    w e^{iωt}`` and ``W_b = Σ_{i∈b} w``; ``YC, YS, YY`` as in :func:`lomb_scargle`. That is B + 2
    transforms (one batch of B + 1, one on the doubled frequency grid) for B bands. One band gives
    :func:`lomb_scargle`'s power.
    """
    labels, index = np.unique(np.asarray(bands), return_inverse=True)
    n_modes = int(np.ceil(n / GRID_QUANTUM)) * GRID_QUANTUM
    w = 1.0 / dy**2
    w = w / w.sum()
    totals = np.bincount(index, weights=w, minlength=labels.size)
    means = np.bincount(index, weights=w * y, minlength=labels.size) / totals
    yc = y - means[index]
    yy = float(np.sum(w * yc**2))
    if yy <= 0:
        return np.zeros(n)
    per_band = np.zeros((labels.size, t.size))
    per_band[index, np.arange(t.size)] = w
    first = _transform(t, np.vstack([w * yc, per_band]), fmin, df, n_modes)[:, :n]
    second = _transform(t, w[None, :], 2.0 * fmin, 2.0 * df, n_modes)[0, :n]
    yc_, ys_ = first[0].real, first[0].imag
    c_b, s_b = first[1:].real, first[1:].imag
    inv = (1.0 / totals).astype(np.float32)[:, None]
    c2, s2 = second.real, second.imag
    cc = 0.5 * (1.0 + c2) - np.sum(c_b * c_b * inv, axis=0)
    ss = 0.5 * (1.0 - c2) - np.sum(s_b * s_b * inv, axis=0)
    csx = 0.5 * s2 - np.sum(c_b * s_b * inv, axis=0)
    det = cc * ss - csx * csx
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        power = (ss * yc_ * yc_ + cc * ys_ * ys_ - 2.0 * csx * yc_ * ys_) / (np.float32(yy) * det)
    return np.clip(np.where(np.isfinite(power), power, 0.0), 0.0, 1.0).astype(np.float64)
