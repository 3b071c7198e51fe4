import json
import math

import numpy as np
import pytest

from varstream.lightcurve.gaia import (
    Distance,
    GaiaArchive,
    absolute_magnitude,
    distance_from_parallax,
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
    d = distance_from_parallax(2.0, 0.1)
    assert d.value_pc == pytest.approx(495.7858, rel=1e-5)
    assert d.error_pc == pytest.approx(24.5803, rel=1e-4)
    assert distance_from_parallax(0.4, 0.1) is None            # parallax / error = 4.17 < 5
    assert distance_from_parallax(0.483, 0.1) is None          # exactly 5 after the zero point: not > 5
    assert distance_from_parallax(0.4831, 0.1) is not None     # just above
    assert distance_from_parallax(2.0, 0.1, ruwe=1.4) is not None    # RUWE 1.4 is the edge, kept
    assert distance_from_parallax(2.0, 0.1, ruwe=2.1) is None  # poor astrometry
    assert distance_from_parallax(-1.0, 0.1) is None


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


def test_gaia_archive_cache_and_offline(tmp_path, monkeypatch):
    archive = GaiaArchive(tmp_path)
    answer = {"found": True, "source_id": 1, "parallax_mas": 2.0, "parallax_error_mas": 0.1, "ruwe": 1.0}
    archive._cache_path(10.0, -20.0).write_text(json.dumps(answer))
    assert archive.distance(10.0, -20.0).value_pc == pytest.approx(1000 / 2.017)

    def offline(*_):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(archive, "_query", offline)
    assert archive.distance(11.0, -20.0) is None                 # missing, not an exception
    assert not archive._cache_path(11.0, -20.0).exists()          # failures are not cached
    monkeypatch.setattr(archive, "_query", lambda *_: {"found": False})
    assert archive.distance(12.0, -20.0) is None
    assert json.loads(archive._cache_path(12.0, -20.0).read_text()) == {"found": False}


class _FakeGaia:
    """Stands in for astroquery's GaiaClass: records the ADQL, answers with a fixed table."""

    queries: list[str] = []
    table = None

    def __init__(self, show_server_messages: bool = True) -> None:
        assert show_server_messages is False

    def launch_job(self, adql: str):
        _FakeGaia.queries.append(adql)
        return type("Job", (), {"get_results": lambda _self: _FakeGaia.table})()


def _fake_astroquery(monkeypatch, table) -> list[str]:
    import sys
    import types

    _FakeGaia.queries, _FakeGaia.table = [], table
    monkeypatch.setitem(sys.modules, "astroquery.gaia", types.SimpleNamespace(GaiaClass=_FakeGaia))
    return _FakeGaia.queries


def test_the_archive_query_asks_for_the_nearest_source_in_the_radius(tmp_path, monkeypatch):
    from astropy.table import MaskedColumn, Table

    table = Table({"source_id": [4242], "parallax": MaskedColumn([1.5], mask=[False]),
                   "parallax_error": MaskedColumn([0.05], mask=[False]),
                   "ruwe": MaskedColumn([0.0], mask=[True]), "phot_g_mean_mag": [12.0], "dist": [1e-4]})
    queries = _fake_astroquery(monkeypatch, table)
    archive = GaiaArchive(tmp_path, radius_arcsec=3.6)
    answer = archive.lookup(10.5, -20.25)
    assert answer == {"found": True, "source_id": 4242, "parallax_mas": 1.5, "parallax_error_mas": 0.05,
                      "ruwe": None}                                   # a masked value is missing, not 0
    assert isinstance(answer["source_id"], int) and isinstance(answer["parallax_mas"], float)
    (adql,) = queries
    assert adql.startswith("SELECT TOP 1 source_id, parallax, parallax_error, ruwe")
    assert "FROM gaiadr3.gaia_source" in adql and adql.endswith("ORDER BY dist ASC")
    assert "DISTANCE(POINT(10.5, -20.25), POINT(ra, dec)) AS dist" in adql
    assert "CONTAINS(POINT(ra, dec), CIRCLE(10.5, -20.25, 0.001))" in adql     # 3.6 arcsec in degrees
    assert archive.lookup(10.5, -20.25) == answer and len(queries) == 1       # the second answer is cached
    assert json.loads(archive._cache_path(10.5, -20.25).read_text()) == answer


def test_an_empty_archive_answer_is_no_source(tmp_path, monkeypatch):
    from astropy.table import Table

    _fake_astroquery(monkeypatch, Table({"source_id": [], "parallax": []}))
    archive = GaiaArchive(tmp_path)
    assert archive.lookup(1.0, 2.0) is None and archive.distance(1.0, 2.0) is None
    assert json.loads(archive._cache_path(1.0, 2.0).read_text()) == {"found": False}
    assert archive._cache_path(1.0, 2.0).name == "gaia_dr3_1.00000_+2.00000_2.json"   # default radius 2"
