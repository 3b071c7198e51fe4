"""The stream's science step: curves in, outcomes and schema-valid classification records out."""

import time

import numpy as np

from tests.conftest import synthetic_curve
from varstream.inference import default_models_dir
from varstream.lightcurve import LightCurve
from varstream.lightcurve.taxonomy import family_of
from varstream.stream.classify import StreamClassifier, classification_record
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
    record = classification_record(outcomes[0], clf.info, clf.classes, "a1", 1_700_000_000_000, 1_699_999_999_000,
                                   1_700_000_000_500)
    assert decode("classification", encode("classification", record)) == record
    probs = outcomes[0].probabilities
    assert record["predicted_class"] == clf.classes[int(np.argmax(probs))] and record["n_points"] <= 200
    assert [p["probability"] for p in record["probabilities"]] == [float(p) for p in probs]
    families: dict[str, float] = {}
    for c, p in zip(clf.classes, probs):              # by hand: each class's family, summed
        families[family_of(c)] = families.get(family_of(c), 0.0) + float(p)
    best = max(families, key=families.get)
    assert record["family"] == best and abs(record["family_probability"] - families[best]) < 1e-12
    assert record["abs_mag"] is None and record["abs_mag_err"] is None        # no distance
    assert (record["ingest_time"], record["first_ingest_time"], record["publish_time"]) == (
        1_700_000_000_000, 1_699_999_999_000, 1_700_000_000_500)


def test_the_record_carries_the_absolute_magnitude_when_the_star_has_a_distance():
    clf = StreamClassifier(default_models_dir())
    near = synthetic_curve("near", n=200)
    near = LightCurve(near.object_id, near.times, near.mags, near.errors, near.band,
                      meta={"distance_pc": 1000.0, "distance_error_pc": 50.0})
    outcome = clf.classify([near])[0]
    record = classification_record(outcome, clf.info, clf.classes, "a", 1, 1, 1)
    features = outcome.featurised.features
    assert record["abs_mag"] == features["abs_mag"] and record["abs_mag_err"] == features["abs_mag_err"]
    assert abs(record["abs_mag"] - (float(np.mean(near.mags)) - 10.0)) < 0.3     # m - 5 log10(1000 / 10)
