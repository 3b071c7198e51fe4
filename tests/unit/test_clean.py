import numpy as np
import pytest

from tests.conftest import synthetic_curve
from varstream.lightcurve import LightCurve
from varstream.lightcurve.clean import phase_median_residuals, clip_outliers, downsample, folded_model, phase
from varstream.lightcurve.sanitize import CleaningReport


def test_downsample_bins_with_inverse_variance_weights():
    # two points in one 0.01 d bin: 10.0 +- 0.1 and 10.3 +- 0.2 -> weights 100 and 25
    # mean = (100*10.0 + 25*10.3) / 125 = 10.06 ; error = 1 / sqrt(125) = 0.0894427
    lc = LightCurve("b", [1.000, 1.004, 2.0], [10.0, 10.3, 11.0], [0.1, 0.2, 0.1], "V")
    report = CleaningReport("b")
    out = downsample(lc, bin_days=0.01, max_points=2, report=report)
    assert out.times == pytest.approx([1.002, 2.0])
    assert out.mags == pytest.approx([10.06, 11.0])
    assert out.errors == pytest.approx([1 / np.sqrt(125), 0.1])
    assert report.dropped["binned"] == 1


def test_downsample_leaves_short_curves_alone_and_thins_long_ones():
    lc = synthetic_curve(n=500)
    assert downsample(lc, max_points=1000) is lc
    report = CleaningReport("x")
    out = downsample(lc, bin_days=1e-6, max_points=100, report=report)
    assert len(out) == 100 and report.dropped["thinned"] == 400
    assert out.times[0] == lc.times[0] and out.times[-1] == lc.times[-1]


def test_folded_model_follows_the_signal():
    lc = synthetic_curve(n=400, noise=0.02)
    model = folded_model(lc, 0.57)
    # synthetic amplitude: 0.4 * (sin + 0.3 sin 2x) spans about 0.94 mag peak to peak
    assert model.amplitude == pytest.approx(0.94, abs=0.08)
    assert np.std(model.residuals) < 0.04
    assert phase(np.array([53500.0, 53500.285]), 0.57).tolist() == pytest.approx([0.0, 0.5])


def test_clipping_removes_outliers_but_keeps_a_real_eclipse():
    rng = np.random.default_rng(5)
    n, period = 400, 2.7
    t = 55000 + np.sort(rng.uniform(0, 2000, n))
    ph = phase(t, period, epoch=55000.0)
    mags = 13.0 + rng.normal(0, 0.02, n)
    in_eclipse = np.abs(ph - 0.5) < 0.04                    # ~8 % of points, 0.8 mag deep
    mags[in_eclipse] += 0.8
    spikes = np.array([7, 100, 250])
    mags[spikes] -= 1.5                                       # bright outliers (cosmic rays, blends)
    lc = LightCurve("ea", t, mags, np.full(n, 0.02), "V")
    report = CleaningReport("ea")
    out = clip_outliers(lc, phase_median_residuals(lc, period), sigma=5, report=report)
    assert report.dropped["sigma_clip"] == 3
    assert not np.isin(lc.times[spikes], out.times).any()
    assert np.isin(lc.times[in_eclipse], out.times).all()


def test_clipping_is_skipped_when_the_model_is_wrong():
    lc = synthetic_curve(n=200, noise=0.01)
    report = CleaningReport("w")
    wrong = lc.mags - np.median(lc.mags)   # residuals about a flat model: everything "deviates"
    out = clip_outliers(lc, wrong * 50, sigma=1.0, max_fraction=0.1, report=report)
    assert out is lc and "skipped" in report.notes[0]
