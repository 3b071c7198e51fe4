"""Survey emulation on synthetic curves (the real-data checks are in tests/integration/test_training.py)."""

import numpy as np
import pytest

from tests.conftest import synthetic_curve
from varstream.lightcurve import LightCurve, featurise
from varstream.offline.emulate import (
    Emulation,
    Survey,
    TemplateSurvey,
    ground_survey,
    plan,
    register,
    sparse_survey,
)


def _templates(n_curves: int = 5) -> TemplateSurvey:
    curves = [synthetic_curve(f"t{i}", n=80 + 20 * i, span=900.0 + 100 * i, seed=i, mean_mag=12.0 + i,
                              noise=0.002 * (i + 1)) for i in range(n_curves)]
    return TemplateSurvey.from_curves("tmpl", curves, "G", (1.0, 0.01), (1.0, 1.0), (0.0, 0.0))


def test_a_template_survey_lends_a_real_cadence_and_its_error_relation():
    survey = _templates()
    register([survey.survey()])
    source = synthetic_curve("rr", n=300, period=0.57, seed=11).with_values(label="RRc")
    made = Emulation(source, "tmpl", None, seed=3).build()
    cadences = [c.tolist() for c in survey.cadences]
    assert (made.times - made.times[0]).tolist() in cadences           # exactly one template's times
    assert made.label == "RRc" and made.band == "G" and made.meta["emulated"] == "tmpl"
    assert made.object_id == "rr@tmpl"
    assert np.median(made.errors) < 0.02                               # the template's errors, not the source's 0.03
    assert featurise(made).period.period == pytest.approx(0.57, rel=1e-3)   # the star's own period survives


@pytest.mark.parametrize("draw, n_range, span_range", [(ground_survey, (20, 15000), (300.0, 3700.0)),
                                                        (sparse_survey, (40, 70), (0.0, 1100.0))])
def test_parametric_surveys_have_their_documented_statistics(draw, n_range, span_range):
    rng = np.random.default_rng(0)
    for _ in range(30):
        obs = draw(rng)
        assert n_range[0] <= obs.times.size <= n_range[1]
        assert span_range[0] <= np.ptp(obs.times) <= span_range[1]
        assert np.all(np.diff(obs.times) >= 0) and obs.times[0] == 0.0
        assert np.all(obs.quoted_error(np.full(5, 14.0)) > 0)
    if draw is ground_survey:                                           # nightly with seasonal gaps
        gaps = np.diff(ground_survey(np.random.default_rng(1)).times)
        assert gaps.max() > 60


def test_prefixes_are_the_first_points_and_long_period_amplitudes_are_widened():
    register([Survey("ground", ground_survey)])
    lc = synthetic_curve("m", n=200, period=300.0, amplitude=2.0, span=3000.0, seed=2).with_values(label="LPV")
    cut = Emulation(lc, None, 30, seed=1).build()
    assert len(cut) == 30 and np.array_equal(cut.times, np.sort(lc.times)[:30]) and cut.meta["prefix"] == 30
    amps = [np.ptp(np.percentile(Emulation(lc, "ground", None, seed=s).build().mags, [5, 95])) for s in range(12)]
    assert min(amps) < 0.5 and max(amps) > 3.0                          # 0.05-8 mag, log-uniform


def test_plan_is_deterministic_and_covers_every_curve():
    curves = [synthetic_curve(f"s{i}", n=100, seed=i) for i in range(4)]
    surveys = [Survey("ground", ground_survey), Survey("sparse", sparse_survey)]
    a, b = plan(curves, surveys, 2, 1, seed=7), plan(curves, surveys, 2, 1, seed=7)
    assert [(e.source.object_id, e.survey, e.prefix, e.seed) for e in a] == \
           [(e.source.object_id, e.survey, e.prefix, e.seed) for e in b]
    assert len(a) == 12 and {e.source.object_id for e in a} == {c.object_id for c in curves}
    assert all(e.prefix is not None and 20 <= e.prefix <= 300 for e in a if e.tag.startswith("#p"))


def test_an_unmodellable_source_is_reported_not_raised():
    from varstream.offline.emulate import build_safely

    register([Survey("ground", ground_survey)])
    flat = LightCurve("flat", np.arange(40.0), np.full(40, 12.0), np.full(40, 0.01), "V")
    assert build_safely(Emulation(flat, "ground", None, 0)) is None


def test_red_noise_has_unit_variance_and_the_ou_correlation():
    from varstream.offline.emulate import red_noise

    rng = np.random.default_rng(5)
    t = np.arange(0.0, 20000.0, 2.0)
    x = red_noise(t[::-1].copy(), 10.0, rng)[::-1]        # any order of times gives the process in time order
    assert np.var(x) == pytest.approx(1.0, abs=0.1)
    assert np.corrcoef(x[:-1], x[1:])[0, 1] == pytest.approx(np.exp(-2.0 / 10.0), abs=0.03)
    assert np.corrcoef(x[:-20], x[20:])[0, 1] == pytest.approx(np.exp(-40.0 / 10.0), abs=0.05)


def _even(rng):
    from varstream.offline.emulate import Observation

    return Observation(np.arange(0.0, 3000.0, 5.0), lambda m: np.full(m.shape, 1e-3), 1.0, 1.0, 0.0, "G", 12.0)


def test_widened_long_period_variables_get_an_irregular_part(monkeypatch):
    import varstream.offline.emulate as em
    from varstream.lightcurve.clean import folded_model

    t = np.sort(np.random.default_rng(1).uniform(0, 2500, 300))
    mira = LightCurve("mira", t, 12 + 2.0 * np.sin(2 * np.pi * t / 300.0), np.full(t.size, 0.02), "V", label="LPV",
                      meta={"catalogue_period_days": 300.0})
    register([Survey("even", _even)])
    monkeypatch.setattr(em, "WIDEN_SHARE", 1.0)
    monkeypatch.setattr(em, "WIDEN", {"LPV": (None, (2.0, 2.0))})      # keep the period: fold at 300 d

    def unexplained() -> float:
        shares = []
        for seed in range(6):
            lc = Emulation(mira, "even", None, seed).build()
            shares.append(np.var(folded_model(lc, 300.0).residuals) / np.var(lc.mags))
        return float(np.median(shares))

    irregular = unexplained()
    monkeypatch.setattr(em, "IRREGULAR", {})
    regular = unexplained()
    assert regular < 0.02 and irregular > 0.1
