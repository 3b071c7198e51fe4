"""Simulated curves of what a survey's alert stream is mostly made of: not periodic variables.

A classifier that only knows periodic classes calls a supernova a Mira. These generators draw the
light of non-periodic sources on the cadences, errors, noise and outliers of the survey emulation
(:func:`varstream.offline.emulate.observe` on a registered :class:`~varstream.offline.emulate.Survey`),
so the class ``NONPER`` (:data:`~varstream.lightcurve.taxonomy.NONPERIODIC`) is learnt under the
same observing conditions as the periodic classes. Times in days, shapes in magnitudes about the
source's quiescent (or baseline) level, fluxes relative to it.

Kinds (:data:`KINDS`), each with its source:

- ``constant``: a constant star with noisy photometry — nothing but the survey's noise and
  outliers (the rate raised by up to 3 %: bogus-like points), half of them with a slow linear
  trend of up to ±0.1 mag over the span (calibration drift) and half with 1–3 calibration jumps of
  0.02–0.1 mag (a camera, filter or pipeline change);
- ``supernova``: one event, the analytic form of Bazin et al. (2009, A&A 499, 653),
  ``f ∝ exp(-(t - t0)/τ_fall) / (1 + exp(-(t - t0)/τ_rise))`` with τ_rise 1–10 d and τ_fall
  15–100 d (their SNLS fits; the slow end covers plateau-like declines); peak at the survey's
  brightness, observed from 30 d before to 250 d after the explosion, **detections only** (points
  whose quoted error is below 0.217 mag, i.e. 5σ), as an alert stream sends them;
- ``agn``: a damped random walk (Ornstein–Uhlenbeck process), the model of quasar optical
  variability of Kelly, Bechtold & Siemiginowska (2009, ApJ 698, 895) and MacLeod et al. (2010,
  ApJ 721, 1014): τ log-uniform 10–1,000 d, asymptotic rms log-uniform 0.05–1 mag;
- ``dwarf_nova``: quiescence 2–6 mag below outbursts that recur every 10–300 d (log-uniform,
  each interval scattered by ~30 %: quasi-periodic, not periodic), rising with an e-folding of
  0.3–1 d, a plateau of 0–1 d (5–12 d for one outburst in ten: superoutbursts) and a decline of
  0.5–1.5 d e-folding (~0.7–2 mag/d; Warner 1995, *Cataclysmic Variable Stars*, ch. 3); detections
  only;
- ``flare``: a flaring M dwarf — flares at 0.05–1 a day with full widths at half maximum of 7 min
  to 1.2 h and peak fluxes of 0.1–10 × the quiescent star (log-uniform), each with the empirical
  template of Davenport et al. (2014, ApJ 797, 122);
- ``microlensing``: a point-source point-lens event (Paczyński 1986, ApJ 304, 1),
  ``A(u) = (u² + 2) / (u √(u² + 4))``, ``u² = u0² + ((t - t0)/t_E)²``, u0 0.01–1, t_E log-uniform
  5–300 d (Mróz et al. 2019, ApJS 244, 29), blended with unlensed light (source fraction 0.1–1).

Simulated curves are made separately for the training, validation and test parts with their own
seeds (:data:`~varstream.offline.prepare.TRAIN_NONPERIODIC_SEED` …), so no held-out curve was
trained on.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from varstream.lightcurve import LightCurve
from varstream.lightcurve.taxonomy import NONPERIODIC
from varstream.offline import emulate

log = logging.getLogger(__name__)

#: Bumped whenever a simulated curve of the same seed changes (cached tables are keyed by it).
NONPERIODIC_VERSION = "1"
#: Share of each kind among the simulated curves.
KINDS: dict[str, float] = {"constant": 0.25, "supernova": 0.2, "agn": 0.2, "dwarf_nova": 0.1, "flare": 0.1,
                           "microlensing": 0.15}
#: A detection: quoted error below this (mag), i.e. signal-to-noise above 5.
DETECTION_ERROR = 2.5 / np.log(10) / 5
#: Fewest detections a transient curve keeps (it is redrawn otherwise).
MIN_DETECTIONS = 10


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def flux_to_mag(flux: np.ndarray) -> np.ndarray:
    """Magnitudes relative to the reference level of a flux ratio (1 → 0 mag, brighter negative)."""
    return -2.5 * np.log10(np.asarray(flux, dtype=float))


def bazin_flux(t: np.ndarray, t0: float, tau_rise: float, tau_fall: float) -> np.ndarray:
    """Bazin et al. (2009) flux, normalised to its peak (days)."""
    def log_flux(x: np.ndarray) -> np.ndarray:        # in logs: no overflow far before the event
        return -x / tau_fall - np.logaddexp(0.0, -x / tau_rise)

    x = np.asarray(t, dtype=float) - t0
    return np.exp(log_flux(x) - log_flux(np.array(bazin_peak_time(t0, tau_rise, tau_fall) - t0)))


def bazin_peak_time(t0: float, tau_rise: float, tau_fall: float) -> float:
    """Time of the maximum of :func:`bazin_flux` (days): ``t0 + τ_r ln(τ_f/τ_r − 1)`` (τ_f > τ_r)."""
    return t0 + tau_rise * np.log(tau_fall / tau_rise - 1.0)


def davenport_flare(x: np.ndarray) -> np.ndarray:
    """The flare template of Davenport et al. (2014): flux relative to the peak at ``x`` = time from
    the peak in units of the full width at half maximum (a 4th-order rise for −1 ≤ x < 0, two
    exponentials after)."""
    x = np.asarray(x, dtype=float)
    rise = 1 + 1.941 * x - 0.175 * x**2 - 2.246 * x**3 - 1.125 * x**4
    decay = 0.6890 * np.exp(-1.600 * np.clip(x, 0, None)) + 0.3030 * np.exp(-0.2783 * np.clip(x, 0, None))
    return np.where(x < -1, 0.0, np.where(x < 0, np.clip(rise, 0, None), decay))


def paczynski(t: np.ndarray, t0: float, u0: float, t_e: float) -> np.ndarray:
    """Magnification of a point source by a point lens (Paczyński 1986); times in days."""
    u = np.sqrt(u0**2 + ((np.asarray(t, dtype=float) - t0) / t_e) ** 2)
    return (u**2 + 2) / (u * np.sqrt(u**2 + 4))


def outburst_flux(t: np.ndarray, starts: np.ndarray, amplitude_mag: np.ndarray, tau_rise: np.ndarray,
                  plateau: np.ndarray, tau_decline: np.ndarray) -> np.ndarray:
    """Flux over quiescence (1 = quiescent) of outbursts reaching ``amplitude_mag`` above it at
    ``starts`` (days): exponential rise to the start, plateau, exponential decline."""
    t = np.asarray(t, dtype=float)[:, None]
    x = t - starts[None, :]
    profile = np.where(x < 0, np.exp(np.clip(x / tau_rise, -50, 0)),
                       np.where(x < plateau, 1.0, np.exp(-np.clip((x - plateau) / tau_decline, 0, 50))))
    return 1.0 + (profile * (10 ** (0.4 * amplitude_mag) - 1.0)[None, :]).sum(axis=1)


@dataclass
class Drawn:
    """One simulated source on a survey's times: the shape (mag about its reference level), which
    points to keep (detections), its parameters, and changes to the observation (outlier rate)."""

    shape: np.ndarray
    keep: Callable[[np.ndarray], np.ndarray] | None = None
    params: dict = dataclasses.field(default_factory=dict)
    outlier_boost: float = 0.0
    window: tuple[float, float] | None = None


def constant(t: np.ndarray, rng: np.random.Generator) -> Drawn:
    """A constant star: optional trend and calibration jumps (see the module notes)."""
    shape = np.zeros(t.size)
    span = max(float(np.ptp(t)), 1.0)
    params: dict = {}
    if rng.uniform() < 0.5:
        params["trend_mag"] = float(rng.uniform(-0.1, 0.1))
        shape += params["trend_mag"] * (t - t.min()) / span
    if rng.uniform() < 0.5:
        at = np.sort(rng.uniform(t.min(), t.max(), int(rng.integers(1, 4))))
        sizes = rng.choice([-1.0, 1.0], at.size) * rng.uniform(0.02, 0.1, at.size)
        params["jumps"] = list(zip(at.tolist(), sizes.tolist()))
        for a, s in zip(at, sizes):
            shape += s * (t >= a)
    return Drawn(shape, params=params, outlier_boost=float(rng.uniform(0.0, 0.03)))


def supernova(t: np.ndarray, rng: np.random.Generator) -> Drawn:
    """One Bazin-form event in the survey's span; only detections kept."""
    tau_rise, tau_fall = float(rng.uniform(1.0, 10.0)), float(rng.uniform(15.0, 100.0))
    t0 = float(rng.uniform(t.min() - 10.0, max(t.min(), t.max() - 40.0)))
    window = (t0 - 30.0, t0 + 250.0)
    inside = (t >= window[0]) & (t <= window[1])
    flux = np.where(inside, bazin_flux(t, t0, tau_rise, tau_fall), 1e-6)
    return Drawn(flux_to_mag(np.clip(flux, 1e-6, None)), keep=lambda quoted: quoted < DETECTION_ERROR,
                 params={"t0": t0, "tau_rise": tau_rise, "tau_fall": tau_fall}, window=window)


