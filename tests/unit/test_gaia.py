import math

import numpy as np
import pytest

from varstream.lightcurve.gaia import (
    Distance,
    absolute_magnitude,
    intensity_mean_magnitude,
    resolve_distance,
)


def test_absolute_magnitude_and_error_propagation_by_hand():
    # d = 100 pc +- 10 pc, m = 10.0 +- 0.03:
    # M = 10 - 5 log10(100 / 10) = 5.0
    # sigma_M = sqrt(0.03^2 + (5 * 10 / (100 ln 10))^2) = sqrt(0.0009 + 0.21714724^2) = 0.2192098
    m_abs, err = absolute_magnitude(10.0, 0.03, Distance(100.0, 10.0, "test"))
    assert m_abs == pytest.approx(5.0)
    assert err == pytest.approx(0.2192098, rel=1e-6)


def test_parallax_distance_with_zero_point_and_quality_cut():
    # 2.0 mas - (-0.017) = 2.017 mas -> d = 1000 / 2.017 = 495.785 pc, sigma = 1000 * 0.1 / 2.017^2 = 24.580 pc
    def from_parallax(plx, err, **more):
        return resolve_distance({"parallax_mas": plx, "parallax_error_mas": err, **more})

    d = from_parallax(2.0, 0.1)
    assert d.source == "gaia_parallax" and d.value_pc == pytest.approx(495.7858, rel=1e-5)
    assert d.error_pc == pytest.approx(24.5803, rel=1e-4)
    assert from_parallax(0.4, 0.1) is None            # parallax / error = 4.17 < 5
    assert from_parallax(0.483, 0.1) is None          # exactly 5 after the zero point: not > 5
    assert from_parallax(0.4831, 0.1) is not None     # just above
    assert from_parallax(2.0, 0.1, ruwe=1.4) is not None    # RUWE 1.4 is the edge, kept
    assert from_parallax(2.0, 0.1, ruwe=2.1) is None  # poor astrometry
    assert from_parallax(-1.0, 0.1) is None


def test_resolve_distance_preference_and_missing_state():
    good = {"parallax_mas": 2.0, "parallax_error_mas": 0.1}
    assert resolve_distance(good).source == "gaia_parallax"
    cat = resolve_distance(good | {"distance_pc": 480.0})
    assert cat.source == "catalogue" and cat.value_pc == 480.0
    assert cat.error_pc == pytest.approx(480.0 * 0.1 / 2.017)
    assert resolve_distance(good | {"ruwe": 1.5}) is None                # poor astrometry: no distance
    assert resolve_distance(good | {"ruwe": 1.4}).source == "gaia_parallax"
    # a catalogue distance of a star whose parallax fails the cut is prior-dominated: missing
    assert resolve_distance({"distance_pc": 3000.0, "parallax_mas": 0.1, "parallax_error_mas": 0.1}) is None
    # ... even when the catalogue gives it an error of its own
    assert resolve_distance({"distance_pc": 3000.0, "distance_error_pc": 300.0, "parallax_mas": 0.1,
                             "parallax_error_mas": 0.1}) is None
    # a catalogue distance with its own error and no parallax is used as given
    assert resolve_distance({"distance_pc": 800.0, "distance_error_pc": 40.0}) == Distance(800.0, 40.0, "catalogue")
    for meta in ({}, {"distance_pc": 800.0}, {"parallax_mas": "", "parallax_error_mas": None},
                 {"parallax_mas": float("nan"), "parallax_error_mas": 0.1}, {"parallax_mas": "abc"}):
        assert resolve_distance(meta) is None


def test_intensity_mean_magnitude():
    # two points of equal flux -> the magnitude itself; 10 and 12 mag -> -2.5 log10((1 + 10^-0.8) / 2)
    mean, _ = intensity_mean_magnitude(np.array([10.0, 12.0]), np.array([0.01, 0.01]))
    assert mean == pytest.approx(10.0 - 2.5 * math.log10((1 + 10 ** -0.8) / 2))
    mean, err = intensity_mean_magnitude(np.full(4, 11.0), np.full(4, 0.02))
    assert mean == pytest.approx(11.0) and err == pytest.approx(0.01)  # 0.02 / sqrt(4)
