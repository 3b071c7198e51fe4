import numpy as np
import pytest

from tests.conftest import synthetic_curve
from varstream.lightcurve import FEATURE_VERSION, LightCurve, LightCurveError, featurise, feature_names
from varstream.lightcurve.features import CATCH22_NAMES, OPTIONAL_NAMES
from varstream.lightcurve.gaia import Distance


def test_named_versioned_vector_and_expected_values(curve):
    f = featurise(curve)
    assert f.features.version == FEATURE_VERSION
    assert f.features.names == feature_names() and len(feature_names()) == len(set(feature_names()))
    assert len(CATCH22_NAMES) == 23 and "DN_mean" not in CATCH22_NAMES   # apparent mag is not a feature
    assert f.period.period == pytest.approx(0.57, rel=1e-4)
    assert f.features["log10_period"] == pytest.approx(np.log10(0.57), abs=1e-4)
    assert 10 ** f.features["log10_model_amplitude"] == pytest.approx(0.94, abs=0.1)
    assert f.features["has_distance"] == 0.0 and np.isnan(f.features["abs_mag"])
    finite = [n for n, v in f.features.as_dict().items() if n not in OPTIONAL_NAMES]
    assert all(np.isfinite(f.features[n]) for n in finite)


def test_shape_features_do_not_depend_on_distance(curve):
    """Distance shifts the mean magnitude only; every feature but the absolute magnitude is unchanged."""
    near = featurise(curve)
    far = featurise(curve.with_values(mags=curve.mags + 5.0))
    for name, value in near.features.as_dict().items():
        if name not in OPTIONAL_NAMES:
            assert far.features[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


def test_absolute_magnitude_uses_the_distance(curve):
    lc = curve.with_values(meta={"parallax_mas": 9.983, "parallax_error_mas": 0.05})   # 1000/(9.983+0.017) = 100 pc
    f = featurise(lc)
    assert f.distance.value_pc == pytest.approx(100.0)
    assert f.features["has_distance"] == 1.0
    # a 100 pc distance takes 5 mag off the (intensity-mean) apparent magnitude of about 15
    assert f.features["abs_mag"] == pytest.approx(10.0, abs=0.1)
    assert 0 < f.features["abs_mag_err"] < 0.05
    explicit = featurise(curve, distance=Distance(1000.0, 50.0, "test"))
    assert explicit.features["abs_mag"] == pytest.approx(f.features["abs_mag"] - 5.0, abs=1e-9)


def test_constant_curve_is_a_documented_error():
    lc = LightCurve("flat", np.arange(50.0) * 1.3, np.full(50, 12.0), np.full(50, 0.01), "V")
    with pytest.raises(LightCurveError, match="star flat: magnitudes do not vary"):
        featurise(lc)


def test_gru_sequence_is_phase_ordered_and_masked(curve):
    f = featurise(curve)
    seq, n = f.sequence, f.sequence_length
    assert seq.shape == (100, 5) and seq.dtype == np.float32 and n == 100
    assert np.all(np.diff(seq[:n, 0]) >= 0)                      # ordered by phase
    assert np.allclose(seq[:n, 3], np.log10(f.period.period), atol=1e-6)
    short = featurise(synthetic_curve(n=60))
    n_short = short.sequence_length
    assert n_short == short.n_points and 50 <= n_short <= 60
    assert not short.sequence[n_short:].any()                    # zero padding after the end


def test_short_lag_ratio_is_one_for_white_noise():
    from varstream.lightcurve.features import short_lag_ratio

    rng = np.random.default_rng(3)
    nights = np.repeat(np.arange(500.0), 4) + np.tile([0.0, 0.01, 0.02, 0.03], 500)
    assert short_lag_ratio(nights, rng.normal(0, 0.1, nights.size)) == pytest.approx(1.0, abs=0.05)


def test_short_lag_ratio_of_a_sine_is_its_structure_function():
    # a sine of period P sampled every 3 days has no sub-day pairs: the shortest fifth of the lags
    # (the 3-day ones) are used, and E[(Δm)²] / (2 var) = 1 − cos(2π τ / P) exactly
    from varstream.lightcurve.features import short_lag_ratio

    t = np.arange(0.0, 3000.0, 3.0)
    for period in (300.0, 50.0):
        ratio = short_lag_ratio(t, np.sin(2 * np.pi * t / period))
        assert ratio == pytest.approx(1 - np.cos(2 * np.pi * 3.0 / period), rel=0.02)


def test_short_lag_ratio_tells_a_slow_star_from_a_fast_one_within_a_night():
    from varstream.lightcurve.features import short_lag_ratio

    t = np.repeat(np.arange(0.0, 900.0, 30.0), 3) + np.tile([0.0, 0.07, 0.25], 30)   # bursts, Gaia-like
    slow = short_lag_ratio(t, np.sin(2 * np.pi * t / 300.0))
    fast = short_lag_ratio(t, np.sin(2 * np.pi * t / 0.11))
    assert slow < 1e-3 and fast > 0.5
    assert short_lag_ratio(t, np.full(t.size, 12.0)) == 1.0


def test_distribution_features_against_independent_formulas():
    """stats_features on a skewed sample, each value against scipy/numpy written out here."""
    from types import SimpleNamespace

    from astropy.stats import mad_std
    from scipy import stats as sps

    from varstream.lightcurve.features import stats_features

    rng = np.random.default_rng(7)
    mags = 14.0 + rng.gamma(2.0, 0.1, 400)                          # skewed, heavy-ish tail
    got = dict(stats_features(SimpleNamespace(mags=mags)))
    p5, p25, p75, p95 = np.percentile(mags, [5, 25, 75, 95])
    amplitude = 0.5 * (p95 - p5)
    std = np.std(mags)
    assert got["log10_amplitude"] == pytest.approx(np.log10(amplitude), rel=1e-12)
    assert got["std_ratio"] == pytest.approx(std / amplitude, rel=1e-12)
    assert got["mad_ratio"] == pytest.approx(mad_std(mags) / amplitude, rel=1e-12)
    assert got["iqr_ratio"] == pytest.approx((p75 - p25) / amplitude, rel=1e-12)
    assert got["skew"] == pytest.approx(sps.skew(mags), rel=1e-9) and got["skew"] > 0.5
    assert got["kurtosis"] == pytest.approx(sps.kurtosis(mags, fisher=True), rel=1e-9)
    assert got["beyond1std"] == pytest.approx(np.mean(np.abs(mags - mags.mean()) > std))
    assert got["von_neumann_eta"] == pytest.approx(np.mean(np.diff(mags) ** 2) / std**2, rel=1e-12)
    flat = dict(stats_features(SimpleNamespace(mags=np.full(50, 12.0))))
    assert flat["skew"] == flat["kurtosis"] == flat["beyond1std"] == flat["von_neumann_eta"] == flat["std_ratio"] == 0.0
    assert flat["log10_amplitude"] == pytest.approx(-6.0)               # the amplitude floor (1e-6 mag)


def test_the_absolute_magnitude_is_the_intensity_mean_minus_the_distance_modulus():
    """A star alternating between 10 and 12 mag at 100 pc: the intensity mean is
    10 - 2.5 log10((1 + 10**-0.8) / 2) = 10.6425 mag (the arithmetic mean would be 11), so
    M = 10.6425 - 5 log10(100 / 10) = 5.6425."""
    from types import SimpleNamespace

    from varstream.lightcurve.features import absolute_features

    inputs = SimpleNamespace(mags=np.array([10.0, 12.0] * 20), errors=np.full(40, 0.01),
                             distance=Distance(100.0, 1.0, "test"))
    values = dict(absolute_features(inputs))
    assert values["abs_mag"] == pytest.approx(10.0 - 2.5 * np.log10((1 + 10 ** -0.8) / 2) - 5.0, abs=1e-9)
    assert values["has_distance"] == 1.0 and values["abs_mag_err"] > 0
