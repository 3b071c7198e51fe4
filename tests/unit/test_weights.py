"""Training weights against hand-computed cases."""

import numpy as np
import pytest

from varstream.offline.weights import class_weights, row_weights, source_star, star_weights


def test_every_kind_of_row_knows_its_source_star():
    assert source_star("3019021001365") == "3019021001365"
    assert source_star("3019021001365@gaia#0") == "3019021001365"
    assert source_star("3019021001365@ztf#p1[:120]") == "3019021001365"
    assert source_star("3019021001365[:167]") == "3019021001365"
    assert source_star("synthetic:3019021001365:7@asassn#1") == "3019021001365"
    assert source_star("sim-agn-3fa2@ztf") == "sim-agn-3fa2@ztf"                 # its own source


def test_class_weights_give_every_class_the_same_total():
    y = np.array([0, 0, 0, 1])
    w = class_weights(y, 2)
    np.testing.assert_allclose(w, [4 / 6, 4 / 6, 4 / 6, 2.0])
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())


def test_each_star_is_one_unit_over_its_copies():
    # class 0: stars a, b (a has 3 rows: itself and two copies); class 1: star c with 4 rows (one synthetic)
    ids = np.array(["a", "a@gaia#0", "a[:50]", "b", "c", "c@ztf#0", "synthetic:c:0", "synthetic:c:0@gaia#0"])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    w = star_weights(ids, y, 2, class_power=0.0)        # no class factor: one unit per star
    units = {s: w[[i for i, x in enumerate(ids) if x.startswith(s) or x.startswith(f"synthetic:{s}")]].sum()
             for s in "abc"}
    assert units["a"] == pytest.approx(units["b"]) == pytest.approx(units["c"])
    assert w.mean() == pytest.approx(1.0)
    # class_power 1: the class with one star weighs as much as the class with two
    w = star_weights(ids, y, 2, class_power=1.0)
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())
    np.testing.assert_allclose(row_weights("class", ids, y, 2), class_weights(y, 2))
    with pytest.raises(ValueError, match="weighting"):
        row_weights("rows", ids, y, 2)
