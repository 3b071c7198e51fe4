from collections import Counter

import numpy as np

from varstream.offline.split import balance_plan, stratified_split


def test_stratified_split_is_disjoint_complete_and_keeps_proportions():
    labels = np.array(["EW"] * 700 + ["RRab"] * 200 + ["DSCT"] * 20 + ["ACEP"] * 3)
    s = stratified_split(labels, 0.15, 0.15, seed=3)
    parts = [set(s.train), set(s.val), set(s.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(range(labels.size))
    test = Counter(labels[s.test].tolist())
    assert test == {"EW": 105, "RRab": 30, "DSCT": 3, "ACEP": 1}
    assert Counter(labels[s.val].tolist())["ACEP"] == 1          # every part sees a rare class
    again = stratified_split(labels, 0.15, 0.15, seed=3)
    assert np.array_equal(again.test, s.test)                      # deterministic per seed
    assert not np.array_equal(stratified_split(labels, 0.15, 0.15, seed=4).test, s.test)


def test_balance_plan_caps_big_classes_and_counts_the_synthetic_need():
    labels = np.array(["EW"] * 5000 + ["RRab"] * 800 + ["DSCT"] * 50)
    keep, needed = balance_plan(labels, cap=1000, floor=300)
    assert Counter(labels[keep].tolist()) == {"EW": 1000, "RRab": 800, "DSCT": 50}
    assert needed == {"DSCT": 250}
    assert np.array_equal(keep, np.unique(keep))