def agn(t: np.ndarray, rng: np.random.Generator) -> Drawn:
    """A damped random walk (see the module notes)."""
    tau, sigma = _log_uniform(rng, 10.0, 1000.0), _log_uniform(rng, 0.05, 1.0)
    return Drawn(sigma * emulate.red_noise(t, tau, rng), params={"tau_days": tau, "sigma_mag": sigma})


def dwarf_nova(t: np.ndarray, rng: np.random.Generator) -> Drawn:
    """Quasi-periodic outbursts from a faint quiescence; only detections kept."""
    recurrence = _log_uniform(rng, 10.0, 300.0)
    amplitude = float(rng.uniform(2.0, 6.0))
    starts, s = [], float(t.min()) - rng.uniform(0.0, recurrence)
    while s < t.max() + 1.0:
        starts.append(s)
        s += recurrence * float(np.exp(rng.normal(0.0, 0.3)))
    n = len(starts)
    plateau = np.where(rng.uniform(size=n) < 0.1, rng.uniform(5.0, 12.0, n), rng.uniform(0.0, 1.0, n))
    flux = outburst_flux(t, np.array(starts), amplitude + rng.normal(0.0, 0.2, n), rng.uniform(0.3, 1.0, n),
                         plateau, rng.uniform(0.5, 1.5, n))
    # the reference level is the outburst peak (the survey's brightness), quiescence is below it
    return Drawn(flux_to_mag(flux) + amplitude, keep=lambda quoted: quoted < DETECTION_ERROR,
                 params={"recurrence_days": recurrence, "amplitude_mag": amplitude, "outbursts": n})


