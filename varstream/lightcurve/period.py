"""Period search: Lomb–Scargle candidates and their aliases, decided by fits on the unfolded data.

A single-sine periodogram misses what real survey curves are full of — eclipses narrower than a
sine, unequal minima, non-sinusoidal pulsations — and on a ground survey's nightly sampling every
peak has aliases one cycle a day (and a year) away that fit the folded curve almost as well. So
the search runs in four steps:

1. **Candidates.** The floating-mean Lomb–Scargle periodogram (:mod:`.periodogram`) on a grid of
   ``coarse_oversample`` points per peak width (1 / time span), from 1 / span (or 1 /
   ``max_period``) to 1 / ``min_period``; the same transforms give the *spectral window* (the
   periodogram of the sampling alone). Its strongest peaks (``window_peaks``, e.g. 1 and 2 c/d
   and 1/yr for a ground survey) are where the sampling itself puts power: a window of
   ``daily_alias_width`` c/d (at least 1.5 peak widths) around each of those faster than
   :data:`MIN_MASKED_WINDOW`, and around their sums (2 to 6 c/d), is masked — a peak there is a
   long period's or a trend's alias; in the scan, and for every candidate after it, none of whose
   first ``harmonics`` multiples may fall there (a model with a harmonic on the window fits the
   same alias). The ``n_candidates`` highest local maxima are refined on
   a grid ``refine_factor`` times finer with the exact periodogram; the strongest is the
   *reference*.
2. **Variants.** For the ``n_variants`` strongest candidates: their alias partners ``|f ± w|`` and
   ``|f − k w|`` nearest zero frequency, for each window peak ``w`` (the true peak of an alias pair
   need not be the taller one, and a slow star's tallest peak may be several cycles a day away), and
   their half frequency ``f/2`` (an eclipsing binary's orbital frequency, which a sine finds at
   twice its value) when the curve covers ``min_subharmonic_cycles`` of it. These strongest
   candidates and their halves are placed by the multi-harmonic fit (within a fine step), not by
   single-sine power, which is near noise at a binary's orbital frequency — and a narrow eclipse
   smears out over a long span at the fine grid's resolution.
3. **Decision.** Every candidate is scored by two models of the curve folded at it — a
   ``harmonics``-term Fourier series (smooth pulsators) and a phase-binned mean (eclipses too
   narrow for a few harmonics) — each fitted *jointly* with a trend on time scales much longer
   than the candidate period only: an offset per observing season (gaps over ``season_gap_days``)
   when the period is shorter than a ``trend_periods``-th of the typical season, a straight line
   when it is shorter than a ``trend_periods``-th of the span, nothing otherwise — so a slow trend,
   a seasonal zero-point drift or an imperfect band merge cannot decide between short periods, and
   a long period is never detrended away. The score is the Bayesian information criterion
   ``n ln(RSS/n) + k ln n`` (noise scale free, so a survey's error bars cannot tip it). Another
   candidate replaces the strongest peak if its criterion is better by ``decisive_bic``; then the
   winner's aliases — candidates whose frequency differs from it by one where the spectral window
   is strong (``alias_window_level``, checked exactly on the unfolded times), and its own partners
   through the window peaks — replace it when they fit better by ``alias_bic`` (the true peak of
   an alias pair fits the data better than its alias), each pair fitted with the slower one's trend
   (so season offsets fitted with the faster one cannot take the slower one's variation). Last, a
   prior: a choice within ``slow_alias_width`` of a masked window (a period within ~1 % of 1 d,
   1/2 d or 1/3 d) is taken for the slow variation it aliases, since the night's own systematics
   can make such an alias fit better than the slow star itself.
4. **Polish.** The chosen frequency is optimised locally (the multi-harmonic fit's residual,
   within one fine step), so the fold does not drift over a long span; its significance is the false-alarm
   probability of its Lomb–Scargle power over the whole grid (Baluev 2008, through astropy),
   also on the fast path, which scans no grid but knows it.

The cost is linear in the number of coarse trial frequencies; :func:`refine_period` repeats steps
1 (refinement only) to 4 near known candidates with the window peaks the full search found (the
stream's fast path, see :attr:`PeriodResult.candidates` — which include the aliases and variants
the full search scored — and :attr:`PeriodResult.window`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
from astropy.timeseries import LombScargle
from scipy.optimize import minimize_scalar

from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.periodogram import lomb_scargle

#: Sub-harmonics tried as variants: f/2 (f/3 and f/4 were tried: nested with k times the harmonics they
#: moved semi-regular LPVs, Blazhko and type II Cepheids to 2-4 P; with the same harmonics, double-mode RR
#: Lyrae to 3-4 P — measured on the Catalina sample of benchmarks/periods.py).
SUBHARMONICS = (2,)
#: Smallest false-alarm probability reported (below it the number means nothing).
MIN_FAP = 1e-300
#: Spectral-window peaks at or above this frequency (c/d) are masked: the nightly aliases of a
#: trend. Slower window peaks (a year, a satellite's scanning law) are only alias sources — a
#: real long period may sit there.
MIN_MASKED_WINDOW = 0.5
#: A choice near a masked window is the alias of its slow partner when, fitted with that partner's
#: trend, it explains less than this many times the variance the partner explains.
SLOW_ALIAS_RATIO = 2.0
#: Sums of up to this many masked window peaks are masked too.
MASKED_MULTIPLES = 6


@dataclass(frozen=True)
class PeriodSearchConfig:
    """Settings of :func:`find_period` (periods in days, frequencies in cycles per day).

    Attributes:
        min_period: shortest trial period. 0.05 d (20 c/d) covers the delta Scuti stars of the
            surveys read here (Catalina's shortest catalogued period is 0.066 d); the shortest SX
            Phoenicis and high-amplitude delta Scuti stars (down to ~0.02 d) need a smaller value,
            and the coarse scan's cost grows as 1 / min_period — a setting, recorded in each model
            card, not a constant.
        max_period: longest trial period; the curve's time span is used when it is shorter.
        coarse_oversample: coarse grid points per peak width (1 / time span).
        n_candidates: local maxima of the coarse periodogram that are refined and scored.
        refine_factor: the refinement grid is this many times finer than the coarse one.
        max_frequencies: cap on the coarse grid size (guards against absurd time spans).
        daily_alias_width: least half-width of the masked window around each spectral-window
            peak (c/d); 0 disables the mask.
        window_peaks: strongest spectral-window peaks whose aliases are masked and tried.
        min_window_power: a window peak weaker than this (0..1) is not an alias source.
        alias_window_level: window power at the difference of two frequencies above which they
            are aliases of each other.
        harmonics: Fourier terms of the scoring model.
        max_bins: phase bins of the binned scoring model at most (fewer for short curves: about
            eight points a bin, at least five bins).
        n_variants: candidates (by power) whose aliases and sub-harmonics are scored too.
        decisive_bic: how much better another candidate must fit to replace the strongest peak
            ("very strong" evidence on the scale of Kass & Raftery 1995).
        alias_bic: how much better an alias must fit to replace the chosen candidate ("strong"
            evidence: two modes or the night's systematics leave an alias pair within a few units).
        season_gap_days: a gap longer than this starts a new observing season.
        min_season_points: a season with fewer points shares the offset of the one before.
        trend_periods: the trend fitted with a candidate changes on time scales at least this many
            times its period (see the module notes).
        slow_alias_width: a chosen frequency this close (c/d) to a masked window stands for the
            slow variation it is the alias of (periods beyond 1 / width = 100 d; see
            :func:`_slow_partner`); 0 disables.
        min_subharmonic_cycles: a half frequency is tried only if the curve covers at least this
            many of its cycles (see :func:`_subharmonics`).
    """

    min_period: float = 0.05
    max_period: float = 2000.0
    coarse_oversample: float = 2.0
    n_candidates: int = 12
    refine_factor: int = 5
    max_frequencies: int = 1_000_000
    daily_alias_width: float = 0.002
    window_peaks: int = 3
    min_window_power: float = 0.2
    alias_window_level: float = 0.25
    harmonics: int = 4
    max_bins: int = 40
    n_variants: int = 2
    decisive_bic: float = 10.0
    alias_bic: float = 1e9
    season_gap_days: float = 60.0
    min_season_points: int = 40
    trend_periods: float = 3.0
    slow_alias_width: float = 0.01
    min_subharmonic_cycles: float = 100.0


@dataclass(frozen=True)
class PeriodResult:
    """The period of a curve and what the search learnt.

    Attributes:
        period: best period in days.
        power: Lomb–Scargle power at the best frequency (standard normalisation, 0..1).
        fap: false-alarm probability of that power over the search's frequency range (Baluev
            2008): the chance that noise alone gives a peak this high (0..1).
        n_frequencies: trial frequencies scanned on the coarse grid (0 for a refinement).
        explained: share of the variance that the better scoring model explains at the period (0..1).
        candidates: the refined candidate frequencies (c/d), the chosen one first, then the other
            peaks and the aliases and variants scored: a later :func:`refine_period` of the same,
            grown curve looks only near them.
        cycles: time span of the curve over the period (how many cycles it covers).
        window: the spectral-window peaks (c/d) of the full search (its masks and alias sources),
            which a later :func:`refine_period` uses again.
    """

    period: float
    power: float
    fap: float
    n_frequencies: int
    explained: float = 0.0
    candidates: tuple[float, ...] = ()
    cycles: float = 0.0
    window: tuple[float, ...] = ()

    @property
    def frequency(self) -> float:
        """Best frequency in cycles per day."""
        return 1.0 / self.period

    @property
    def significance(self) -> float:
        """``-log10`` of the false-alarm probability (0 for noise, large for a clear period)."""
        return float(-np.log10(max(self.fap, MIN_FAP)))


@dataclass(frozen=True)
class _Curve:
    """The curve as the search sees it: times from the first point (days), magnitudes minus their
    weighted mean, errors, weights, the time span (days), each point's observing season and the
    typical season length (days)."""

    t: np.ndarray
    y: np.ndarray
    dy: np.ndarray
    w: np.ndarray
    span: float
    season: np.ndarray
    n_seasons: int
    season_days: float


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
    raw = np.concatenate([[0], np.cumsum(np.diff(t) > config.season_gap_days)])
    # a season with too few points joins the one before (its own offset would take its signal)
    label, current = np.zeros(int(raw.max()) + 1, dtype=np.int64), 0
    for s, count in enumerate(np.bincount(raw)):
        if s > 0 and count >= config.min_season_points and np.sum(raw < s) >= config.min_season_points:
            current += 1
        label[s] = current
    season = label[raw]
    n_seasons = current + 1
    lengths = [float(np.ptp(t[season == s])) for s in range(n_seasons)]
    return _Curve(t, mags - mean, errors, w, span, season, n_seasons, float(np.median(lengths)))


def frequency_grid(span: float, config: PeriodSearchConfig) -> tuple[float, float, float, int]:
    """``(fmin, fmax, df, n)`` of the coarse grid (c/d) for a curve spanning ``span`` days."""
    fmax = 1.0 / config.min_period
    fmin = 1.0 / min(config.max_period, span)
    if fmin >= fmax:
        fmin = fmax / 10.0
    df = 1.0 / (config.coarse_oversample * span)
    n = int(np.ceil((fmax - fmin) / df)) + 1
    if n > config.max_frequencies:
        n = config.max_frequencies
        df = (fmax - fmin) / (n - 1)
    return fmin, fmax, df, max(n, 16)


def window_power(t: np.ndarray, w: np.ndarray, f: np.ndarray | float) -> np.ndarray:
    """The spectral window ``|Σ w e^{2πi f t}|² / (Σ w)²`` at frequencies ``f`` (c/d): 1 at f = 0,
    near 1 wherever the sampling repeats (one cycle a day for a ground survey)."""
    f = np.atleast_1d(np.asarray(f, dtype=np.float64))
    z = np.exp(2j * np.pi * np.outer(f, t)) @ w
    return np.abs(z) ** 2 / float(np.sum(w)) ** 2


def _window_peaks(window: np.ndarray, fmin: float, df: float, span: float, config: PeriodSearchConfig) -> list[float]:
    """The strongest local maxima of the coarse spectral window away from zero frequency."""
    if config.window_peaks <= 0:
        return []
    freqs = fmin + df * np.arange(window.size)
    inner = np.flatnonzero((window[1:-1] >= window[:-2]) & (window[1:-1] >= window[2:])) + 1
    inner = inner[(freqs[inner] > 3.0 / span) & (window[inner] >= config.min_window_power)]
    top = inner[np.argsort(window[inner])[::-1][: config.window_peaks]]
    return sorted(float(freqs[i]) for i in top)


def _masked_centres(peaks: list[float], fmax: float) -> list[float]:
    """The masked frequencies: the sums of up to :data:`MASKED_MULTIPLES` spectral-window peaks of at
    least :data:`MIN_MASKED_WINDOW` c/d (a trend's aliases at 1 to 6 c/d, solar and sidereal)."""
    fast = [w for w in peaks if w >= MIN_MASKED_WINDOW]
    sums = {sum(c) for k in range(1, MASKED_MULTIPLES + 1) for c in combinations_with_replacement(fast, k)}
    return sorted(f for f in sums if f <= fmax)


def _mask_half_width(span: float, config: PeriodSearchConfig) -> float:
    return max(config.daily_alias_width, 1.5 / span) if config.daily_alias_width > 0 else 0.0


def _outside(freqs: list[float], centres: list[float], half: float, harmonics: int) -> list[float]:
    """The frequencies none of whose first ``harmonics`` multiples is within ``half`` of a masked
    centre (a model with a harmonic on the window's own frequencies fits a trend's alias)."""
    if not centres:
        return list(freqs)
    c = np.asarray(centres)
    return [f for f in freqs
            if np.min(np.abs(f * np.arange(1, harmonics + 1)[:, None] - c[None, :])) >= half]


def _mask_grid(power: np.ndarray, fmin: float, df: float, centres: list[float], half: float) -> None:
    """Zero the masked windows around the masked centres in place (by index)."""
    for centre in centres:
        lo = max(int(np.ceil((centre - half - fmin) / df)), 0)
        hi = min(int(np.floor((centre + half - fmin) / df)) + 1, power.size)
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
    grids = [g[(g >= fmin) & (g <= fmax)] for g in grids]
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


def _trend_columns(curve: _Curve, f: float, config: PeriodSearchConfig) -> np.ndarray:
    """The trend fitted jointly with a model at frequency ``f`` (see the module notes): season
    offsets, a line, or nothing — ``(columns, n)``, without the constant. (``f`` is the frequency
    whose period sets the trend's time scale, the slower of an alias pair when two are compared.)"""
    period = 1.0 / f
    if curve.n_seasons > 1 and period * config.trend_periods <= curve.season_days:
        return (curve.season[None, :] == np.arange(1, curve.n_seasons)[:, None]).astype(np.float64)
    if period * config.trend_periods <= curve.span:
        return (curve.t / curve.span - 0.5)[None, :]
    return np.empty((0, curve.t.size))


def _rss(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted residual sum of squares of the least-squares fit of ``y`` by the rows of ``design``."""
    return float(np.sum(w * (y - _lstsq_coef(design, y, w) @ design) ** 2))


def _binned_rss(idx: np.ndarray, bins: int, y: np.ndarray, w: np.ndarray, trend: np.ndarray) -> tuple[float, int]:
    """Residual of a mean per phase bin plus the ``trend`` columns (weighted least squares), and the
    number of occupied bins — by projecting the bin means out of ``y`` and the trend (Frisch–Waugh),
    O(n) per trend column instead of a design with a column per bin."""
    sw = np.bincount(idx, weights=w, minlength=bins)
    safe = np.maximum(sw, 1e-300)

    def within(v: np.ndarray) -> np.ndarray:
        return v - (np.bincount(idx, weights=w * v, minlength=bins) / safe)[idx]

    ry = within(y)
    if trend.shape[0]:
        rt = np.vstack([within(row) for row in trend])
        ry = ry - _lstsq_coef(rt, ry, w) @ rt
    return float(np.sum(w * ry**2)), int(np.count_nonzero(sw))


def _lstsq_coef(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares coefficients of ``y`` on the rows of ``design``."""
    weighted = design * w
    try:
        return np.linalg.solve(weighted @ design.T, weighted @ y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq((design * np.sqrt(w)).T, y * np.sqrt(w), rcond=None)[0]


def _fourier_design(curve: _Curve, f: float, k: int) -> np.ndarray:
    z = np.exp(2j * np.pi * np.mod(curve.t * f, 1.0))
    powers = np.cumprod(np.broadcast_to(z, (k, curve.t.size)), axis=0)   # e^{i j 2π φ}, j = 1..k
    return np.vstack([np.ones(curve.t.size), powers.imag, powers.real])  # (2k + 1, n)


def _score(curve: _Curve, f: float, config: PeriodSearchConfig, trend_f: float | None = None) -> tuple[float, float]:
    """The better (smaller) Bayesian information criterion of the Fourier and the phase-binned
    model at frequency ``f`` (c/d), each with the trend of ``trend_f`` (default ``f``), and the
    share of the variance that model explains."""
    n = curve.t.size
    y, w = curve.y, curve.w
    total = float(np.sum(w * y**2))
    trend = _trend_columns(curve, f if trend_f is None else trend_f, config)
    k = int(min(config.harmonics, max(1, (n - 3 - trend.shape[0]) // 2)))
    rss_fourier = _rss(np.vstack([_fourier_design(curve, f, k), trend]), y, w)
    bins = int(np.clip(n // 8, 5, config.max_bins))
    idx = np.minimum((np.mod(curve.t * f, 1.0) * bins).astype(np.int64), bins - 1)
    rss_binned, occupied = _binned_rss(idx, bins, y, w, trend)
    floor = 1e-12 * max(total, 1e-300)
    extra = trend.shape[0]
    bic_fourier = n * np.log(max(rss_fourier, floor) / n) + (2 * k + 1 + extra) * np.log(n)
    bic_binned = n * np.log(max(rss_binned, floor) / n) + (occupied + extra) * np.log(n)
    rss = rss_fourier if bic_fourier <= bic_binned else rss_binned
    explained = 1.0 - rss / total if total > 0 else 0.0
    return float(min(bic_fourier, bic_binned)), float(np.clip(explained, 0.0, 1.0))


def _fourier_rss(curve: _Curve, f: float, config: PeriodSearchConfig) -> float:
    k = int(min(config.harmonics, max(1, (curve.t.size - 3) // 2)))
    return _rss(_fourier_design(curve, f, k), curve.y, curve.w)


def _best_near(curve: _Curve, f0: float, half_width: float, config: PeriodSearchConfig, fmin: float,
               fmax: float) -> float:
    """The frequency within ``half_width`` of ``f0`` where the multi-harmonic model fits best
    (bounded scalar minimisation of its residual)."""
    lo, hi = max(f0 - half_width, fmin), min(f0 + half_width, fmax)
    if hi <= lo:
        return float(np.clip(f0, fmin, fmax))
    res = minimize_scalar(lambda f: _fourier_rss(curve, f, config), bounds=(lo, hi), method="bounded",
                          options={"xatol": half_width * 0.02})
    return float(res.x) if _fourier_rss(curve, res.x, config) <= _fourier_rss(curve, f0, config) else f0


def _variants(curve: _Curve, refined: list[tuple[float, float]], window: list[float], df: float,
              config: PeriodSearchConfig, fmin: float, fmax: float) -> list[float]:
    """Step 2 of the module notes: alias partners and sub-harmonics of the strongest candidates."""
    partners, out = [], []
    step = df / config.refine_factor
    for f, _ in refined[: config.n_variants]:
        partners += [g for w in window for g in _partners(f, w) if fmin <= g <= fmax]
        out += [_best_near(curve, g, 0.5 * step, config, fmin, fmax)
                for g in _subharmonics(f, fmin, curve.span, config.min_subharmonic_cycles)]
    return [g for g, _ in _refine(curve, partners, df, config, fmin, fmax)] + out


def _allowed(curve: _Curve, freqs: list[float], masked: list[float], half: float,
             config: PeriodSearchConfig) -> list[float]:
    """Candidates outside the masked windows; a sub-harmonic must keep ``slow_alias_width`` from them
    (its extra harmonics would otherwise fit the night's systematics: a nested model always fits a
    little better, and there the gain is the window's, not the star's)."""
    return _outside(freqs, masked, max(half, config.slow_alias_width) if freqs else half, config.harmonics)


def _partners(f: float, w: float) -> list[float]:
    """The aliases of ``f`` (c/d) through a window peak ``w``: its neighbours ``f ± w`` and the two
    closest to zero frequency, ``|f − k w|`` for ``k = ⌊f / w⌋`` and ``k + 1`` (a slow star seen
    through its alias several cycles a day away)."""
    k = int(f // w)
    return sorted({f + w, abs(f - w), abs(f - k * w), abs(f - (k + 1) * w)} - {f})


def _subharmonics(f: float, fmin: float, span: float, min_cycles: float) -> list[float]:
    """Exactly ``f/2`` (not re-placed by single-sine power, which is near noise at an eclipsing
    binary's orbital frequency; the chosen one is polished by the multi-harmonic fit) — when the
    curve covers at least ``min_cycles`` of it: over fewer cycles, a semi-regular star's cycle-to-
    cycle changes fit an alternation as well as a binary's unequal minima do."""
    return [f / k for k in SUBHARMONICS if f / k >= fmin and span * f / k >= min_cycles]


def _aliases(curve: _Curve, f_ref: float, freqs: list[float], config: PeriodSearchConfig) -> np.ndarray:
    """Which of ``freqs`` are aliases of ``f_ref``: their difference is a frequency where the
    spectral window of the curve's times is strong (and more than a peak width)."""
    diff = np.abs(np.asarray(freqs) - f_ref)
    strong = window_power(curve.t, curve.w, diff) >= config.alias_window_level
    return strong & (diff > 1.5 / curve.span)


def _decide(curve: _Curve, refined: list[tuple[float, float]], extra: list[float], window: list[float],
            df: float, config: PeriodSearchConfig, fmin: float, fmax: float,
            masked: list[float], half: float) -> tuple[float, float, tuple[float, ...]]:
    """Step 3 of the module notes on candidates ordered by power (``extra``: variants): ``(frequency,
    explained, candidates)``.

    (a) a candidate replaces the strongest peak if it fits better by ``decisive_bic``; (b) the
    winner's aliases — those in the pool and its partners through ``window`` — then replace it
    when they fit better by ``alias_bic``, each pair compared with the slower one's trend."""
    pool, seen = [], set()
    for f in [f for f, _ in refined] + extra:
        key = round(f, 9)
        if key not in seen:
            seen.add(key)
            pool.append(f)
    scores = [_score(curve, f, config) for f in pool]
    best = 0
    for i in range(1, len(pool)):
        if scores[0][0] - scores[i][0] > config.decisive_bic and scores[i][0] < scores[best][0]:
            best = i
    chosen, explained = pool[best], scores[best][1]
    if chosen not in [f for f, _ in refined[: config.n_variants]]:     # else its partners are in the pool
        own = [g for w in window for g in _partners(chosen, w) if fmin <= g <= fmax]
        own = [g for g, _ in _refine(curve, own, df, config, fmin, fmax) if round(g, 9) not in seen]
        pool += _outside(own, masked, half, config.harmonics)
    family = [f for f, a in zip(pool, _aliases(curve, chosen, pool, config)) if a and f != chosen]
    for f in family:
        slow = min(chosen, f)
        bic_chosen = _score(curve, chosen, config, slow)[0]
        bic, share = _score(curve, f, config, slow)
        if bic_chosen - bic > config.alias_bic and _aliases(curve, chosen, [f], config)[0]:
            chosen, explained = f, share
    slow = _slow_partner(curve, chosen, masked, df, config, fmin, fmax)
    if slow is not None:
        chosen, explained = slow, _score(curve, slow, config)[1]
        pool.append(slow)
    candidates = (chosen,) + tuple(f for f in pool if f != chosen)
    return chosen, explained, candidates


def _slow_partner(curve: _Curve, f: float, masked: list[float], df: float, config: PeriodSearchConfig,
                  fmin: float, fmax: float) -> float | None:
    """The slow variation a choice just outside a masked window stands for: when ``f`` is within
    ``slow_alias_width`` of a masked centre ``c`` (a period within about 1 % of 1 d, 1/2 d, 1/3 d),
    the frequency ``|f − c|`` refined — if ``f``'s fit, with that slow frequency's trend (no season
    offsets), explains less than :data:`SLOW_ALIAS_RATIO` times what the slow frequency explains
    (``None`` otherwise, or when it is below the grid). On nightly sampling with seasons, the alias
    of a slow star fits well only through the season offsets fitted with it; a real period near a
    third of a day (RR Lyrae) keeps its fit without them."""
    if not masked or config.slow_alias_width <= 0:
        return None
    c = min(masked, key=lambda m: abs(f - m))
    slow = abs(f - c)
    if slow >= config.slow_alias_width or slow < fmin:
        return None
    slow = _refine(curve, [slow], df, config, fmin, fmax)[0][0]
    # the alias's fit comes from the season offsets fitted with it: with the slow star's trend it
    # explains less than twice what the slow star does (a real short period keeps its fit)
    alone = _score(curve, f, config, slow)[1]
    return slow if alone < SLOW_ALIAS_RATIO * _score(curve, slow, config)[1] else None


def _finish(curve: _Curve, chosen: float, explained: float, candidates: tuple[float, ...], df: float,
            config: PeriodSearchConfig, fmin: float, fmax: float, n_frequencies: int,
            window: tuple[float, ...], polished: bool = False) -> PeriodResult:
    """Step 4: polish the chosen frequency (unless the variants step already placed it by the fit),
    its power and false-alarm probability."""
    f = chosen if polished else _best_near(curve, chosen, df / config.refine_factor, config, fmin, fmax)
    ls = LombScargle(curve.t, curve.y, curve.dy)
    power = float(np.nan_to_num(ls.power(np.array([f]), method="cython")[0], nan=0.0))
    fap = float(ls.false_alarm_probability(min(power, 1.0 - 1e-12), method="baluev", minimum_frequency=fmin,
                                           maximum_frequency=fmax))
    fap = float(np.clip(np.nan_to_num(fap, nan=1.0), MIN_FAP, 1.0))
    return PeriodResult(period=float(1.0 / f), power=power, fap=fap, n_frequencies=n_frequencies,
                        explained=explained, candidates=(f,) + candidates[1:], cycles=float(curve.span * f),
                        window=tuple(window))


def _search(curve: _Curve, refined: list[tuple[float, float]], peaks: tuple[float, ...], df: float,
            config: PeriodSearchConfig, fmin: float, fmax: float, n_frequencies: int) -> PeriodResult:
    """Steps 2–4 of the module notes on refined candidates (``peaks``: the spectral-window peaks)."""
    centres, half = _masked_centres(list(peaks), fmax), _mask_half_width(curve.span, config)
    kept = set(_outside([f for f, _ in refined], centres, half, config.harmonics)) or {refined[0][0]}
    refined = [fp for fp in refined if fp[0] in kept]
    # the strongest candidates placed by the multi-harmonic fit within one fine step, as their half
    # frequencies will be: a narrow eclipse smears out over a long span at the fine grid's resolution
    step = df / config.refine_factor
    refined = [(_best_near(curve, f, step, config, fmin, fmax), p) if i < config.n_variants else (f, p)
               for i, (f, p) in enumerate(refined)]
    variants = _variants(curve, refined, list(peaks), df, config, fmin, fmax)
    n_partners = len(variants) - sum(len(_subharmonics(f, fmin, curve.span, config.min_subharmonic_cycles))
                                     for f, _ in refined[: config.n_variants])
    extra = (_outside(variants[:n_partners], centres, half, config.harmonics)
             + _allowed(curve, variants[n_partners:], centres, half, config))
    chosen, explained, candidates = _decide(curve, refined, extra, list(peaks), df, config, fmin, fmax, centres,
                                            half)
    placed = {f for f, _ in refined[: config.n_variants]} | set(extra[n_partners:])
    return _finish(curve, chosen, explained, candidates, df, config, fmin, fmax, n_frequencies, peaks,
                   chosen in placed)


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
    fmin, fmax, df, n = frequency_grid(curve.span, config)
    power, window = lomb_scargle(curve.t, curve.y, curve.dy, fmin, df, n, window=True)
    peaks = tuple(_window_peaks(window, fmin, df, curve.span, config))
    _mask_grid(power, fmin, df, _masked_centres(list(peaks), fmax), _mask_half_width(curve.span, config))
    inner = np.flatnonzero((power[1:-1] >= power[:-2]) & (power[1:-1] >= power[2:]) & (power[1:-1] > 0)) + 1
    if inner.size > config.n_candidates:
        inner = inner[np.argpartition(power[inner], -config.n_candidates)[-config.n_candidates:]]
    maxima = inner.tolist() if inner.size else [int(np.argmax(power))]
    refined = sorted(_refine(curve, [fmin + df * i for i in maxima], df, config, fmin, fmax), key=lambda fp: -fp[1])
    return _search(curve, refined, peaks, df, config, fmin, fmax, n)


def refine_period(object_id: str, times: np.ndarray, mags: np.ndarray, errors: np.ndarray,
                  candidates: tuple[float, ...], config: PeriodSearchConfig = PeriodSearchConfig(),
                  window: tuple[float, ...] = ()) -> PeriodResult:
    """The period near known candidate frequencies (c/d) only — the refinement, variants, decision
    and polish of :func:`find_period` without its coarse scan, on the grid a full search of this
    curve would use, with the spectral-window peaks (``window``, c/d) that search found. The
    stream's fast path for a curve that grew by a few points.

    Raises:
        LightCurveError: as :func:`find_period`, or no candidate inside the search range.
    """
    curve = _prepare(object_id, times, mags, errors, config)
    fmin, fmax, df, _ = frequency_grid(curve.span, config)
    # on the lattice the full search of this curve refines on: a candidate whose coarse peak has
    # not moved is refined exactly as the full search would (the same fine frequencies)
    inside = sorted({fmin + df * round((f - fmin) / df) for f in candidates if fmin <= f <= fmax})
    if not inside:
        raise LightCurveError(object_id, "no candidate frequency inside the search range")
    refined = sorted(_refine(curve, inside, df, config, fmin, fmax), key=lambda fp: -fp[1])
    return _search(curve, refined, tuple(window), df, config, fmin, fmax, 0)
