"""Period search: Lomb–Scargle candidates, decided by a multi-harmonic and a phase-binned model.

A single-sine periodogram misses what real survey curves are full of — eclipses narrower than a
sine, unequal minima, non-sinusoidal pulsations — so the search runs in three steps:

1. **Candidates.** The floating-mean Lomb–Scargle periodogram (:mod:`.periodogram`) on a grid of
   ``coarse_oversample`` points per peak width (1 / time span), from 1 / span (or 1 /
   ``max_period``) to 1 / ``min_period``. Windows of ``daily_alias_width`` c/d around 1 and 2 cycles
   per sidereal day are masked: nightly systematics of ground surveys put power exactly there
   (a window of a few peak widths; a wider one would also hide RR Lyrae stars of periods near
   0.5 d). The ``n_candidates`` highest local maxima are refined on a grid ``refine_factor`` times
   finer with the exact periodogram; the strongest refined peak is the *reference*.
2. **Variants.** The ``n_variants`` strongest candidates bring their half frequency ``f/2``: an
   eclipsing binary's orbital frequency, which a sine finds at twice its value (or, for narrow
   eclipses, a higher harmonic, whose halves are candidates too).
3. **Decision.** Every candidate is scored by two models of the curve folded at it — a
   ``harmonics``-term Fourier series (smooth pulsators) and a phase-binned mean (eclipses too
   narrow for a few harmonics) — fitted to the magnitudes minus their season means (seasons are
   separated by gaps of ``season_gap_days``: a long-term trend, a seasonal zero-point drift or an
   imperfect band merge then cannot tip the choice), by the Bayesian information criterion
   ``n ln(RSS/n) + k ln n``
   (noise scale free, so a survey's error bars cannot tip it). Another candidate replaces the
   reference only if its criterion is better by ``decisive_bic`` ("very strong" evidence) and it
   is not within ``alias_zone`` c/d of a multiple of the sidereal day — with nightly sampling
   those aliases fit a long period about as well as the period itself, so they never overrule.

Measured on the shared data (the period within 1 % of the catalogue's P, P/2 or 2P): 88.5 % of a
class-balanced 330-star Catalina sample (85.5 % for the single-sine search this replaced) and 80 %
of the ASAS-SN stars with a catalogue period that are not long-period variables (71 % before).

The cost is linear in the number of coarse trial frequencies; :func:`refine_period` repeats steps
1 (refinement only) to 3 near known candidates (the stream's fast path, see
:attr:`PeriodResult.candidates`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.timeseries import LombScargle

from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.periodogram import lomb_scargle

#: Cycles per sidereal day, the spacing of the aliases of nightly sampling (c/d).
SIDEREAL_FREQUENCY = 1.0027379


@dataclass(frozen=True)
class PeriodSearchConfig:
    """Settings of :func:`find_period` (periods in days, frequencies in cycles per day).

    Attributes:
        min_period: shortest trial period (0.05 d covers delta Scuti stars; Catalina's shortest
            catalogued period is 0.066 d).
        max_period: longest trial period; the curve's time span is used when it is shorter.
        coarse_oversample: coarse grid points per peak width (1 / time span).
        n_candidates: local maxima of the coarse periodogram that are refined and scored.
        refine_factor: the refinement grid is this many times finer than the coarse one.
        max_frequencies: cap on the coarse grid size (guards against absurd time spans).
        daily_alias_width: half-width of the masked windows around 1 and 2 c/d; 0 disables.
        harmonics: Fourier terms of the scoring model.
        max_bins: phase bins of the binned scoring model at most (fewer for short curves: about
            eight points a bin, at least five bins).
        n_variants: candidates (by power) whose half frequencies are scored too.
        decisive_bic: how much better another candidate's information criterion must be to
            replace the strongest periodogram peak.
        alias_zone: candidates this close to 1–4 cycles per sidereal day never replace it.
        season_gap_days: a gap longer than this starts a new observing season; candidates are
            scored on the magnitudes minus their season means, so a slow trend, a seasonal
            zero-point drift or an imperfect band merge cannot decide between them.
        min_season_points: a season with fewer points keeps the overall mean (its own mean
            would take too much of a sparse curve's signal with it).
    """

    min_period: float = 0.05
    max_period: float = 2000.0
    coarse_oversample: float = 2.0
    n_candidates: int = 8
    refine_factor: int = 5
    max_frequencies: int = 1_000_000
    daily_alias_width: float = 0.002
    harmonics: int = 4
    max_bins: int = 40
    n_variants: int = 3
    decisive_bic: float = 10.0
    alias_zone: float = 0.03
    season_gap_days: float = 60.0
    min_season_points: int = 40


@dataclass(frozen=True)
class PeriodResult:
    """The period of a curve and what the search learnt.

    Attributes:
        period: best period in days.
        power: Lomb–Scargle power at the best frequency (standard normalisation, 0..1).
        snr: peak height over the coarse periodogram's median, in units of its robust scatter
            (0 for a refinement, which scans no grid).
        n_frequencies: trial frequencies scanned on the coarse grid (0 for a refinement).
        explained: share of the variance that the better scoring model explains at the period (0..1).
        candidates: the refined candidate frequencies (c/d), the chosen one first: a later
            :func:`refine_period` of the same, grown curve looks only near them.
    """

    period: float
    power: float
    snr: float
    n_frequencies: int
    explained: float = 0.0
    candidates: tuple[float, ...] = ()

    @property
    def frequency(self) -> float:
        """Best frequency in cycles per day."""
        return 1.0 / self.period


@dataclass(frozen=True)
class _Curve:
    """The curve as the search sees it: times from the first point (days), magnitudes minus their
    weighted mean, errors, weights, the time span (days) and the magnitudes minus their season
    means (what candidates are scored on)."""

    t: np.ndarray
    y: np.ndarray
    dy: np.ndarray
    w: np.ndarray
    span: float
    detrended: np.ndarray


def _prepare(object_id: str, times: np.ndarray, mags: np.ndarray, errors: np.ndarray,
             config: PeriodSearchConfig) -> _Curve:
    if times.size < 3:
        raise LightCurveError(object_id, f"period search needs at least 3 points, got {times.size}")
    t = times - times[0]
    span = float(t[-1])
    if span <= 0:
        raise LightCurveError(object_id, "all observations at the same time")
    if float(np.ptp(mags)) <= 1e-9:
        raise LightCurveError(object_id, "magnitudes do not vary: no period to search")
    w = 1.0 / errors**2
    mean = np.sum(w * mags) / np.sum(w)
    season = np.concatenate([[0], np.cumsum(np.diff(t) > config.season_gap_days)])
    means = np.bincount(season, weights=w * mags) / np.bincount(season, weights=w)
    means[np.bincount(season) < config.min_season_points] = mean     # too few points for an offset
    return _Curve(t, mags - mean, errors, w, span, mags - means[season])


def _grid(curve: _Curve, config: PeriodSearchConfig) -> tuple[float, float, float, int]:
    """``(fmin, fmax, df, n)`` of the coarse grid (c/d)."""
    fmax = 1.0 / config.min_period
    fmin = 1.0 / min(config.max_period, curve.span)
    if fmin >= fmax:
        fmin = fmax / 10.0
    df = 1.0 / (config.coarse_oversample * curve.span)
    n = int(np.ceil((fmax - fmin) / df)) + 1
    if n > config.max_frequencies:
        n = config.max_frequencies
        df = (fmax - fmin) / (n - 1)
    return fmin, fmax, df, max(n, 16)


def _alias_mask(freqs: np.ndarray, config: PeriodSearchConfig) -> np.ndarray:
    """True for frequencies outside the masked windows around 1 and 2 cycles per sidereal day."""
    keep = np.ones(freqs.shape, dtype=bool)
    if config.daily_alias_width > 0:
        for k in (1, 2):
            keep &= np.abs(freqs - k * SIDEREAL_FREQUENCY) >= config.daily_alias_width
    return keep


def _mask_grid(power: np.ndarray, fmin: float, df: float, config: PeriodSearchConfig) -> None:
    """Zero the masked windows of a coarse periodogram in place (by index, no pass over the grid)."""
    if config.daily_alias_width <= 0:
        return
    for k in (1, 2):
        centre = k * SIDEREAL_FREQUENCY
        lo = max(int(np.ceil((centre - config.daily_alias_width - fmin) / df)), 0)
        hi = min(int(np.floor((centre + config.daily_alias_width - fmin) / df)) + 1, power.size)
        if lo < hi:
            power[lo:hi] = 0.0


def _refine(curve: _Curve, centres: list[float], df: float, config: PeriodSearchConfig, fmin: float,
            fmax: float) -> list[tuple[float, float]]:
    """The best frequency within one coarse step of each centre on the fine grid, and its power
    (one exact periodogram evaluation for all centres)."""
    if not centres:
        return []
    steps = np.arange(-config.refine_factor, config.refine_factor + 1) / config.refine_factor
    grids = [f0 + df * steps for f0 in centres]
    grids = [g[(g >= fmin) & (g <= fmax) & _alias_mask(g, config)] for g in grids]
    sizes = [g.size for g in grids]
    if sum(sizes) == 0:
        return [(f0, 0.0) for f0 in centres]
    power = np.nan_to_num(LombScargle(curve.t, curve.y, curve.dy).power(np.concatenate(grids), method="cython"),
                          nan=0.0)
    out, start = [], 0
    for f0, g, size in zip(centres, grids, sizes):
        if size == 0:
            out.append((f0, 0.0))
            continue
        p = power[start:start + size]
        start += size
        j = int(np.argmax(p))
        out.append((float(g[j]), float(p[j])))
    return out


def _score(curve: _Curve, f: float, config: PeriodSearchConfig) -> tuple[float, float]:
    """The better (smaller) Bayesian information criterion of the Fourier and the phase-binned
    model at frequency ``f`` (c/d), and the share of the variance that model explains."""
    n = curve.t.size
    y, w = curve.detrended, curve.w
    total = float(np.sum(w * y**2))
    phase = np.mod(curve.t * f, 1.0)
    k = int(min(config.harmonics, max(1, (n - 3) // 2)))
    z = np.exp(2j * np.pi * phase)
    powers = np.cumprod(np.broadcast_to(z, (k, n)), axis=0)          # e^{i j 2π φ}, j = 1..k
    design = np.vstack([np.ones(n), powers.imag, powers.real])        # (2k + 1, n)
    weighted = design * w
    try:
        coef = np.linalg.solve(weighted @ design.T, weighted @ y)    # weighted normal equations
        rss_fourier = float(np.sum(w * (y - coef @ design) ** 2))
    except np.linalg.LinAlgError:
        rss_fourier = total
    bins = int(np.clip(n // 8, 5, config.max_bins))
    idx = np.minimum((phase * bins).astype(np.int64), bins - 1)
    sw_bin = np.bincount(idx, weights=w, minlength=bins)
    mean_bin = np.bincount(idx, weights=w * y, minlength=bins) / np.maximum(sw_bin, 1e-300)
    rss_binned = float(np.sum(w * (y - mean_bin[idx]) ** 2))
    floor = 1e-12 * max(total, 1e-300)
    bic_fourier = n * np.log(max(rss_fourier, floor) / n) + (2 * k + 1) * np.log(n)
    bic_binned = n * np.log(max(rss_binned, floor) / n) + bins * np.log(n)
    rss = rss_fourier if bic_fourier <= bic_binned else rss_binned
    explained = 1.0 - rss / total if total > 0 else 0.0
    return float(min(bic_fourier, bic_binned)), float(np.clip(explained, 0.0, 1.0))


def _near_sidereal(f: float, config: PeriodSearchConfig) -> bool:
    return bool(np.min(np.abs(f - SIDEREAL_FREQUENCY * np.arange(1, 5))) < config.alias_zone)


def _decide(curve: _Curve, refined: list[tuple[float, float]], df: float, config: PeriodSearchConfig,
            fmin: float, fmax: float) -> tuple[float, float, float, tuple[float, ...]]:
    """Steps 2–3 of the module notes on candidates ordered by power: ``(frequency, power,
    explained, candidates)``."""
    halves = [f / 2.0 for f, _ in refined[: config.n_variants] if f / 2.0 >= fmin]
    pool = refined + _refine(curve, halves, df, config, fmin, fmax)
    scored, seen = [], set()
    for rank, (f, p) in enumerate(pool):
        key = round(f, 9)
        if key in seen or (rank > 0 and _near_sidereal(f, config)):
            continue
        seen.add(key)
        bic, explained = _score(curve, f, config)
        scored.append((bic, f, p, explained))
    reference = scored[0]
    best = min(scored, key=lambda s: s[0])
    chosen = best if reference[0] - best[0] > config.decisive_bic else reference
    candidates = (chosen[1],) + tuple(f for f, _ in refined if round(f, 9) != round(chosen[1], 9))
    return chosen[1], chosen[2], chosen[3], candidates


def find_period(object_id: str, times: np.ndarray, mags: np.ndarray, errors: np.ndarray,
                config: PeriodSearchConfig = PeriodSearchConfig()) -> PeriodResult:
    """Best period of a light curve (days): the full search of the module notes.

    Args:
        object_id: the star, for error messages.
        times: observation times in days, sorted, at least 3 distinct values.
        mags: magnitudes.
        errors: magnitude errors (mag, > 0).

    Raises:
        LightCurveError: fewer than 3 points, zero time span, or constant magnitudes.
    """
    curve = _prepare(object_id, times, mags, errors, config)
    fmin, fmax, df, n = _grid(curve, config)
    power = lomb_scargle(curve.t, curve.y, curve.dy, fmin, df, n)
    _mask_grid(power, fmin, df, config)
    inner = np.flatnonzero((power[1:-1] >= power[:-2]) & (power[1:-1] >= power[2:]) & (power[1:-1] > 0)) + 1
    if inner.size > config.n_candidates:
        inner = inner[np.argpartition(power[inner], -config.n_candidates)[-config.n_candidates:]]
    peaks = inner.tolist() if inner.size else [int(np.argmax(power))]
    refined = sorted(_refine(curve, [fmin + df * i for i in peaks], df, config, fmin, fmax), key=lambda fp: -fp[1])
    best_f, best_p, explained, candidates = _decide(curve, refined, df, config, fmin, fmax)

    sample = power[:: max(1, power.size // 5000)]  # robust statistics of the periodogram's floor
    med = float(np.median(sample))
    scatter = float(1.4826 * np.median(np.abs(sample - med)))
    snr = (best_p - med) / max(scatter, 1e-12)
    return PeriodResult(period=float(1.0 / best_f), power=float(best_p), snr=float(min(snr, 1e6)), n_frequencies=n,
                        explained=explained, candidates=candidates)


def refine_period(object_id: str, times: np.ndarray, mags: np.ndarray, errors: np.ndarray,
                  candidates: tuple[float, ...], config: PeriodSearchConfig = PeriodSearchConfig()) -> PeriodResult:
    """The period near known candidate frequencies (c/d) only — the refinement, variants and
    decision of :func:`find_period` without its coarse scan, on the grid a full search of this
    curve would use. The stream's fast path for a curve that grew by a few points.

    Raises:
        LightCurveError: as :func:`find_period`, or no candidate inside the search range.
    """
    curve = _prepare(object_id, times, mags, errors, config)
    fmin, fmax, df, _ = _grid(curve, config)
    # on the lattice the full search of this curve refines on: a candidate whose coarse peak has
    # not moved is refined exactly as the full search would (the same fine frequencies)
    inside = sorted({fmin + df * round((f - fmin) / df) for f in candidates if fmin <= f <= fmax})
    if not inside:
        raise LightCurveError(object_id, "no candidate frequency inside the search range")
    refined = sorted(_refine(curve, inside, df, config, fmin, fmax), key=lambda fp: -fp[1])
    best_f, best_p, explained, found = _decide(curve, refined, df, config, fmin, fmax)
    return PeriodResult(period=float(1.0 / best_f), power=float(best_p), snr=0.0, n_frequencies=0,
                        explained=explained, candidates=found)
