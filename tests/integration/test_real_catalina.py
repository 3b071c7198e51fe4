"""The real Catalina SSS data in ../shared/data/catalina."""

from collections import Counter

import numpy as np
import pytest

from varstream.lightcurve import LightCurveError, featurise
from varstream.lightcurve.features import OPTIONAL_NAMES
from varstream.lightcurve.loaders import catalina, open_dataset
from varstream.lightcurve.taxonomy import CATALINA_CLASSES

pytestmark = pytest.mark.integration


def test_every_catalina_file_loads_and_matches_the_catalogue(catalina_dir):
    catalogue = catalina.read_catalogue(catalina_dir / "catalogue.txt")
    assert len(catalogue) == 29950
    seen, bad_lines, labels = 0, 0, Counter()
    for lc in catalina.iter_lightcurves(catalina_dir):
        seen += 1
        assert lc.object_id in catalogue, lc.object_id
        assert len(lc) > 0 and np.isfinite(lc.times).all()
        bad_lines += lc.meta["bad_lines"]
        labels[lc.label] += 1
    assert seen == len(catalogue)
    assert bad_lines == 0
    assert labels == Counter(e.label for e in catalogue.values())
    assert set(labels) == set(CATALINA_CLASSES)
    assert labels["EW"] == 15042 and labels["DSCT"] == 118


def test_catalina_rows_are_sorted_by_the_pipeline(catalina_dir):
    lc = next(catalina.iter_lightcurves(catalina_dir, limit=1))
    assert np.any(np.diff(lc.times) < 0)          # the files are not time-ordered
    f = featurise(lc)
    assert "input was not sorted by time" in f.report.notes


def _stratified_sample(catalina_dir, per_class):
    """The first ``per_class`` curves of every class, in archive order (deterministic)."""
    wanted: dict[str, list[str]] = {}
    for object_id, entry in catalina.read_catalogue(catalina_dir / "catalogue.txt").items():
        ids = wanted.setdefault(entry.label, [])
        if len(ids) < per_class:
            ids.append(object_id)
    return [i for ids in wanted.values() for i in ids]


def test_features_are_finite_for_at_least_99_percent_of_real_curves(catalina_dir):
    ids = _stratified_sample(catalina_dir, per_class=60)     # 660 curves, every class
    ok, failures = 0, []
    for lc in catalina.iter_lightcurves(catalina_dir, ids=ids):
        try:
            f = featurise(lc)
        except LightCurveError as err:
            failures.append(str(err))
            continue
        values = f.features.as_dict()
        assert all(np.isfinite(v) for n, v in values.items() if n not in OPTIONAL_NAMES)
        ok += 1
    assert ok + len(failures) == len(ids)
    assert ok / len(ids) >= 0.99, failures


def test_recovered_periods_agree_with_the_catalogue_for_rr_lyrae(catalina_dir):
    """A science check: for RRab and RRc stars the Lomb–Scargle period is the catalogue period."""
    ids = _stratified_sample(catalina_dir, per_class=40)
    hits, total = 0, 0
    for lc in catalina.iter_lightcurves(catalina_dir, ids=ids):
        if lc.label not in ("RRab", "RRc"):
            continue
        f = featurise(lc)
        total += 1
        hits += abs(f.period.period / lc.meta["catalogue_period_days"] - 1) < 0.01
    assert total == 80
    assert hits / total >= 0.8, f"{hits}/{total} RR Lyrae periods recovered"


def test_open_dataset_detects_the_layout(catalina_dir):
    ds = open_dataset(catalina_dir)
    assert ds.kind == "catalina" and ds.class_counts()["RRab"] == 3460
