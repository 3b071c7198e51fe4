"""Ensemble weights, per-length calibration and families (known answers)."""

import numpy as np
import pytest

from varstream.inference import calibrate
from varstream.lightcurve.taxonomy import family_of, family_probabilities, model_class
from varstream.offline.ensemble_fit import LENGTH_EDGES, fit_length_temperatures, fit_weights, simplex_grid


def test_simplex_grid():
    grid = simplex_grid(3, 0.5)
    assert len(grid) == 6 and all(abs(w.sum() - 1) < 1e-12 and (w >= 0).all() for w in grid)


def test_a_member_that_collapses_on_emulated_rows_gets_no_weight():
    rng = np.random.default_rng(0)
    n, classes = 400, 3
    y = rng.integers(0, classes, n)
    emulated = np.arange(n) >= n // 2
    onehot = np.eye(classes)[y]
    good = 0.6 * onehot + 0.4 / classes                           # right everywhere
    collapse = np.where(emulated[:, None], np.eye(classes)[np.zeros(n, int)], onehot)  # real: perfect, emulated: class 0
    w = fit_weights(np.stack([good, collapse]), y, emulated, step=0.1)
    assert w[0] > 0.5                                             # the collapsing member does not sink the ensemble
    assert fit_weights(np.stack([good, good]), y, emulated, step=0.5).tolist() == [0.5, 0.5]  # ties: even


def test_length_temperatures_soften_overconfident_short_curves():
    rng = np.random.default_rng(1)
    n = 3000
    n_points = rng.choice([20, 500], n)
    y = rng.integers(0, 2, n)
    right = np.where(n_points == 20, rng.uniform(size=n) < 0.6, rng.uniform(size=n) < 0.95)
    pred = np.where(right, y, 1 - y)
    probs = np.where(np.eye(2)[pred] == 1, 0.99, 0.01)            # always 99 % sure
    temps = fit_length_temperatures(probs, y, n_points)
    assert len(temps) == len(LENGTH_EDGES) + 1
    assert temps[0] > temps[-1] > 1.0                              # 60 % right needs more softening than 95 %
    cal = calibrate(probs, n_points, list(LENGTH_EDGES), temps)
    assert np.allclose(cal.sum(axis=1), 1)
    assert cal[n_points == 20].max(axis=1).mean() == pytest.approx(0.6, abs=0.05)
    assert cal[n_points == 500].max(axis=1).mean() == pytest.approx(0.95, abs=0.03)
    assert calibrate(probs, n_points, [], []) is probs


def test_families_and_model_classes_across_surveys():
    assert [family_of(c) for c in ("RRab", "RRAB:", "EB", "DCEP", "Cep-II", "SR", "HADS", "ROT", "YSO", None)] == \
           ["RR", "RR", "ECL", "CEP", "CEP", "LPV", "DSCT", "ROT", None, None]
    classes = ["RRab", "RRc", "EW", "EA", "LPV"]
    assert family_probabilities(classes, [0.2, 0.1, 0.3, 0.1, 0.3]) == pytest.approx(
        {"RR": 0.3, "ECL": 0.4, "LPV": 0.3})
    assert [model_class(c, classes) for c in ("RRAB", "EB", "SR:", "RRab", "DCEP", "RR")] == \
           ["RRab", "EW", "LPV", "RRab", None, None]
