"""to_lightcurve: arrays, astropy tables with units, Time columns and masks, TimeSeries, LightCurve."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import MaskedColumn, Table
from astropy.time import Time
from astropy.timeseries import TimeSeries

from varstream.api.curves import find_column, to_lightcurve
from varstream.lightcurve import LightCurve, LightCurveError
from varstream.lightcurve.types import JD_TO_MJD

T = np.linspace(58000.0, 58100.0, 30)
M = 15.0 + 0.1 * np.sin(T)
E = np.full(30, 0.02)


def test_arrays_with_julian_dates_become_mjd_and_a_band_per_point_is_kept():
    lc = to_lightcurve(T + JD_TO_MJD, M, E, np.array(["g", "r"] * 15), object_id="s1")
    assert lc.object_id == "s1" and np.allclose(lc.times, T) and lc.band == "mixed"
    assert lc.aux["band"].tolist() == ["g", "r"] * 15 and "2400000.5" in lc.meta["time_system"]
    one = to_lightcurve(T, M, E, "r")
    assert one.band == "r" and np.array_equal(one.times, T) and "band" not in one.aux
    fids = to_lightcurve(T, M, E, np.array([1, 2] * 15))                    # ZTF filter ids
    assert set(fids.aux["band"].tolist()) == {"g", "r"}


def test_a_table_with_units_a_time_column_and_masked_values():
    mags = MaskedColumn(M, unit=u.mag, mask=np.arange(30) == 4)
    table = Table({"obs_time": Time(T, format="mjd"), "Mag": mags, "e_mag": E * u.mag, "filter": ["ZTF_g"] * 30})
    lc = to_lightcurve(table, object_id="s2", time_col="obs_time")
    assert np.allclose(lc.times, T) and np.isnan(lc.mags[4]) and np.isfinite(np.delete(lc.mags, 4)).all()
    assert lc.band == "g" and np.allclose(lc.errors, E)
    hjd = Table({"HJD": T + JD_TO_MJD, "mag": M, "magerr": E})                # names found case-insensitively
    assert np.allclose(to_lightcurve(hjd).times, T)


def test_a_timeseries_and_a_lightcurve():
    ts = TimeSeries(time=Time(T + JD_TO_MJD, format="jd"), data={"mag": M, "mag_err": E})
    lc = to_lightcurve(ts, object_id="s3", catalogue={"parallax_mas": 2.0})
    assert np.allclose(lc.times, T, atol=1e-6) and lc.meta["parallax_mas"] == 2.0
    own = LightCurve("s4", T, M, E, "V")
    assert to_lightcurve(own) is own
    assert to_lightcurve(own, catalogue={"distance_pc": 100.0}).meta["distance_pc"] == 100.0


def test_bad_input_says_what_is_wrong():
    with pytest.raises(LightCurveError, match="star s5: .*difference photometry.*magpsf.*reference magnitude"):
        to_lightcurve(Table({"jd": T, "magpsf": M, "sigmapsf": E}), object_id="s5")
    with pytest.raises(LightCurveError, match="no magnitude error column"):
        to_lightcurve(Table({"mjd": T, "mag": M}), object_id="s6")
    with pytest.raises(LightCurveError, match="differ in length"):
        to_lightcurve(T, M[:-1], E, object_id="s7")
    with pytest.raises(LightCurveError, match="band has 2 values for 30 points"):
        to_lightcurve(T, M, E, np.array(["g", "r"]))
    with pytest.raises(LightCurveError, match="give times, magnitudes and errors"):
        to_lightcurve(T)


def test_find_column_prefers_the_explicit_name():
    assert find_column(["MJD", "mag"], ("mjd", "time")) == "MJD"
    assert find_column(["a", "b"], ("mjd",), explicit="B") == "b"
    assert find_column(["a"], ("mjd",)) is None


def test_import_varstream_stays_light_until_a_curve_is_classified():
    import subprocess
    import sys

    code = ("import sys, varstream, varstream.lightcurve; f = varstream.classify; "
            "heavy = [m for m in ('onnxruntime', 'tensorflow', 'varstream.inference') if m in sys.modules]; "
            "assert not heavy, heavy; print(f.__module__)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "varstream.api.classify"
