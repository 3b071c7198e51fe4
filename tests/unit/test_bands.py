"""merge_bands: V shifted onto g by the measured offset; other mixes keep the dominant band."""

import numpy as np
import pytest

from varstream.lightcurve.bands import band_offset, merge_bands
from varstream.lightcurve.types import LightCurve


def _two_band(offset=0.7, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(56000, 59500, 1500))
    v_era = t < 58300
    overlap = (t >= 58000) & (t < 58300)
    bands = np.where(v_era, "V", "g")
    bands[overlap] = rng.choice(["V", "g"], overlap.sum())
    signal = 0.3 * np.sin(2 * np.pi * t / 0.61) + 0.2 * np.sin(2 * np.pi * t / 400.0)
    mags = 13 + signal + rng.normal(0, 0.02, t.size) + (bands == "g") * offset
    mags[5] = np.nan                                   # a bad point must not move the offset
    return LightCurve("s", t, mags, np.full(t.size, 0.02), "mixed", aux={"band": bands}), signal


def test_offset_is_recovered_and_v_is_shifted_onto_g():
    lc, signal = _two_band(0.7)
    merged = merge_bands(lc)
    assert merged.band == "g" and "band" not in merged.aux and len(merged) == len(lc)
    assert merged.meta["era_offset_mag"] == pytest.approx(0.7, abs=0.03)
    resid = merged.mags - 13.7 - signal
    assert np.nanmedian(np.abs(resid)) < 0.05


def test_without_overlap_the_era_medians_are_used():
    t_ref, t_other = np.linspace(100, 200, 50), np.linspace(0, 99, 50)
    assert band_offset(t_ref, np.full(50, 14.5), t_other, np.full(50, 14.0)) == pytest.approx(0.5)


def test_single_band_is_unchanged_and_other_mixes_keep_the_dominant_band():
    t = np.arange(30.0)
    one = LightCurve("s", t, np.full(30, 14.0), np.full(30, 0.02), "mixed", aux={"band": np.array(["CV"] * 30)})
    out = merge_bands(one)
    assert out.band == "CV" and np.array_equal(out.mags, one.mags)
    mix = LightCurve("s", t, np.full(30, 14.0), np.full(30, 0.02), "mixed",
                     aux={"band": np.array(["r"] * 20 + ["i"] * 10)})
    out = merge_bands(mix)
    assert out.band == "r" and len(out) == 20 and out.meta["excluded_band_points"] == 10
    plain = LightCurve("s", t, np.full(30, 14.0), np.full(30, 0.02), "V")
    assert merge_bands(plain) is plain
