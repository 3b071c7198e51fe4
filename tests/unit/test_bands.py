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


def test_paired_offset_uses_the_window_edges_and_the_median_of_the_neighbours():
    # g at day 110 pairs with V points within 10 days (100 and 120 both at the edge); at 110.01 only 120
    t_v, m_v = np.array([100.0, 120.0, 300.0]), np.array([14.0, 14.2, 99.0])
    assert band_offset(np.array([110.0]), np.array([15.0]), t_v, m_v, min_pairs=1) == pytest.approx(0.9)
    assert band_offset(np.array([110.01]), np.array([15.0]), t_v, m_v, min_pairs=1) == pytest.approx(0.8)
    # the median of the per-point differences (an outlying pair does not pull it)
    t_g = np.array([100.0, 101.0, 102.0, 103.0, 500.0])
    m_g = np.array([15.0, 15.0, 15.0, 15.0, 50.0])
    t_v2, m_v2 = np.array([100.0, 101.0, 102.0, 103.0, 500.0]), np.array([14.0, 14.0, 14.0, 14.0, 14.0])
    assert band_offset(t_g, m_g, t_v2, m_v2, min_pairs=5) == pytest.approx(1.0)
    assert band_offset(np.array([]), np.array([]), t_v, m_v) == 0.0
    assert band_offset(t_v, m_v, np.array([]), np.array([])) == 0.0


def test_era_fallback_compares_the_first_reference_points_with_the_last_other_points():
    rng = np.random.default_rng(3)
    t_v = np.arange(150.0)                    # V: 50 early points at 10 mag, then the last 100 at 12 mag
    m_v = np.where(t_v < 50, 10.0, 12.0)
    t_g = 1000 + np.arange(150.0)             # g: the first 100 points at 13 mag, then 50 at 20 mag
    m_g = np.where(t_g < 1100, 13.0, 20.0)
    i, j = rng.permutation(150), rng.permutation(150)              # input order must not matter
    assert band_offset(t_g[i], m_g[i], t_v[j], m_v[j]) == pytest.approx(1.0)


def test_merging_shifts_only_v_keeps_every_point_and_records_the_offset():
    t = np.arange(40.0)
    bands = np.array(["V", "g"] * 20)
    mags = np.where(bands == "g", 15.0, 14.5)
    errors = np.full(40, 0.02)
    errors[0] = 5.0                                    # an unusable V point (error > 1 mag): not in the offset
    mags[0] = 0.0
    lc = LightCurve("s", t, mags, errors, "mixed", label="EA", meta={"source": "x"}, aux={"band": bands, "k": t})
    merged = merge_bands(lc)
    assert merged.meta["era_offset_mag"] == pytest.approx(0.5) and merged.meta["excluded_band_points"] == 0
    assert merged.meta["source"] == "x" and merged.label == "EA" and np.array_equal(merged.aux["k"], t)
    assert np.allclose(merged.mags[1:], 15.0) and merged.mags[0] == pytest.approx(0.5)   # V + offset, g as is
    assert np.array_equal(merged.errors, errors) and np.array_equal(merged.times, t)
    assert "era_offset_mag" not in lc.meta                                    # the input is not changed


def test_a_curve_without_points_keeps_its_identity():
    empty = LightCurve("e", np.array([]), np.array([]), np.array([]), "mixed", label="RRab", meta={"m": 1},
                       aux={"band": np.array([], dtype=str), "x": np.array([])})
    out = merge_bands(empty)
    assert (out.object_id, out.band, out.label, out.meta, len(out)) == ("e", "mixed", "RRab", {"m": 1}, 0)
    assert "band" not in out.aux and "x" in out.aux


def test_unusable_points_inside_the_overlap_cannot_move_the_offset():
    """Most V points in the overlap are junk (errors of 5 mag, magnitudes 3 mag off): the offset is
    measured on the usable points only, so it stays g - V = -0.5 mag."""
    t_g = np.arange(0.0, 100.0)
    t_v = np.arange(0.25, 100.0)
    t_bad = np.repeat(np.arange(0.5, 100.0), 3)
    times = np.concatenate([t_g, t_v, t_bad])
    mags = np.concatenate([np.full(t_g.size, 10.0), np.full(t_v.size, 10.5), np.full(t_bad.size, 13.5)])
    errs = np.concatenate([np.full(t_g.size + t_v.size, 0.02), np.full(t_bad.size, 5.0)])
    bands = np.array(["g"] * t_g.size + ["V"] * (t_v.size + t_bad.size))
    lc = LightCurve("s", times, mags, errs, "mixed", aux={"band": bands})
    assert merge_bands(lc).meta["era_offset_mag"] == pytest.approx(-0.5)
