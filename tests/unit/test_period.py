import numpy as np
import pytest

from tests.conftest import synthetic_curve
from varstream.lightcurve import LightCurveError
from varstream.lightcurve.period import PeriodSearchConfig, find_period


@pytest.mark.parametrize("period", [0.071, 0.3331, 0.57, 3.3, 41.0, 250.0])
def test_recovers_known_periods_from_sparse_irregular_sampling(period):
    lc = synthetic_curve(n=250, period=period, seed=11)
    res = find_period(lc.object_id, lc.times, lc.mags, lc.errors)
    # polished: the frequency within 1 / (50 T) of the truth (T = time span in days), so the fold
    # drifts by at most 0.02 cycles over the span
    assert abs(1 / res.period - 1 / period) < 1 / (50 * lc.baseline)
    assert 0 < res.power <= 1 and res.significance > 10 and res.fap < 1e-10
    assert res.cycles == pytest.approx((lc.times[-1] - lc.times[0]) / res.period)


def _nightly(n_nights: int = 1500, seed: int = 2, span_nights: int = 2500) -> np.ndarray:
    """Observation times of a ground survey: at most one a night, within an hour of local
    midnight, with seasonal gaps (times in days)."""
    rng = np.random.default_rng(seed)
    nights = np.sort(rng.choice(np.arange(span_nights), size=n_nights, replace=False)).astype(float)
    nights = nights[np.mod(nights, 365.25) < 250]                      # the star is up 250 nights a year
    return 55000.0 + nights + rng.normal(0, 0.04, nights.size)


def test_nightly_sampling_alias_window_is_excluded():
    """A drift of 0.3 mag over the span and a weaker real 0.37 d signal, sampled nightly: the
    drift's alias at the spectral window's 1 c/d is masked, the real period found."""
    rng = np.random.default_rng(2)
    t = _nightly()
    y = 0.3 * (t - t[0]) / np.ptp(t) + 0.1 * np.sin(2 * np.pi * t / 0.37) + rng.normal(0, 0.02, t.size)
    e = np.full(t.size, 0.02)
    res = find_period("a", t, y, e)
    assert res.period == pytest.approx(0.37, rel=1e-3)
    assert all(abs(f - 1.0) > 0.002 for f in res.candidates)             # nothing left in the masked window
    unmasked = find_period("a", t, y, e, PeriodSearchConfig(daily_alias_width=0.0, window_peaks=0))
    assert any(abs(f - 1.0) < 0.002 for f in unmasked.candidates)      # the drift's alias is a peak there


def test_a_low_amplitude_semi_regular_star_sampled_nightly_does_not_end_at_one_day():
    """A 300-d, 0.08-mag variable with a slow trend on nightly sampling with seasons: the season
    offsets that help short periods must not take its variation away and leave a daily alias."""
    rng = np.random.default_rng(7)
    t = _nightly(seed=7)
    m = 12.0 + 0.08 * np.sin(2 * np.pi * t / 300.0) + 0.02 * (t - t[0]) / 2500 + rng.normal(0, 0.02, t.size)
    res = find_period("sr", t, m, np.full(t.size, 0.02))
    assert res.period == pytest.approx(300.0, rel=0.05), res.period
    assert 0 < res.cycles < 10


def test_the_true_peak_of_a_daily_alias_pair_wins_by_its_fit():
    """A 0.7-d pulsator on nightly sampling: its alias at |1/0.7 - 1| c/d (2.33 d) folds almost as
    well; the unfolded fit decides for the true period whichever peak is taller."""
    rng = np.random.default_rng(9)
    t = _nightly(n_nights=600, seed=9)
    ph = 2 * np.pi * t / 0.7
    m = 14.0 + 0.3 * (np.sin(ph) + 0.4 * np.sin(2 * ph + 1.0)) + rng.normal(0, 0.03, t.size)
    assert find_period("p", t, m, np.full(t.size, 0.03)).period == pytest.approx(0.7, rel=1e-3)