def flare(t: np.ndarray, rng: np.random.Generator) -> Drawn:
    """A flaring star (Davenport template flares at random times)."""
    rate = _log_uniform(rng, 0.05, 1.0)
    span = float(np.ptp(t)) + 1.0
    n = int(rng.poisson(rate * span))
    peaks = rng.uniform(t.min() - 0.1, t.max(), n)
    fwhm = np.array([_log_uniform(rng, 0.005, 0.05) for _ in range(n)])
    amps = np.array([_log_uniform(rng, 0.1, 10.0) for _ in range(n)])
    flux = np.ones(t.size)
    order = np.argsort(peaks)
    peaks, fwhm, amps = peaks[order], fwhm[order], amps[order]
    for i, ti in enumerate(t):               # only flares within a few widths of each point matter
        lo, hi = np.searchsorted(peaks, [ti - 30 * 0.05, ti + 0.05])
        if hi > lo:
            flux[i] += float((amps[lo:hi] * davenport_flare((ti - peaks[lo:hi]) / fwhm[lo:hi])).sum())
    return Drawn(flux_to_mag(flux), params={"rate_per_day": rate, "flares": n})


def microlensing(t: np.ndarray, rng: np.random.Generator) -> Drawn:
    """A Paczyński event, blended (see the module notes)."""
    u0, t_e = float(rng.uniform(0.01, 1.0)), _log_uniform(rng, 5.0, 300.0)
    t0 = float(rng.uniform(t.min(), t.max()))
    blend = float(rng.uniform(0.1, 1.0))
    flux = blend * paczynski(t, t0, u0, t_e) + (1.0 - blend)
    return Drawn(flux_to_mag(flux), params={"t0": t0, "u0": u0, "t_e_days": t_e, "source_fraction": blend})


