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


def test_one_point_rule_for_cleaning_band_merging_alert_checks_and_replay():
    """sanitize, combine_bands, the stream's alert check and the replay tool apply the same rule with
    the same reason codes (POINT_RULES)."""
    from collections import Counter

    from varstream.lightcurve.bands import combine_bands
    from varstream.lightcurve.sanitize import POINT_RULES, count_problems, point_problems
    from varstream.stream.replay import alerts_from_curve
    from varstream.stream.validate import Rejection, validate_alert

    cfg = SanitizeConfig(min_points=3)
    bad = [(np.nan, 10.0, 0.1, "nonfinite"), (1.0, 10.0, 0.0, "nonpositive_error"), (2.0, 10.0, -1.0, "nonpositive_error"),
           (3.0, 10.0, 1.5, "large_error"), (-4.0, 10.0, 0.1, "absurd_time"), (5.0, 55.0, 0.1, "absurd_mag"),
           (6.0, np.inf, 0.1, "nonfinite")]
    good = [(10.0 + i, 10.0 + 0.1 * i, 0.05, None) for i in range(5)] + [(20.0 + i, 10.7, 0.05, None) for i in range(5)]
    t, m, e, codes = (np.array(c) for c in zip(*(bad + good)))
    expected = Counter(c for c in codes if c)
    assert set(expected) <= set(POINT_RULES)
    assert count_problems(point_problems(t, m, e, cfg)) == expected
    _, report = sanitize(make(t, m, e), cfg)
    assert report.dropped == expected
    points = [{"mjd": ti, "mag": mi, "mag_err": ei, "band": "V"} for ti, mi, ei, _ in bad + good]
    for point, (*_, code) in zip(points, bad + good):
        checked = validate_alert({"alert_id": "a", "object_id": "s", "source": point}, b"s", cfg)
        assert (checked.code if isinstance(checked, Rejection) else None) == code
    # the same rules drop an alert's bad earlier points, one pass over all of them
    checked = validate_alert({"alert_id": "a", "object_id": "s", "source": points[-1], "prev_sources": points[:-1]},
                             b"s", cfg)
    assert checked.dropped == expected and len(checked.sources) == len(good)
    skipped = Counter()
    assert len(alerts_from_curve(make(t, m, e), cfg, skipped)) == len(good) and skipped == expected
    # the band offsets are fitted on usable points only: a bad point must not move them
    bands = np.array(["V"] * (len(bad) + 5) + ["g"] * 5)
    lc = LightCurve("s", t, m, e, "mixed", aux={"band": bands})
    clean = combine_bands(lc.select(codes == None))  # noqa: E711 (object array of codes)
    offsets = combine_bands(lc).meta["band_offsets_mag"]
    assert offsets == clean.meta["band_offsets_mag"] and offsets["V"] == 0.0 and offsets["g"] != 0.0


def test_rule_edges_and_the_duplicate_tie_break():
    # an error of exactly max_error (1 mag) is kept, just above is not; equal errors: the brighter point wins
    lc = make([1, 2, 3, 4, 4, 5], [10, 11, 12, 13.5, 13.0, 14], [0.1, 1.0, 1.0 + 1e-9, 0.2, 0.2, 0.1])
    out, report = sanitize(lc, CFG)
    assert out.times.tolist() == [1, 2, 4, 5] and report.dropped["large_error"] == 1
    assert out.mags.tolist() == [10, 11, 13.0, 14] and report.dropped["duplicate_time"] == 1
    swapped, _ = sanitize(make([4, 4, 1, 5], [13.0, 13.5, 10, 14], [0.2, 0.2, 0.1, 0.1]), CFG)
    assert swapped.mags.tolist() == [10, 13.0, 14]                      # whatever the input order


def test_the_stream_state_keeps_the_point_sanitize_keeps_at_a_duplicated_time():
    """One duplicate rule (duplicate_key): of points at the same time, sanitize and the stream's
    per-star state keep the same one, whatever the arrival order (ties of error and magnitude too)."""
    import random

    from varstream.stream.state import Observation, StarState

    rng = random.Random(4)
    for _ in range(50):
        pts = [(rng.choice([0.1, 0.2]), rng.choice([12.0, 12.5]), rng.choice(["V", "g", "r"])) for _ in range(4)]
        rng.shuffle(pts)
        star = StarState("s", 0)
        for err, mag, band in pts:
            star.add(Observation(1.0, band, mag, err, "a", 0))
        others = [(float(t), 15.0, 0.1, "g") for t in range(2, 12)]
        rows = [(1.0, mag, err, band) for err, mag, band in pts] + others
        t, m, e, b = (np.array(c) for c in zip(*rows))
        out, _ = sanitize(LightCurve("s", t.astype(float), m.astype(float), e.astype(float), "mixed",
                                     aux={"band": b}), CFG)
        kept = min((err, mag, band) for err, mag, band in pts)
        assert (out.errors[0], out.mags[0], out.aux["band"][0]) == kept
        assert (star.err[0], star.mag[0]) == kept[:2] and star.lightcurve().aux["band"][0] == kept[2]
