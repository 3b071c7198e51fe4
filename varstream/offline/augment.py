"""Gaussian-process augmentation of rare classes.

For a real training curve of a rare class, Gaussian processes (celerite2, Matérn-3/2 kernel) are
fitted to the curve *folded at its period* — the phase-folded shape is what makes the class —
with the fold tiled over three cycles so the fit wraps around phase 0. One GP is fitted per time
segment (quarters of the curve, with a common phase origin), so that what changes over the years
— the amplitude and phase modulation of Blazhko stars, evolving spots of rotators — survives in
the synthetic curves; a curve too short for segments gets one GP. A synthetic curve is then
drawn on a new, realistic cadence: the observation times and errors of another real training
star (any class), with the period jittered by a fraction of a percent, a random phase, the
amplitude scaled by a few per cent, the posterior scatter of the GP and the template's own noise.
The synthetic curve is brought to the template's median magnitude so its errors match its
brightness, then goes through the same cleaning and feature code as a real one.

Synthetic curves are only ever made from training stars and only added to training sets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import celerite2
import numpy as np
from celerite2 import terms
from scipy.optimize import minimize

from varstream.lightcurve import LightCurve, LightCurveError
from varstream.lightcurve.clean import phase
from varstream.lightcurve.pipeline import PipelineConfig, clean

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhaseGP:
    """A GP of magnitude against phase (0..1) for one star; ``period`` in days."""

    object_id: str
    label: str
    period: float
    x: np.ndarray          # tiled phases, sorted (-1 .. 2)
    y: np.ndarray          # magnitudes at x
    yerr: np.ndarray
    mean: float
    sigma: float
    rho: float

    def _gp(self) -> celerite2.GaussianProcess:
        gp = celerite2.GaussianProcess(terms.Matern32Term(sigma=self.sigma, rho=self.rho), mean=self.mean)
        gp.compute(self.x, yerr=self.yerr)
        return gp

    def predict(self, phases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (mag) at phases in [0, 1)."""
        order = np.argsort(phases, kind="stable")
        mu, var = self._gp().predict(self.y, t=phases[order], return_var=True)
        out_mu, out_sd = np.empty_like(mu), np.empty_like(mu)
        out_mu[order], out_sd[order] = mu, np.sqrt(np.maximum(var, 0.0))
        return out_mu, out_sd


def _fit_gp(object_id: str, label: str, period: float, ph: np.ndarray, mags: np.ndarray,
            errs: np.ndarray) -> PhaseGP:
    order = np.argsort(ph, kind="stable")
    ph, mags, errs = ph[order], mags[order], errs[order]
    x = np.concatenate([ph - 1.0, ph, ph + 1.0])
    y = np.tile(mags, 3)
    yerr = np.tile(errs, 3)
    x, unique = np.unique(x, return_index=True)
    y, yerr = y[unique], yerr[unique]
    mean = float(np.median(mags))
    scale = max(float(np.std(mags)), 1e-3)

    def nll(params: np.ndarray) -> float:
        gp = celerite2.GaussianProcess(terms.Matern32Term(sigma=np.exp(params[0]), rho=np.exp(params[1])), mean=mean)
        gp.compute(x, yerr=yerr)
        value = -gp.log_likelihood(y)
        return float(value) if np.isfinite(value) else 1e25

    start = np.array([np.log(scale), np.log(0.05)])
    bounds = [(np.log(scale) - 3, np.log(scale) + 3), (np.log(0.005), np.log(0.5))]
    res = minimize(nll, start, method="L-BFGS-B", bounds=bounds, options={"maxiter": 50})
    return PhaseGP(object_id, label, period, x, y, yerr, mean, float(np.exp(res.x[0])), float(np.exp(res.x[1])))


def fit_phase_gp(lc: LightCurve, config: PipelineConfig = PipelineConfig(), segments: int = 4,
                 min_segment_points: int = 40) -> list[PhaseGP]:
    """Clean a real curve, fold it at its period and fit one GP per time segment (amplitude and
    length scale by maximum likelihood, length scale 0.005–0.5 in phase).

    Returns the GPs in time order (one if the curve has fewer than ``segments *
    min_segment_points`` points).

    Raises:
        LightCurveError: the curve cannot be cleaned (see :func:`clean`).
    """
    cur, per, _ = clean(lc, config)
    ph = phase(cur.times, per.period)
    n_seg = segments if len(cur) >= segments * min_segment_points else 1
    pieces = np.array_split(np.arange(len(cur)), n_seg)
    return [_fit_gp(lc.object_id, lc.label or "", per.period, ph[idx], cur.mags[idx], cur.errors[idx])
            for idx in pieces]


def synthesise(gps: list[PhaseGP], template: LightCurve, rng: np.random.Generator, index: int,
               period_jitter: float = 0.003, amplitude_jitter: float = 0.1) -> LightCurve:
    """One synthetic curve of the GPs' class on ``template``'s cadence (times in days, errors in mag).

    The template's time span is mapped onto the segments in order: its first quarter of points
    comes from the first segment's GP, and so on.
    """
    first = gps[0]
    period = first.period * (1.0 + rng.normal(0.0, period_jitter))
    ph = np.mod((template.times - template.times[0]) / period + rng.uniform(), 1.0)
    mu, sd = np.empty(ph.size), np.empty(ph.size)
    for gp, idx in zip(gps, np.array_split(np.arange(ph.size), len(gps))):
        mu[idx], sd[idx] = gp.predict(ph[idx])
        mu[idx] -= gp.mean - first.mean          # segments keep their shapes, not their zero points
    scale = max(0.5, 1.0 + rng.normal(0.0, amplitude_jitter))
    shape = scale * (mu - first.mean) + rng.normal(0.0, 1.0, ph.size) * sd
    mags = float(np.median(template.mags)) + shape + rng.normal(0.0, 1.0, ph.size) * template.errors
    return LightCurve(f"synthetic:{first.object_id}:{index}", template.times.copy(), mags, template.errors.copy(),
                      template.band, label=first.label,
                      meta={"synthetic": True, "source": first.object_id, "template": template.object_id,
                            "catalogue_period_days": period})


def augment(sources: list[LightCurve], templates: list[LightCurve], count: int, seed: int = 0,
            config: PipelineConfig = PipelineConfig()) -> list[LightCurve]:
    """``count`` synthetic curves drawn round-robin from GPs of ``sources`` on ``templates``' cadences.

    Sources whose curve cannot be cleaned are skipped (logged). Returns fewer curves only if no
    source can be fitted.
    """
    rng = np.random.default_rng(seed)
    gps = []
    for lc in sources:
        try:
            gps.append(fit_phase_gp(lc, config))
        except LightCurveError as err:
            log.info("no GP for %s: %s", lc.object_id, err.reason)
    usable = [t for t in templates if len(t) >= 30]
    if not gps or not usable:
        return []
    out = []
    for i in range(count):
        template = usable[int(rng.integers(len(usable)))]
        out.append(synthesise(gps[i % len(gps)], template, rng, i))
    return out
