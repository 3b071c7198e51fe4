"""Survey emulation: re-observe a training curve the way another survey would have seen it.

A model trained on one survey's curves learns that survey's cadence, span, noise and band as much
as the stars. To learn the stars, every training curve (real or GP-synthetic) is also observed
again by other surveys:

1. **The star's model.** The curve is folded at its period (the catalogue period when the dataset
   has one, else the pipeline's) and smoothed (:func:`~varstream.lightcurve.clean.folded_model`,
   SuperSmoother); what the fold does not explain (Blazhko modulation, spot evolution, the
   irregular part of a semi-regular variable) is kept as the curve's own residuals in time, with
   the photometric noise taken out (scaled by ``sqrt(1 - σ²/var)``). A new observation at time
   ``t`` is the fold at ``t``'s phase plus the residual of the original point nearest to ``t``
   (times wrapped onto the original span). Half of the emulations of long-period variables, delta
   Scuti and rotational variables are widened to the periods and amplitudes their class has in
   other surveys (:data:`WIDEN`): the star's time scale stretched, its amplitude rescaled; widened
   long-period variables also get an irregular part (:data:`IRREGULAR`), as semi-regular ones have.
2. **The survey.** A :class:`Survey` draws the new times, the quoted errors (its own
   error–magnitude relation) and the noise actually added (quoted error times the survey's ratio of
   real scatter to quoted error, measured per curve), an outlier rate, and the star's brightness
   in that survey. The shape's amplitude is scaled by a band factor (pulsators are larger in g
   than in V and smaller in Gaia's broad G). A multi-band survey gives each observation a band,
   scales the shape by that band's amplitude ratio to g for the star's family
   (:data:`BAND_AMPLITUDES`) and offsets it by the star's colour in that band (random: the band
   step fits offsets, whatever they are); the curve carries the bands in ``aux["band"]``, as
   alerts do.
3. **Prefixes.** A stream classifies a star from its first ~20 points on, so curves are also cut to
   their first N points (N log-uniform from ``min_prefix``).

Surveys (:func:`default_surveys`), each documented with its source:

- ``asassn``: times, quoted errors and magnitudes of the real ASAS-SN Sky Patrol curves of a
  dataset directory (nightly-to-3-day cadence, seasonal gaps, ~10-year spans, V then g); real
  scatter 1.6–10× the quoted errors (median 2.8, measured on pairs of points < 0.05 d apart);
- ``gaia``: times and errors of real Gaia DR3 epoch photometry (20–150 epochs in bursts over ~960 d,
  millimagnitude errors), G band;
- ``ground``: a parametric nightly ground survey — 1–10 years, an observing season of 5–9 months a
  year, each night observed with probability 0.15–0.8, 1–4 visits within 0.2 d, errors
  ``sqrt(σ0² + (0.02·10^(0.4(m − m_lim + 2.5)))²)`` with σ0 0.003–0.02 mag and limit m_lim 16–20;
- ``sparse``: a parametric space-astrometry-like scan — 40–70 epochs in groups of 2–6 within 0.3 d,
  groups at random times over 700–1100 d, errors 0.001–0.01 mag;
- ``ztf``: a parametric ZTF-like survey in g and r (and a little i) — 0.5–5 years, a season of 6–9
  months a year, each band revisited every 1–3 nights (the public survey's 2–3-night cadence in
  g and r, Bellm et al. 2019), 1–2 visits a night; 5σ depth g 20.8, r 20.6, i 19.9, saturation near
  13 mag (Masci et al. 2019);
- ``rubin``: a parametric Rubin/LSST-like wide-fast-deep survey in ugrizy — 0.5–10 years, a season
  of about 6 months, ~40–100 visits a year spread over the bands in the baseline's shares (u 6 %,
  g 9 %, r 22 %, i 22 %, z 20 %, y 21 %; Bianco et al. 2022), often in pairs ~30 min apart; 5σ
  depths u 23.9, g 25.0, r 24.7, i 24.0, z 23.3, y 22.1, saturation near 16–17 mag (Ivezić et al.
  2019);
- prefixes of any of them, or of the original cadence.

Only training folds are emulated for training; validation and test stars are emulated too, but only
to *report* how the models do on emulated versions of held-out stars (and to fit the ensemble's
weights and per-length calibration on validation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from varstream.lightcurve import LightCurve, LightCurveError, PipelineConfig
from varstream.lightcurve.bands import MIXED_BAND, combine_bands
from varstream.lightcurve.clean import downsample, folded_model, phase
from varstream.lightcurve.period import find_period
from varstream.lightcurve.sanitize import sanitize, usable_points
from varstream.lightcurve.taxonomy import family_of

log = logging.getLogger(__name__)

#: Bumped whenever an emulation of the same curve changes (cached emulated features are keyed by it).
EMULATION_VERSION = "5"
#: Physical ranges a family's emulations are widened to (period in days, peak-to-peak amplitude
#: in mag, log-uniform; None keeps the star's own), because Catalina samples only part of what
#: other surveys see (GCVS class definitions; Samus et al. 2017): its long-period variables are
#: mostly large-amplitude Miras (over 2.5 mag in V, kept by the unwidened half), while the
#: semi-regular and irregular ones other surveys see most have periods of 20-1000 d and amplitudes
#: from a few hundredths of a magnitude to 1-2 mag; its delta
#: Scuti stars are high-amplitude ones, while most have a few hundredths of a magnitude; its
#: rotational variables have periods of a fraction of a day, while spotted stars rotate in 0.3-60 d
#: with 0.02-0.5 mag.
WIDEN = {"LPV": ((20.0, 1000.0), (0.05, 2.0)), "DSCT": (None, (0.01, 0.8)), "ROT": ((0.3, 60.0), (0.02, 0.5))}
#: Share of emulations that are widened (the rest keep the star as it was observed).
WIDEN_SHARE = 0.5
#: Families whose widened emulations also get an irregular part, and the share of the variance it
#: takes (uniform in the range): semi-regular variables are "noticeably periodic, accompanied or
#: interrupted by irregularities", irregular ones (L) barely periodic at all (GCVS), while Catalina's
#: Miras repeat cycle after cycle. The irregular part is red noise (an Ornstein–Uhlenbeck process,
#: the damped random walk used for stochastic stellar and quasar variability, e.g. Kelly et al.
#: 2009) with a time scale of 0.3–3 periods.
IRREGULAR = {"LPV": (0.2, 0.8)}


#: Amplitude in each band relative to g, by family, for the multi-band surveys. Pulsators (RR, CEP,
#: DSCT): SDSS ugriz light curves of RR Lyrae stars, A_u/A_g ≈ 1.25, A_r/A_g ≈ 0.75, A_i/A_g ≈ 0.6,
#: A_z/A_g ≈ 0.55 (Sesar et al. 2010), y extrapolated; eclipsing binaries: nearly achromatic
#: eclipses of similar components (1 in every band); long-period variables: amplitudes fall steeply
#: to the red (a Mira's V amplitude is 2–3 times its I amplitude; e.g. Soszyński et al. 2009);
#: rotational variables: spot contrast falls slowly to the red.
BAND_AMPLITUDES: dict[str, dict[str, float]] = {
    "pulsating": {"u": 1.25, "g": 1.0, "r": 0.75, "i": 0.6, "z": 0.55, "y": 0.5},
    "ECL": {"u": 1.0, "g": 1.0, "r": 1.0, "i": 1.0, "z": 1.0, "y": 1.0},
    "LPV": {"u": 1.2, "g": 1.0, "r": 0.7, "i": 0.45, "z": 0.35, "y": 0.3},
    "ROT": {"u": 1.15, "g": 1.0, "r": 0.85, "i": 0.75, "z": 0.7, "y": 0.65},
}
#: Families that take the ``pulsating`` ratios.
PULSATING = ("RR", "CEP", "DSCT")


def band_amplitudes(family: str | None) -> dict[str, float]:
    """:data:`BAND_AMPLITUDES` of a family (pulsators' for an unknown one)."""
    if family in PULSATING or family not in BAND_AMPLITUDES:
        return BAND_AMPLITUDES["pulsating"]
    return BAND_AMPLITUDES[family]


@dataclass(frozen=True)
class Observation:
    """What a survey gives a star: times (days from its first), quoted errors and real noise (mag)
    as functions of magnitude, the band factor of amplitudes and the outlier rate. A multi-band
    survey also gives each observation's band (``point_bands``) and the star's colour in each band
    (``colours``, mag added to that band's points); ``band`` is then ``mixed``."""

    times: np.ndarray
    quoted_error: Callable[[np.ndarray], np.ndarray]
    noise_ratio: float
    band_factor: float
    outlier_rate: float
    band: str
    mean_mag: float
    point_bands: np.ndarray | None = None
    colours: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Survey:
    """A way of observing a star: ``draw(rng)`` returns an :class:`Observation` (``draw`` is a
    module-level function or a :class:`TemplateSurvey`, so surveys can be registered before worker
    processes fork)."""

    name: str
    draw: Callable[[np.random.Generator], Observation]
    weight: float = 1.0


#: Surveys by name, registered in the parent process before a pool forks (an :class:`Emulation`
#: carries only the name, not the cadences of a whole survey).
_REGISTRY: dict[str, Survey] = {}


def register(surveys: list[Survey]) -> None:
    """Make ``surveys`` known to :meth:`Emulation.build` (here and in processes forked later)."""
    _REGISTRY.update({s.name: s for s in surveys})


def _relation(mags: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median log10 quoted error in 0.5-mag bins: ``(bin centres, log10 error)``."""
    lo, hi = np.percentile(mags, [1, 99])
    edges = np.arange(np.floor(lo), np.ceil(hi) + 0.5, 0.5)
    centres, values = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        sel = (mags >= a) & (mags < b)
        if sel.sum() >= 20:
            centres.append(0.5 * (a + b))
            values.append(float(np.median(np.log10(errors[sel]))))
    return np.array(centres), np.array(values)


@dataclass
class TemplateSurvey:
    """Cadences and error–magnitude relation of a real survey's curves (see the module notes)."""

    name: str
    band: str
    cadences: list[np.ndarray]
    mags: np.ndarray
    relation: tuple[np.ndarray, np.ndarray]
    noise_ratio: tuple[float, float]        # log-normal: median, sigma of ln
    band_factor: tuple[float, float]
    outlier_rate: tuple[float, float]
    weight: float = 1.0

    @staticmethod
    def from_curves(name: str, curves: list[LightCurve], band: str, noise_ratio: tuple[float, float],
                    band_factor: tuple[float, float], outlier_rate: tuple[float, float], weight: float = 1.0,
                    min_points: int = 20) -> TemplateSurvey:
        cadences, mags, errs = [], [], []
        for lc in curves:
            ok = usable_points(lc.times, lc.mags, lc.errors)
            if ok.sum() < min_points:
                continue
            t = np.unique(lc.times[ok])
            cadences.append(t - t[0])
            mags.append(lc.mags[ok])
            errs.append(lc.errors[ok])
        m, e = np.concatenate(mags), np.concatenate(errs)
        return TemplateSurvey(name, band, cadences, np.array([np.median(x) for x in mags]), _relation(m, e),
                              noise_ratio, band_factor, outlier_rate, weight)

    def __call__(self, rng: np.random.Generator) -> Observation:
        centres, values = self.relation
        times = self.cadences[int(rng.integers(len(self.cadences)))]
        spread = rng.normal(0.0, 0.1)

        def quoted(m: np.ndarray) -> np.ndarray:
            return 10.0 ** (np.interp(m, centres, values) + spread)

        return Observation(times, quoted, float(np.exp(rng.normal(np.log(self.noise_ratio[0]), self.noise_ratio[1]))),
                           float(rng.uniform(*self.band_factor)), float(rng.uniform(*self.outlier_rate)), self.band,
                           float(rng.choice(self.mags)))

    def survey(self) -> Survey:
        return Survey(self.name, self, self.weight)


def ground_survey(rng: np.random.Generator) -> Observation:
    """The parametric nightly ground survey of the module notes."""
    years = rng.uniform(1.0, 10.0)
    season = rng.uniform(150.0, 270.0)
    p_night = rng.uniform(0.15, 0.8)
    nights = np.arange(int(years * 365.25))
    visible = np.mod(nights, 365.25) < season
    observed = nights[visible & (rng.uniform(size=nights.size) < p_night)].astype(float)
    if observed.size < 3:
        observed = np.sort(rng.uniform(0, years * 365.25, 20))
    visits = rng.integers(1, 5, observed.size)
    times = np.repeat(observed, visits) + rng.uniform(0.0, 0.2, int(visits.sum()))
    sigma0, m_lim = rng.uniform(0.003, 0.02), rng.uniform(16.0, 20.0)

    def quoted(m: np.ndarray) -> np.ndarray:
        return np.sqrt(sigma0**2 + (0.02 * 10.0 ** (0.4 * (m - m_lim + 2.5))) ** 2)

    times = np.sort(times)
    return Observation(times - times[0], quoted, float(rng.uniform(0.8, 1.5)), float(rng.uniform(0.9, 1.3)),
                       float(rng.uniform(0.0, 0.02)), "V", float(rng.uniform(m_lim - 6.0, m_lim - 1.0)))


def sparse_survey(rng: np.random.Generator) -> Observation:
    """The parametric space-astrometry-like scan of the module notes."""
    span = rng.uniform(700.0, 1100.0)
    epochs = int(rng.integers(40, 71))
    groups = []
    while sum(len(g) for g in groups) < epochs:
        start = rng.uniform(0.0, span)
        groups.append(start + np.sort(rng.uniform(0.0, 0.3, int(rng.integers(2, 7)))))
    times = np.sort(np.concatenate(groups))[:epochs]
    sigma = rng.uniform(0.001, 0.01)
    return Observation(times - times[0], lambda m: np.full(m.shape, sigma), float(rng.uniform(1.0, 2.0)),
                       float(rng.uniform(0.7, 1.0)), float(rng.uniform(0.0, 0.01)), "G", float(rng.uniform(8.0, 17.0)))


def _seasons(rng: np.random.Generator, years: float, season: float) -> np.ndarray:
    """Night numbers (days) within an observing season of ``season`` days each year."""
    nights = np.arange(max(int(years * 365.25), 1))
    return nights[np.mod(nights, 365.25) < season].astype(float)


def _depth_error(sigma0: float, depths: dict[str, float]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Quoted error (mag) of a point of magnitude ``m`` in band ``b``: a floor ``sigma0`` and the
    photon noise of a 5σ limit ``depths[b]`` (0.2 mag at the limit)."""
    def quoted(m: np.ndarray, b: np.ndarray) -> np.ndarray:
        limit = np.array([depths[x] for x in b])
        return np.sqrt(sigma0**2 + (0.2 * 10.0 ** (0.4 * (m - limit))) ** 2)
    return quoted


class _BandErrors:
    """``quoted_error(m)`` of a multi-band observation: the per-band relation at each point's band."""

    def __init__(self, relation: Callable[[np.ndarray, np.ndarray], np.ndarray], bands: np.ndarray):
        self.relation, self.bands = relation, bands

    def __call__(self, m: np.ndarray) -> np.ndarray:
        return self.relation(m, self.bands)


#: ZTF's 5σ depths (mag) in 30 s exposures (Masci et al. 2019) and its saturation (~13 mag).
ZTF_DEPTHS = {"g": 20.8, "r": 20.6, "i": 19.9}
#: Rubin's 5σ single-visit depths (mag; Ivezić et al. 2019) and the baseline's visit shares (Bianco et al. 2022).
RUBIN_DEPTHS = {"u": 23.9, "g": 25.0, "r": 24.7, "i": 24.0, "z": 23.3, "y": 22.1}
RUBIN_SHARES = {"u": 0.06, "g": 0.09, "r": 0.22, "i": 0.22, "z": 0.20, "y": 0.21}


def _colours(rng: np.random.Generator, bands: tuple[str, ...]) -> dict[str, float]:
    """Random colours relative to g (mag, redder bands brighter for most stars; any offsets do,
    since the pipeline fits them)."""
    step = rng.uniform(-0.1, 0.6)
    order = ("u", "g", "r", "i", "z", "y")
    return {b: float(-(order.index(b) - 1) * step + rng.normal(0, 0.05)) for b in bands}


def ztf_survey(rng: np.random.Generator) -> Observation:
    """The parametric ZTF-like survey of the module notes."""
    nights = _seasons(rng, rng.uniform(0.5, 5.0), rng.uniform(180.0, 270.0))
    times, bands = [], []
    for band, revisit in (("g", rng.uniform(1.0, 3.0)), ("r", rng.uniform(1.0, 3.0)), ("i", rng.uniform(8.0, 30.0))):
        seen = nights[rng.uniform(size=nights.size) < 1.0 / revisit]
        visits = rng.integers(1, 3, seen.size)
        t = np.repeat(seen, visits) + rng.uniform(0.0, 0.3, int(visits.sum()))
        times.append(t)
        bands.append(np.full(t.size, band))
    return _multiband(rng, times, bands, ZTF_DEPTHS, rng.uniform(0.01, 0.02), (13.5, 20.0))


def rubin_survey(rng: np.random.Generator) -> Observation:
    """The parametric Rubin-like survey of the module notes."""
    years = rng.uniform(0.5, 10.0)
    nights = _seasons(rng, years, rng.uniform(150.0, 210.0))
    per_year = rng.uniform(40.0, 100.0)
    n_visits = max(int(per_year * years), 3)
    chosen = np.sort(rng.choice(nights, size=n_visits))
    pairs = rng.uniform(size=n_visits) < 0.5                # a second visit ~30 min later, often another band
    t = np.concatenate([chosen, chosen[pairs] + 0.02])
    t = t + rng.uniform(0.0, 0.3, t.size)
    names = list(RUBIN_SHARES)
    bands = rng.choice(names, size=t.size, p=[RUBIN_SHARES[b] for b in names])
    return _multiband(rng, [t], [bands], RUBIN_DEPTHS, rng.uniform(0.005, 0.01), (17.0, 23.5))


def _multiband(rng: np.random.Generator, times: list[np.ndarray], bands: list[np.ndarray], depths: dict[str, float],
               sigma0: float, brightness: tuple[float, float]) -> Observation:
    t, b = np.concatenate(times), np.concatenate(bands)
    if t.size < 3:
        t, b = np.sort(rng.uniform(0, 365.0, 20)), np.full(20, "g")
    order = np.argsort(t, kind="stable")
    t, b = t[order], b[order].astype(str)
    return Observation(t - t[0], _BandErrors(_depth_error(sigma0, depths), b), float(rng.uniform(1.0, 1.5)),
                       float(rng.uniform(1.0, 1.35)), float(rng.uniform(0.0, 0.01)), MIXED_BAND,
                       float(rng.uniform(*brightness)), b, _colours(rng, tuple(sorted(set(b.tolist())))))


def red_noise(times: np.ndarray, timescale: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Ornstein–Uhlenbeck process at ``times`` (days, any order) with correlation
    ``exp(-|Δt| / timescale)`` (exact discretisation: ``x' = x e^{-Δt/τ} + sqrt(1 - e^{-2Δt/τ}) N(0, 1)``)."""
    order = np.argsort(times, kind="stable")
    decay = np.exp(-np.diff(times[order]) / timescale)
    kicks = rng.normal(size=times.size) * np.sqrt(np.concatenate([[1.0], 1.0 - decay**2]))
    x = np.empty(times.size)
    if times.size:
        x[0] = kicks[0]
    for i in range(1, times.size):
        x[i] = x[i - 1] * decay[i - 1] + kicks[i]
    out = np.empty(times.size)
    out[order] = x
    return out


@dataclass
class StarModel:
    """A curve as a function of time (see the module notes, step 1)."""

    object_id: str
    label: str | None
    period: float
    grid: np.ndarray
    values: np.ndarray
    residual_times: np.ndarray
    residuals: np.ndarray

    @staticmethod
    def fit(lc: LightCurve, config: PipelineConfig = PipelineConfig()) -> StarModel:
        """Raises LightCurveError for a curve that cannot be cleaned or folded."""
        cur, _ = sanitize(combine_bands(lc, config.sanitize, config.period), config.sanitize)
        cur = downsample(cur, config.bin_days, config.max_points)
        period = lc.meta.get("catalogue_period_days")
        if not isinstance(period, (int, float)) or not np.isfinite(period) or not 0.01 < period < 0.9 * cur.baseline:
            period = find_period(cur.object_id, cur.times, cur.mags, cur.errors, config.period).period
        model = folded_model(cur, float(period), grid_points=200)
        resid = model.residuals - np.median(model.residuals)
        noise = float(np.median(cur.errors) ** 2)
        var = float(np.var(resid))
        resid = resid * np.sqrt(max(var - noise, 0.0) / var) if var > 0 else resid * 0.0
        values = model.values - np.median(model.values)
        return StarModel(lc.object_id, lc.label, float(period), model.grid, values, cur.times - cur.times[0], resid)

    def at(self, times: np.ndarray, rng: np.random.Generator, period: float | None = None) -> np.ndarray:
        """Magnitudes (about 0) at ``times`` (days): the fold at a random phase plus the residuals;
        with another ``period`` the star's time scale is stretched (fold and residuals alike)."""
        stretch = 1.0 if period is None else period / self.period
        ph = np.mod(phase(times, self.period * stretch, epoch=0.0) + rng.uniform(), 1.0)
        shape = np.interp(ph, self.grid, self.values, period=1.0)
        own = times / stretch
        span = max(float(self.residual_times[-1]), 1e-9)
        shifted = np.mod(own + rng.uniform(0.0, span), span)
        j = np.clip(np.searchsorted(self.residual_times, shifted), 0, self.residuals.size - 1)
        return shape + self.residuals[j]


def observe(obs: Observation, shape: np.ndarray, band_ratios: dict[str, float],
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
    """A survey's measurements of a star whose light at ``obs.times`` is ``shape`` (mag about its
    mean level, already in the survey's band scale): the star's mean magnitude and, for a multi-band
    survey, each band's colour and amplitude ratio (``band_ratios``, jittered by ~10 % per band)
    added; the quoted errors of the survey's relation; noise of ``noise_ratio`` times the quoted
    errors; outliers of 0.3–2 mag at the survey's rate. Returns magnitudes, quoted errors (mag) and
    the ``aux`` columns (``band`` for a multi-band survey)."""
    aux = {}
    if obs.point_bands is not None:
        per_point = np.array([band_ratios.get(b, 1.0) for b in obs.point_bands])
        jitter = {b: float(np.exp(rng.normal(0.0, 0.1))) for b in obs.colours}
        per_point = per_point * np.array([jitter[b] for b in obs.point_bands])
        colour = np.array([obs.colours[b] for b in obs.point_bands])
        mags = obs.mean_mag + colour + per_point * shape
        aux = {"band": obs.point_bands}
    else:
        mags = obs.mean_mag + shape
    quoted = np.clip(obs.quoted_error(mags), 5e-4, 0.5)
    mags = mags + rng.normal(0.0, 1.0, mags.size) * quoted * obs.noise_ratio
    outliers = rng.uniform(size=mags.size) < obs.outlier_rate
    mags[outliers] += rng.choice([-1.0, 1.0], outliers.sum()) * rng.uniform(0.3, 2.0, outliers.sum())
    return mags, quoted, aux


def survey(name: str) -> Survey:
    """A registered survey (:func:`register`) by name."""
    return _REGISTRY[name]


@dataclass(frozen=True)
class Emulation:
    """One emulated curve to make: the source curve, the survey (None: its own cadence), the prefix
    length (None: whole) and the seed. Picklable, so worker processes build the curves."""

    source: LightCurve
    survey: str | None
    prefix: int | None
    seed: int
    tag: str = field(default="")

    def build(self) -> LightCurve:
        """The emulated curve. Raises LightCurveError when the source cannot be modelled."""
        rng = np.random.default_rng(self.seed)
        lc = self.source
        if self.survey is not None:
            model = StarModel.fit(lc)
            obs = _REGISTRY[self.survey].draw(rng)
            periods, amplitudes = WIDEN.get(family_of(lc.label), (None, None))
            widen = rng.uniform() < WIDEN_SHARE
            period = float(np.exp(rng.uniform(*np.log(periods)))) if widen and periods else None
            shape = model.at(obs.times, rng, period)
            share = IRREGULAR.get(family_of(lc.label)) if widen else None
            if share and shape.size > 1:
                s = rng.uniform(*share)
                tau = (period or model.period) * float(np.exp(rng.uniform(np.log(0.3), np.log(3.0))))
                shape = np.sqrt(1.0 - s) * shape + np.sqrt(s) * float(np.std(shape)) * red_noise(obs.times, tau, rng)
            factor = obs.band_factor
            if widen and amplitudes:
                amp = max(float(np.ptp(model.values)), 1e-3)
                factor *= np.exp(rng.uniform(*np.log(amplitudes))) / amp
            mags, quoted, aux = observe(obs, factor * shape, band_amplitudes(family_of(lc.label)), rng)
            t0 = float(lc.times.min()) if len(lc) else 0.0
            lc = LightCurve(f"{lc.object_id}@{self.survey}{self.tag}", t0 + obs.times, mags, quoted, obs.band,
                            label=lc.label, meta={"emulated": self.survey, "source": lc.object_id}, aux=aux)
        if self.prefix is not None:
            order = np.argsort(lc.times, kind="stable")[: self.prefix]
            lc = lc.select(np.sort(order)).with_values(object_id=f"{lc.object_id}[:{self.prefix}]",
                                                       meta={**lc.meta, "prefix": self.prefix})
        return lc


def default_surveys(data_root: Path | None) -> list[Survey]:
    """The surveys of the module notes; the template surveys only where their data exist."""
    from varstream.lightcurve.loaders.dataset import open_dataset

    surveys = [Survey("ground", ground_survey, 1.0), Survey("sparse", sparse_survey, 1.0),
               Survey("ztf", ztf_survey, 1.0), Survey("rubin", rubin_survey, 1.0)]
    if data_root is not None:
        for folder, name, band, ratio, band_factor, outliers in (
                ("asassn", "asassn", "g", (2.8, 0.5), (1.0, 1.35), (0.0, 0.02)),
                ("gaia_dr3", "gaia", "G", (1.5, 0.4), (0.75, 1.0), (0.0, 0.01))):
            path = data_root / folder
            if path.is_dir():
                curves = list(open_dataset(path).iter_lightcurves())
                surveys.append(TemplateSurvey.from_curves(name, curves, band, ratio, band_factor, outliers).survey())
    return surveys


def plan(curves: list[LightCurve], surveys: list[Survey], per_curve: int, prefixes: int, seed: int,
         min_prefix: int = 20, max_prefix: int = 300) -> list[Emulation]:
    """``per_curve`` emulations on randomly chosen surveys and ``prefixes`` prefix cuts (of the
    original or of a new survey's cadence) for every curve; deterministic for a seed. The surveys
    are registered (:func:`register`)."""
    register(surveys)
    rng = np.random.default_rng(seed)
    weights = np.array([s.weight for s in surveys], dtype=float)
    weights /= weights.sum()
    out = []
    for lc in curves:
        for k in range(per_curve):
            out.append(Emulation(lc, surveys[int(rng.choice(len(surveys), p=weights))].name, None,
                                 int(rng.integers(2**31)), f"#{k}"))
        for k in range(prefixes):
            n = int(np.exp(rng.uniform(np.log(min_prefix), np.log(max_prefix))))
            survey = surveys[int(rng.choice(len(surveys), p=weights))].name if rng.uniform() < 0.5 else None
            out.append(Emulation(lc, survey, n, int(rng.integers(2**31)), f"#p{k}"))
    return out


def build_safely(emulation: Emulation) -> LightCurve | None:
    """:meth:`Emulation.build`, or None (logged) when the source cannot be modelled."""
    try:
        return emulation.build()
    except LightCurveError as exc:
        log.info("no emulation of %s: %s", emulation.source.object_id, exc.reason)
        return None
