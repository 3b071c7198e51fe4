"""The NUFFT periodograms against astropy's reference implementations."""

import numpy as np
import pytest
from astropy.timeseries import LombScargle, LombScargleMultiband

from varstream.lightcurve.periodogram import lomb_scargle, multiband_lomb_scargle


def _curve(n=300, seed=1):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 400, n))
    bands = rng.choice(["g", "r", "i"], n, p=[0.4, 0.4, 0.2])
    dy = rng.uniform(0.02, 0.1, n)
    y = 0.3 * np.sin(2 * np.pi * t / 0.6) + np.where(bands == "g", 0.5, np.where(bands == "i", -0.3, 0.0))
    return t, y + rng.normal(0, 1, n) * dy, dy, bands


FMIN, DF, N = 0.01, 1 / (5 * 400), 5000
FREQS = FMIN + DF * np.arange(N)


def test_lomb_scargle_matches_astropy_everywhere_including_the_peak():
    t, y, dy, _ = _curve()
    power = lomb_scargle(t, y, dy, FMIN, DF, N)
    reference = LombScargle(t, y, dy).power(FREQS)
    assert np.max(np.abs(power - reference)) < 1e-3
    assert FREQS[np.argmax(power)] == pytest.approx(1 / 0.6, abs=DF)


def test_multiband_matches_astropys_flexible_method_with_a_shared_sinusoid():
    t, y, dy, bands = _curve()
    power = multiband_lomb_scargle(t, y, dy, bands, FMIN, DF, N)
    reference = LombScargleMultiband(t, y, bands, dy, nterms_base=1, nterms_band=0).power(FREQS, method="flexible")
    assert np.max(np.abs(power - reference)) < 1e-3
    # the band offsets would drown the signal for a single-band periodogram; not for this one
    assert power.max() > 0.9 and lomb_scargle(t, y, dy, FMIN, DF, N).max() < power.max()


def test_one_band_is_the_single_band_periodogram():
    t, y, dy, _ = _curve(seed=2)
    assert np.allclose(multiband_lomb_scargle(t, y, dy, np.full(t.size, "V"), FMIN, DF, N),
                       lomb_scargle(t, y, dy, FMIN, DF, N), atol=1e-6)