def test_an_eclipsing_binary_with_narrow_eclipses_is_found_at_its_period_not_a_half():
    t, m, e = _eclipsing(period=1.9, width=0.015, depth2=0.3)        # eclipses 1.5 % of the cycle wide
    assert find_period("ea", t, m, e).period == pytest.approx(1.9, rel=1e-3)


def test_degenerate_input_raises_named_error():
    with pytest.raises(LightCurveError, match="star z"):
        find_period("z", np.array([1.0, 1.0, 1.0]), np.ones(3), np.ones(3))
    with pytest.raises(LightCurveError, match="at least 3 points"):
        find_period("z", np.array([1.0, 2.0]), np.ones(2), np.ones(2))


def _eclipsing(period=2.7, n=400, span=2000.0, depth1=0.8, depth2=0.3, width=0.03, seed=5):
    """A detached binary: flat light with two narrow eclipses of unequal depth (times in days)."""
    rng = np.random.default_rng(seed)
    t = 55000 + np.sort(rng.uniform(0, span, n))
    ph = np.mod((t - 55000) / period, 1.0)
    mags = 13.0 + rng.normal(0, 0.01, n)
    mags += depth1 * np.exp(-0.5 * (np.minimum(ph, 1 - ph) / width) ** 2)
    mags += depth2 * np.exp(-0.5 * ((ph - 0.5) / width) ** 2)
    return t, mags, np.full(n, 0.01)


def test_eclipsing_binary_is_found_at_its_orbital_period_not_a_harmonic():
    t, m, e = _eclipsing()
    res = find_period("ea", t, m, e)
    assert res.period == pytest.approx(2.7, rel=1e-3)              # a sine fit alone lands on P/2 or P/4
    single = find_period("ea", t, m, e, PeriodSearchConfig(decisive_bic=1e9))
    assert single.period != pytest.approx(2.7, rel=1e-3)           # ... as the decision step shows
    assert 0.0 <= res.explained <= 1.0 and res.candidates[0] == pytest.approx(1 / res.period)


def test_rr_lyrae_near_half_a_day_is_not_masked_as_a_daily_alias():
    lc = synthetic_curve(n=300, period=0.4975, seed=3)             # 2.010 c/d, 0.005 c/d from 2 c/sidereal day
    assert find_period(lc.object_id, lc.times, lc.mags, lc.errors).period == pytest.approx(0.4975, rel=1e-3)


def test_a_slow_trend_or_band_step_does_not_decide_between_candidates():
    rng = np.random.default_rng(4)
    t = 55000 + np.sort(np.concatenate([rng.uniform(365 * k, 365 * k + 200, 60) for k in range(8)]))
    step = np.where(t > 55000 + 365 * 4, 0.4, 0.0)                  # a zero-point step between seasons
    y = 0.15 * np.sin(2 * np.pi * t / 0.0963) + step + 0.2 * (t - t[0]) / 3000 + rng.normal(0, 0.02, t.size)
    res = find_period("dsct", t, y, np.full(t.size, 0.02))
    assert res.period == pytest.approx(0.0963, rel=1e-3)


def test_refinement_near_known_candidates_agrees_with_the_full_search():
    from varstream.lightcurve.period import refine_period

    lc = synthetic_curve(n=300, period=3.3, seed=8)
    full = find_period(lc.object_id, lc.times, lc.mags, lc.errors)
    grown = synthetic_curve(n=310, period=3.3, seed=8)
    again = find_period(grown.object_id, grown.times, grown.mags, grown.errors)
    fast = refine_period(grown.object_id, grown.times, grown.mags, grown.errors, full.candidates, window=full.window)
    assert fast.period == again.period and fast.n_frequencies == 0 and again.n_frequencies > 0
    # the fast path's period carries the same significance (false-alarm probability over the grid) and cycles
    assert fast.fap == pytest.approx(again.fap, rel=1e-6) and fast.fap < 1e-10 and fast.cycles == again.cycles
    with pytest.raises(LightCurveError, match="no candidate"):
        refine_period("z", lc.times, lc.mags, lc.errors, (1e6,))
