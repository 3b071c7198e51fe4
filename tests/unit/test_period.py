import numpy as np
import pytest

from tests.conftest import synthetic_curve
from varstream.lightcurve import LightCurveError
from varstream.lightcurve.period import PeriodSearchConfig, find_period


@pytest.mark.parametrize("period", [0.071, 0.3331, 0.57, 3.3, 41.0, 250.0])
def test_recovers_known_periods_from_sparse_irregular_sampling(period):
    lc = synthetic_curve(n=250, period=period, seed=11)
    res = find_period(lc.object_id, lc.times, lc.mags, lc.errors)
    # frequency within the refined grid step 1 / (10 T) of the truth (T = time span in days)
    assert abs(1 / res.period - 1 / period) < 1 / (10 * lc.baseline)
    assert 0 < res.power <= 1 and res.snr > 10


def test_nightly_sampling_alias_window_is_excluded():
    # pure 1-cycle-per-sidereal-day systematics and a weaker real 0.37 d signal
    rng = np.random.default_rng(2)
    t = 55000 + np.sort(rng.uniform(0, 2000, 300))
    y = 0.3 * np.sin(2 * np.pi * t * 1.0027379) + 0.1 * np.sin(2 * np.pi * t / 0.37) + rng.normal(0, 0.02, t.size)
    e = np.full(t.size, 0.02)
    assert find_period("a", t, y, e).period == pytest.approx(0.37, rel=1e-3)
    masked_off = find_period("a", t, y, e, PeriodSearchConfig(daily_alias_width=0.0))
    assert masked_off.period == pytest.approx(1 / 1.0027379, rel=1e-3)


def test_degenerate_input_raises_named_error():
    with pytest.raises(LightCurveError, match="star z"):
        find_period("z", np.array([1.0, 1.0, 1.0]), np.ones(3), np.ones(3))
    with pytest.raises(LightCurveError, match="at least 3 points"):
        find_period("z", np.array([1.0, 2.0]), np.ones(2), np.ones(2))
