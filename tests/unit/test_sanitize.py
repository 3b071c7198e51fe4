import numpy as np
import pytest

from varstream.lightcurve import LightCurve, LightCurveError
from varstream.lightcurve.sanitize import SanitizeConfig, sanitize, single_band

CFG = SanitizeConfig(min_points=3)


def make(t, m, e):
    return LightCurve("bad-star", np.array(t, float), np.array(m, float), np.array(e, float), "V")


def test_each_rule_drops_and_counts():
    lc = make(
        [5, 1, np.nan, 2, 3, 4, 6, 7, 8, -5, 2e5, 9],
        [10, 10, 10, np.inf, 10, 10, 10, 10, 10, 10, 10, 1e6],
        [0.1, 0.1, 0.1, 0.1, 0.0, -0.2, 99.99, 0.1, 0.1, 0.1, 0.1, 0.1],
    )
    out, report = sanitize(lc, CFG)
    assert out.times.tolist() == [1, 5, 7, 8]
    assert report.dropped == {"nonfinite": 2, "nonpositive_error": 2, "large_error": 1, "absurd_time": 2,
                              "absurd_mag": 1}
    assert report.n_input == 12 and report.n_dropped == 8
    assert any("not sorted" in n for n in report.notes)


def test_duplicate_times_keep_the_smallest_error_and_are_idempotent():
    lc = make([1, 2, 2, 2, 3], [10, 11, 12, 13, 14], [0.1, 0.3, 0.05, 0.2, 0.1])
    out, report = sanitize(lc, CFG)
    assert out.times.tolist() == [1, 2, 3]
    assert out.mags.tolist() == [10, 12, 14]
    assert report.dropped["duplicate_time"] == 2
    again, report2 = sanitize(out, CFG)
    assert again.mags.tolist() == out.mags.tolist() and report2.n_dropped == 0


def test_unsorted_input_is_sorted_with_aux():
    lc = LightCurve("s", [3.0, 1.0, 2.0], [3.0, 1.0, 2.0], [0.1] * 3, "V", aux={"cam": np.array(["c", "a", "b"])})
    out, _ = sanitize(lc, CFG)
    assert out.mags.tolist() == [1, 2, 3] and out.aux["cam"].tolist() == ["a", "b", "c"]


def test_empty_and_too_short_raise_with_star_and_reason():
    with pytest.raises(LightCurveError, match="star bad-star: empty light curve"):
        sanitize(make([], [], []), CFG)
    with pytest.raises(LightCurveError, match=r"star bad-star: only 2 valid points, need at least 3 \(nonfinite 1\)"):
        sanitize(make([1, 2, 3], [1, 2, np.nan], [0.1, 0.1, 0.1]), CFG)


def test_band_change_mid_curve():
    bands = np.array(["g", "g", "V", "g", "V"])
    band, mask, dropped = single_band("s9", bands, "dominant")
    assert band == "g" and mask.tolist() == [True, True, False, True, False] and dropped == 2
    assert single_band("s9", np.array(["V", "g"]), "dominant")[0] == "V"  # tie: alphabetical
    with pytest.raises(LightCurveError, match=r"star s9: band changes mid-curve: V \(2 points\), g \(3 points\)"):
        single_band("s9", bands, "strict")