GENERATORS: dict[str, Callable[[np.ndarray, np.random.Generator], Drawn]] = {
    "constant": constant, "supernova": supernova, "agn": agn, "dwarf_nova": dwarf_nova, "flare": flare,
    "microlensing": microlensing}


@dataclass(frozen=True)
class Simulation:
    """One simulated non-periodic curve to make: its kind, the registered survey that observes it and
    its seed (which also names it: ``sim-<kind>-<seed in hex>@<survey>``). Picklable, so worker
    processes build the curves."""

    kind: str
    survey: str
    seed: int

    def build(self) -> LightCurve:
        """The simulated curve, labelled ``NONPER`` (``meta``: the kind, survey and parameters)."""
        rng = np.random.default_rng(self.seed)
        draw = emulate.survey(self.survey).draw
        for _ in range(10):                              # a transient the survey missed is redrawn
            obs = draw(rng)
            drawn = GENERATORS[self.kind](obs.times, rng)
            if drawn.outlier_boost:
                obs = dataclasses.replace(obs, outlier_rate=obs.outlier_rate + drawn.outlier_boost)
            mags, quoted, aux = observe_drawn(obs, drawn, rng)
            keep = np.ones(mags.size, bool)
            if drawn.window is not None:
                keep &= (obs.times >= drawn.window[0]) & (obs.times <= drawn.window[1])
            if drawn.keep is not None:
                keep &= drawn.keep(quoted)
            if drawn.keep is None or keep.sum() >= MIN_DETECTIONS:
                break
        aux = {k: v[keep] for k, v in aux.items()}
        return LightCurve(f"sim-{self.kind}-{self.seed:x}@{self.survey}", obs.times[keep], mags[keep], quoted[keep],
                          obs.band, label=NONPERIODIC,
                          meta={"simulated": self.kind, "emulated": self.survey, **drawn.params}, aux=aux)


def observe_drawn(obs: emulate.Observation, drawn: Drawn, rng: np.random.Generator):
    """The survey's measurements of a drawn source: non-periodic light has the same size in every
    band here (band ratios of 1; the band step fits the levels)."""
    return emulate.observe(obs, drawn.shape, {}, rng)


def kind_of(object_id: str) -> str:
    """The kind of a simulated curve from its id (``sim-<kind>-…``)."""
    return object_id.split("-")[1]


def source_sha256() -> str:
    """sha256 of this module's source (cached tables of simulated curves are keyed by it)."""
    import hashlib
    from pathlib import Path

    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def plan(n: int, surveys: list[emulate.Survey], seed: int) -> list[Simulation]:
    """``n`` simulations, kinds in the shares of :data:`KINDS` and surveys by their weights;
    deterministic for a seed. The surveys are registered (:func:`~varstream.offline.emulate.register`)."""
    emulate.register(surveys)
    rng = np.random.default_rng(seed)
    kinds = list(KINDS)
    shares = np.array([KINDS[k] for k in kinds])
    weights = np.array([s.weight for s in surveys], dtype=float)
    out = []
    for _ in range(n):
        kind = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
        survey = surveys[int(rng.choice(len(surveys), p=weights / weights.sum()))].name
        out.append(Simulation(kind, survey, int(rng.integers(2**62))))
    return out
