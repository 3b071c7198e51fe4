"""The stream's science step: curves in, outcomes and schema-valid classification records out."""

import time

import numpy as np

from tests.conftest import synthetic_curve
from varstream.inference import default_models_dir
from varstream.lightcurve import LightCurve
from varstream.stream.classify import StreamClassifier
from varstream.stream.codec import decode, encode


def test_classify_scores_good_curves_reports_bad_ones_and_respects_the_deadline():
    clf = StreamClassifier(default_models_dir())
    assert clf.info.name == "ensemble(rf+mlp+gru)" and len(clf.info.model_sha256) == 64
    good = synthetic_curve("good", n=200)
    short = LightCurve("short", np.arange(5.0), np.full(5, 14.0), np.full(5, 0.02), "V")
    outcomes = clf.classify([good, short])
    assert abs(outcomes[0].probabilities.sum() - 1) < 1e-5 and outcomes[0].n_observations == 200
    assert outcomes[1].probabilities is None and "short" in outcomes[1].error
    assert len(clf.classify([good, good, good], deadline=time.perf_counter() - 1)) == 1  # at least one
    record = clf.record(outcomes[0], "a1", 200, 1_700_000_000_000, 1_699_999_999_000, 1_700_000_000_500)
    assert decode("classification", encode("classification", record)) == record
    assert record["predicted_class"] in clf.classes and record["n_points"] <= 200
