"""The stream's estimate of its survey's class prior (EM on unlabelled classifications), how it is
applied under ``serve --prior survey``, reported on /metrics and shown by ``tail``."""

import numpy as np
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import synthetic_curve
from tests.unit.test_priors import _mixture
from varstream import priors
from varstream.inference import SURVEY_PRIOR, TRAINED_PRIOR, default_models_dir
from varstream.stream.classify import StreamClassifier, classification_record
from varstream.stream.metrics import StreamMetrics
from varstream.stream.survey_prior import SurveyPrior
from varstream.stream.tail import HEADER, format_row

CLASSES = ["A", "B", "C", "D"]


def nonper_column(row: str) -> str:
    """The text of a ``tail`` row under the ``nonper`` heading (fixed-width columns)."""
    end = HEADER.index("nonper") + len("nonper")
    return row[end - 6:end].strip()


def test_the_survey_prior_recovers_a_shifted_class_mix_from_a_stream_of_classifications():
    rng = np.random.default_rng(11)
    true = np.array([0.05, 0.15, 0.30, 0.50])          # the survey's mix; the model assumes uniform
    post, _ = _mixture(true, 6000, rng)
    est = SurveyPrior(CLASSES, np.full(4, 0.25), every=500, min_stars=1000)
    for i, p in enumerate(post[:999]):
        est.observe(f"s{i}", p)
    assert est.estimate is None and est.apply(post[0]) is None     # too few stars: nothing is moved
    for i, p in enumerate(post[999:], start=999):
        est.observe(f"s{i}", p)
    np.testing.assert_allclose(est.estimate, true, atol=0.03)
    moved = est.apply(post[0])
    np.testing.assert_allclose(moved, priors.reweight(post[0], est.estimate, np.full(4, 0.25)))
    # a star classified again replaces its earlier probabilities; the oldest stars leave first
    est.observe("s0", post[1])
    assert est.stars == 6000 and list(est.latest)[-1] == "s0"
    small = SurveyPrior(CLASSES, np.full(4, 0.25), max_stars=3)
    for i in range(5):
        small.observe(f"s{i}", post[i])
    assert list(small.latest) == ["s2", "s3", "s4"]


def test_the_estimate_from_records_takes_each_stars_latest_classification_under_the_trained_prior():
    def rec(oid, n, p, prior=TRAINED_PRIOR):
        return {"object_id": oid, "n_observations": n, "prior": prior,
                "probabilities": [{"label": c, "probability": v} for c, v in zip(CLASSES, p)]}
    records = [rec("a", 10, [1, 0, 0, 0]), rec("a", 20, [0, 0, 0, 1]), rec("b", 5, [0, 1, 0, 0]),
               rec("b", 9, [0, 0, 1, 0], SURVEY_PRIOR)]                  # already moved: left out
    est = SurveyPrior.from_records(records, CLASSES, np.full(4, 0.25))
    assert est.stars == 2
    np.testing.assert_allclose(est.latest["a"], [0, 0, 0, 1])
    np.testing.assert_allclose(est.latest["b"], [0, 1, 0, 0])
    np.testing.assert_allclose(est.estimate, [0, 0.5, 0, 0.5], atol=1e-3)


def test_serving_with_the_survey_prior_moves_the_published_probabilities_and_says_so():
    curves = [synthetic_curve(f"s{i}", n=150, seed=i) for i in range(3)]
    trained = StreamClassifier(default_models_dir())
    survey = StreamClassifier(default_models_dir(), prior=SURVEY_PRIOR)
    survey.survey_prior = SurveyPrior(survey.classes, survey.model.output_prior, every=1, min_stars=2)
    plain = trained.classify(curves)
    moved = survey.classify(curves)
    assert all(o.prior == TRAINED_PRIOR for o in plain) and trained.survey_prior.stars == 3   # observed, not applied
    assert all(o.prior == SURVEY_PRIOR for o in moved)
    est = survey.survey_prior.estimate
    for a, b in zip(plain, moved):
        np.testing.assert_allclose(b.probabilities, priors.reweight(a.probabilities, est, survey.model.output_prior),
                                   atol=1e-6)
    record = classification_record(moved[0], survey.info, survey.classes, "a", 1, 1, 1)
    assert record["prior"] == SURVEY_PRIOR
    assert nonper_column(format_row(record)).endswith("*")              # tail marks moved probabilities
    # /metrics reports both priors, per class
    metrics = StreamMetrics()
    metrics.report_prior(survey.survey_prior)
    samples = {(s.name, s.labels.get("class")): s.value
               for fam in text_string_to_metric_families(generate_latest(metrics.registry).decode())
               for s in fam.samples}
    assert samples[("varstream_survey_prior_stars", None)] == 3
    for c, t, v in zip(survey.classes, survey.model.output_prior, est):
        assert abs(samples[("varstream_trained_prior", c)] - t) < 1e-9
        assert abs(samples[("varstream_survey_prior", c)] - v) < 1e-9


def test_tail_shows_the_non_periodic_probability_under_its_own_heading():
    base = {"object_id": "ZTF18abcdefg", "predicted_class": "NONPER", "family": "NONPER", "family_probability": 0.91,
            "probabilities": [{"label": "NONPER", "probability": 0.91}, {"label": "LPV", "probability": 0.09}],
            "n_points": 40, "n_observations": 44, "period_days": 0.0, "period_fap": None, "bands": ["g", "r"],
            "ingest_time": 2000, "first_ingest_time": 1000, "publish_time": 2500}
    assert nonper_column(format_row({**base, "nonperiodic_probability": 0.91})) == "0.91"
    assert nonper_column(format_row({**base, "nonperiodic_probability": None})) == "-"     # model without it
    assert nonper_column(format_row(base)) == "-"                                            # older producer
    row = format_row({**base, "nonperiodic_probability": 0.91, "prior": SURVEY_PRIOR})
    assert nonper_column(row) == "0.91*" and len(row) == len(HEADER)
