"""Property-based: over random curves the pipeline either raises its documented error or returns
finite features (NaN only for the absolute magnitude, and only without a distance) — and a curve
with plenty of usable, varying points is always featurised."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from varstream.lightcurve import LightCurve, LightCurveError, featurise
from varstream.lightcurve.features import OPTIONAL_NAMES
from varstream.lightcurve.sanitize import SanitizeConfig, usable_points

special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.1, 1e6])


@st.composite
def raw_curves(draw):
    n = draw(st.integers(0, 150))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    span = draw(st.sampled_from([0.0, 1e-4, 0.5, 30.0, 3000.0]))
    t = 50000 + rng.uniform(0, span, n)
    if draw(st.booleans()):
        t = np.round(t, 1)                                            # many duplicate timestamps
    style = draw(st.sampled_from(["sine", "noise", "constant", "steps"]))
    period = draw(st.floats(0.05, 500.0))
    m = {"sine": 14 + 0.5 * np.sin(2 * np.pi * t / period), "noise": 14 + rng.normal(0, 0.3, n),
         "constant": np.full(n, 14.0), "steps": 14 + (rng.uniform(size=n) > 0.9) * 2.0}[style]
    e = np.abs(rng.normal(0.05, 0.02, n)) + 1e-4
    for arr in (t, m, e):                                             # sprinkle bad values anywhere
        k = draw(st.integers(0, max(n // 5, 0)))
        if n and k:
            arr[rng.integers(0, n, k)] = draw(special)
    meta = draw(st.sampled_from([{}, {"parallax_mas": 3.0, "parallax_error_mas": 0.1}, {"parallax_mas": np.nan}]))
    return LightCurve(f"random-{seed}", t, m, e, "V", meta=meta), style


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_curves())
def test_pipeline_raises_only_its_error_and_never_returns_silent_nan(drawn):
    lc, style = drawn
    usable = usable_points(lc.times, lc.mags, lc.errors, SanitizeConfig())
    times = np.unique(lc.times[usable])
    varying = style in ("sine", "noise") and times.size and np.ptp(lc.mags[usable]) > 0.1
    plenty = varying and times.size >= 40 and np.ptp(times) >= 30.0
    try:
        result = featurise(lc)
    except LightCurveError as err:
        assert err.object_id == lc.object_id and str(err).startswith(f"star {lc.object_id}: ")
        assert not plenty, f"{times.size} usable points over {np.ptp(times):.0f} d, yet: {err}"
        return
    values = result.features.as_dict()
    for name, value in values.items():
        if name in OPTIONAL_NAMES:
            assert np.isfinite(value) == (values["has_distance"] == 1.0), name
        else:
            assert np.isfinite(value), name
    assert np.isfinite(result.sequence).all()
    assert result.n_points >= 10
