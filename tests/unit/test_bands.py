"""combine_bands: per-band offsets fitted with one shared periodic shape; the identity for one band."""

import numpy as np
import pytest

from varstream.lightcurve import LightCurveError, PipelineConfig, featurise
from varstream.lightcurve.bands import MIN_BAND_POINTS, band_levels, combine_bands, reference_band
from varstream.lightcurve.types import LightCurve


def _rrab(phase: np.ndarray) -> np.ndarray:
    """A saw-tooth RRab-like shape (mag, 0 mean): fast rise, slow decline."""
    return 0.5 * (np.where(phase < 0.15, 1.0 - phase / 0.15, (phase - 0.15) / 0.85) - 0.5)


def _two_band(n=400, offset=0.7, seed=0, period=0.5617, r_amplitude=0.7):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(58000, 58400, n))
    bands = rng.choice(["g", "r"], n)
    ph = np.mod(t / period, 1.0)
    mags = 15.0 + _rrab(ph) * np.where(bands == "r", r_amplitude, 1.0) - (bands == "r") * offset
    mags = mags + rng.normal(0, 0.02, n)
    return LightCurve("s", t, mags, np.full(n, 0.02), "mixed", label="RRab", aux={"band": bands}), ph


def test_the_offset_is_recovered_and_every_point_is_kept():
    lc, _ = _two_band(offset=0.7)
    out = combine_bands(lc)
    assert out.band == "g" and "band" not in out.aux and len(out) == len(lc) and out.label == "RRab"
    assert out.meta["band_offsets_mag"]["g"] == 0.0
    assert out.meta["band_offsets_mag"]["r"] == pytest.approx(0.7, abs=0.02)   # r is 0.7 mag brighter
    assert out.meta["excluded_band_points"] == 0
    assert "band_offsets_mag" not in lc.meta                                   # the input is not changed


def test_each_band_is_scaled_to_the_reference_amplitude():
    """r varies with 0.7 of g's amplitude: its variation (and errors) are scaled by 1/0.7, so the
    combined curve is one shape, g's, within the noise."""
    lc, ph = _two_band(n=600, offset=0.3, seed=5, r_amplitude=0.7)
    out = combine_bands(lc)
    assert out.meta["band_amplitude_scales"]["g"] == 1.0
    assert out.meta["band_amplitude_scales"]["r"] == pytest.approx(1 / 0.7, rel=0.05)
    r = lc.aux["band"] == "r"
    assert np.allclose(out.errors[r], lc.errors[r] * out.meta["band_amplitude_scales"]["r"])
    resid = out.mags - 15.0 - _rrab(ph)
    assert np.std(resid[r]) < 0.05 and np.std(resid[~r]) < 0.03
    flat = combine_bands(LightCurve("f", lc.times, np.where(r, 14.0, 15.0) + 0.001 * np.sin(lc.times),
                                    lc.errors, "mixed", aux=lc.aux))
    assert flat.meta["band_amplitude_scales"] == {"g": 1.0, "r": 1.0}     # nothing to measure: unscaled


def test_a_band_seen_only_near_maximum_gets_its_level_from_the_shared_shape():
    """r observed only at phases 0-0.2 (near maximum light, ~0.2 mag brighter than the mean):
    a median difference would call r 0.2 mag too bright; the shared fit does not."""
    rng = np.random.default_rng(4)
    period = 0.61
    t_g = np.sort(rng.uniform(0, 300, 300))
    cycles = rng.integers(0, 490, 60)
    t_r = np.sort((cycles + rng.uniform(0.0, 0.2, 60)) * period)
    t = np.concatenate([t_g, t_r])
    bands = np.array(["g"] * t_g.size + ["r"] * t_r.size)
    shape = 0.4 * np.cos(2 * np.pi * t / period)
    mags = 14.0 + shape + (bands == "r") * 0.3 + rng.normal(0, 0.01, t.size)
    lc = LightCurve("s", t, mags, np.full(t.size, 0.01), "mixed", aux={"band": bands})
    naive = np.median(mags[bands == "g"]) - np.median(mags[bands == "r"])
    assert abs(naive - (-0.3)) > 0.2
    assert combine_bands(lc).meta["band_offsets_mag"]["r"] == pytest.approx(-0.3, abs=0.02)


def test_one_band_is_the_identity_and_a_sparse_band_is_set_aside():
    t = np.arange(30.0)
    mags = 14.0 + 0.1 * np.sin(t)
    one = LightCurve("s", t, mags, np.full(30, 0.02), "mixed", aux={"band": np.array(["CV"] * 30)})
    out = combine_bands(one)
    assert out.band == "CV" and np.array_equal(out.mags, one.mags) and out.meta["band_offsets_mag"] == {"CV": 0.0}
    plain = LightCurve("s", t, mags, np.full(30, 0.02), "V")
    assert combine_bands(plain) is plain
    few = MIN_BAND_POINTS - 1
    mix = LightCurve("s", t, mags, np.full(30, 0.02), "mixed",
                     aux={"band": np.array(["r"] * (30 - few) + ["u"] * few)})
    out = combine_bands(mix)
    assert out.band == "r" and len(out) == 30 - few and out.meta["excluded_band_points"] == few


def test_a_curve_without_points_keeps_its_identity():
    empty = LightCurve("e", np.array([]), np.array([]), np.array([]), "mixed", label="RRab", meta={"m": 1},
                       aux={"band": np.array([], dtype=str), "x": np.array([])})
    out = combine_bands(empty)
    assert (out.object_id, out.band, out.label, len(out)) == ("e", "mixed", "RRab", 0)
    assert "band" not in out.aux and "x" in out.aux


def test_unusable_points_cannot_move_the_offsets():
    lc, _ = _two_band(n=200, offset=0.4, seed=2)
    mags, errs = lc.mags.copy(), lc.errors.copy()
    bad = np.arange(0, 200, 7)
    mags[bad] += 3.0
    errs[bad] = 5.0                                    # errors over 1 mag: unusable
    junk = LightCurve("s", lc.times, mags, errs, "mixed", aux=lc.aux)
    assert combine_bands(junk).meta["band_offsets_mag"] == combine_bands(
        junk.select(errs < 1.0)).meta["band_offsets_mag"]


def test_reference_band_prefers_v_like_bands_then_alphabetical():
    assert reference_band({"g", "V"}) == "V"
    assert reference_band({"r", "g", "i"}) == "g"
    assert reference_band({"y", "z", "u"}) == "u"
    assert reference_band({"Q", "P"}) == "P"           # unknown bands after the known ones, alphabetically


def test_band_levels_without_a_shape_are_the_band_means():
    t = np.arange(6.0)
    fit = band_levels(t, np.array([1.0, 2.0, 1.0, 2.0, 1.0, 2.0]), np.ones(6), np.array(["a", "b"] * 3))
    assert fit.levels == pytest.approx({"a": 1.0, "b": 2.0}) and fit.amplitudes == {"a": 1.0, "b": 1.0}


def test_two_sparse_bands_together_give_the_period():
    """A two-band RR Lyrae of 24 points (r 0.5 mag brighter, 0.7 of g's amplitude): each band alone
    ends on a wrong period, both together on the right one (within 0.1 %)."""
    period = 0.5617
    for seed in (3, 4):
        lc, _ = _two_band(n=24, offset=0.5, seed=seed, period=period)
        for b in "gr":
            alone = featurise(lc.select(lc.aux["band"] == b)).period.period
            assert abs(alone / period - 1) > 0.05
        f = featurise(lc)
        assert f.band == "g" and f.n_points == 24
        assert f.period.period == pytest.approx(period, rel=1e-3)
