"""The non-periodic generators against the properties that define them (analytic peaks and
symmetries, damped-random-walk variance and correlation time, detections only for transients)."""

import numpy as np
import pytest

from varstream.lightcurve.taxonomy import NONPERIODIC
from varstream.offline import emulate, nonperiodic as npv

SURVEYS = [emulate.Survey("ground", emulate.ground_survey), emulate.Survey("ztf", emulate.ztf_survey),
           emulate.Survey("rubin", emulate.rubin_survey)]


def test_bazin_peaks_where_the_formula_says_rises_faster_than_it_falls_and_fades():
    t = np.linspace(-50, 400, 450_001)
    f = npv.bazin_flux(t, 10.0, 3.0, 40.0)
    peak = npv.bazin_peak_time(10.0, 3.0, 40.0)                          # t0 + τr ln(τf/τr − 1)
    assert abs(t[np.argmax(f)] - peak) < 1e-3 and abs(f.max() - 1) < 1e-9
    half = t[f >= 0.5]
    assert peak - half[0] < (half[-1] - peak) / 3                        # the rise is the short side
    assert f[0] < 1e-4 and f[-1] < 1e-3 and np.all(np.isfinite(npv.bazin_flux(np.array([-1e5]), 0, 1, 15)))


def test_davenport_flare_template():
    x = np.linspace(-2, 10, 120_001)
    f = npv.davenport_flare(x)
    assert abs(npv.davenport_flare(np.array([-1e-9]))[0] - 1) < 1e-6 and np.all(f[x < -1] == 0)
    assert abs(npv.davenport_flare(np.array([0.0]))[0] - (0.6890 + 0.3030)) < 1e-12     # the fit's two terms
    assert np.all(np.diff(f[x > 0]) < 0)                                  # decays monotonically
    above = x[f >= 0.5]
    assert 0.5 < above[-1] - above[0] < 1.0                               # x is in units of the FWHM


def test_paczynski_magnification():
    t = np.linspace(-500, 500, 100_001)
    a = npv.paczynski(t, 0.0, 0.1, 20.0)
    assert abs(a.max() - (0.1**2 + 2) / (0.1 * np.sqrt(0.1**2 + 4))) < 1e-6       # A(u0) at t0
    np.testing.assert_allclose(a, a[::-1], rtol=1e-12)                           # symmetric about t0
    assert a.min() >= 1 and abs(a[0] - 1) < 1e-3


def test_the_damped_random_walk_has_its_rms_and_correlation_time():
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 20_000.0, 1.0)
    stds, corr = [], []
    for _ in range(20):
        d = npv.agn(t, rng)
        tau, sigma = d.params["tau_days"], d.params["sigma_mag"]
        x = d.shape / sigma
        stds.append(np.std(x))
        lag = int(round(tau))
        if lag < 500:
            corr.append(np.corrcoef(x[:-lag], x[lag:])[0, 1])
        assert 10 <= tau <= 1000 and 0.05 <= sigma <= 1
    assert abs(np.median(stds) - 1) < 0.15                        # unit variance in units of σ
    assert abs(np.median(corr) - np.exp(-1)) < 0.1                # correlation e^-1 at a lag of τ


def test_constant_stars_are_their_trend_and_jumps_only():
    rng = np.random.default_rng(2)
    t = np.sort(rng.uniform(0, 1000, 400))
    for _ in range(20):
        d = npv.constant(t, rng)
        expected = np.zeros(t.size)
        if "trend_mag" in d.params:
            expected += d.params["trend_mag"] * (t - t.min()) / np.ptp(t)
        for at, size in d.params.get("jumps", []):
            expected += size * (t >= at)
        np.testing.assert_allclose(d.shape, expected, atol=1e-12)
        assert np.abs(d.shape).max() <= 0.1 + 3 * 0.1 and 0 <= d.outlier_boost <= 0.03


def test_dwarf_novae_outburst_from_a_faint_quiescence_and_flares_only_brighten():
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 2000.0, 0.05)
    for _ in range(5):
        d = npv.dwarf_nova(t, rng)
        amp = d.params["amplitude_mag"]
        # quiescence is `amplitude` below the peaks (the reference level)
        assert abs(np.quantile(d.shape, 0.99) - amp) < 0.5 and abs(d.shape.min()) < 1.0       # (overlapping outbursts add)
        assert d.params["outbursts"] >= 0.5 * 2000 / d.params["recurrence_days"]
    # separate outbursts: one brightening each, reaching their amplitude above quiescence
    starts = np.array([100.0, 300.0, 520.0, 700.0, 950.0])
    mags = npv.flux_to_mag(npv.outburst_flux(t, starts, np.full(5, 4.0), np.full(5, 0.5), np.full(5, 1.0),
                                             np.full(5, 1.0)))
    bright = mags < -1
    assert np.flatnonzero(bright[1:] & ~bright[:-1]).size == 5 and abs(mags.min() + 4.0) < 1e-6
    f = npv.flare(np.arange(0.0, 200.0, 0.002), np.random.default_rng(4))
    assert np.all(f.shape <= 1e-12) and np.median(f.shape) > -1e-3 and f.shape.min() < -0.05


def test_simulated_curves_are_labelled_deterministic_and_transients_are_detections_only():
    sims = npv.plan(200, SURVEYS, seed=7)
    assert sims == npv.plan(200, SURVEYS, seed=7) and sims != npv.plan(200, SURVEYS, seed=8)
    kinds = [s.kind for s in sims]
    assert set(kinds) == set(npv.KINDS)
    sn = next(s for s in sims if s.kind == "supernova")
    a, b = sn.build(), sn.build()
    np.testing.assert_array_equal(a.mags, b.mags)
    assert a.label == NONPERIODIC and a.meta["simulated"] == "supernova" and a.meta["emulated"] == sn.survey
    assert npv.kind_of(a.object_id) == "supernova" and len({s.seed for s in sims}) == len(sims)    # unique ids
    assert np.all(a.errors < npv.DETECTION_ERROR) and len(a) >= npv.MIN_DETECTIONS
    t0 = a.meta["t0"]
    assert np.all((a.times >= t0 - 30) & (a.times <= t0 + 250))              # one event, observed once
    multi = next(s for s in sims if s.survey == "ztf" and s.kind == "agn").build()
    assert set(multi.aux["band"]) <= {"g", "r", "i"} and len(multi.aux["band"]) == len(multi)


@pytest.mark.parametrize("kind", list(npv.KINDS))
def test_every_kind_featurises_on_a_survey_cadence(kind):
    from varstream.lightcurve.pipeline import featurise

    sims = [s for s in npv.plan(120, SURVEYS, seed=9) if s.kind == kind][:3]
    done = 0
    for s in sims:
        f = featurise(s.build())
        done += np.isfinite(f.features.values).mean() > 0.8
    assert done >= 2
