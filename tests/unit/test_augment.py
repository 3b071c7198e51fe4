"""GP augmentation on synthetic stars (fakes are fine here; the real-data check is in integration)."""

import numpy as np
import pytest

from tests.conftest import synthetic_curve
from varstream.lightcurve import featurise
from varstream.offline.augment import augment, fit_phase_gp


def test_synthetic_curves_take_a_real_cadence_and_keep_the_class_shape():
    source = synthetic_curve("src", n=250, period=0.41, amplitude=0.5, noise=0.02, seed=1).with_values(label="RRc")
    template = synthetic_curve("tmpl", n=180, period=3.0, noise=0.08, seed=2, mean_mag=17.0)
    made = augment([source], [template], count=3, seed=7)
    assert len(made) == 3
    for i, lc in enumerate(made):
        assert lc.object_id == f"synthetic:src:{i}" and lc.label == "RRc" and lc.meta["synthetic"]
        assert np.array_equal(lc.times, template.times)           # the template star's real cadence
        assert np.array_equal(lc.errors, template.errors)         # and its photometric errors
        assert np.median(lc.mags) == pytest.approx(17.0, abs=0.3)  # at the template's brightness
        f = featurise(lc)
        assert f.period.period == pytest.approx(0.41, rel=0.01)    # the source's period survives
        assert 10 ** f.features["log10_model_amplitude"] == pytest.approx(
            10 ** featurise(source).features["log10_model_amplitude"], rel=0.35)


def test_modulation_between_segments_survives():
    """A star whose amplitude grows over the years (Blazhko-like) keeps growing in its synthetic copies."""
    import numpy as np
    from varstream.lightcurve import LightCurve

    rng = np.random.default_rng(5)
    t = 53500 + np.sort(rng.uniform(0, 2800, 400))
    amp = 0.15 + 0.35 * (t - t[0]) / 2800
    src = LightCurve("blz", t, 15 + amp * np.sin(2 * np.pi * t / 0.55) + rng.normal(0, 0.01, t.size),
                     np.full(t.size, 0.01), "V", label="Blazhko")
    made = augment([src], [synthetic_curve("t", n=300, noise=0.01, seed=6)], 1, seed=2)[0]
    first, last = made.mags[:75], made.mags[-75:]
    assert np.ptp(last) > 1.5 * np.ptp(first)      # one GP for the whole curve gives about 1.0


def test_gp_fit_and_deterministic_draws():
    source = synthetic_curve("src", n=200, period=0.6, seed=3)
    gps = fit_phase_gp(source)
    assert len(gps) == 4                                          # one GP per time segment
    gp = gps[0]
    assert gp.period == pytest.approx(0.6, rel=1e-3) and 0.005 <= gp.rho <= 0.5
    mu, sd = gp.predict(np.array([0.9, 0.1, 0.5]))
    assert np.all(np.abs(mu - 15.0) < 1.0) and np.all(sd >= 0)
    template = synthetic_curve("t", n=100, seed=4)
    a = augment([source], [template], 2, seed=1)
    b = augment([source], [template], 2, seed=1)
    assert all(np.array_equal(x.mags, y.mags) for x, y in zip(a, b))
