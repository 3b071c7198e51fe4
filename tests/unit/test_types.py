import numpy as np
import pytest

from varstream.lightcurve import LightCurve, LightCurveError


def test_arrays_are_float_and_select_keeps_aux_aligned():
    lc = LightCurve("s1", [3, 1, 2], [10.0, 11.0, 12.0], [0.1, 0.2, 0.3], "g", aux={"camera": ["a", "b", "c"]})
    assert lc.times.dtype == np.float64
    sub = lc.select(np.array([2, 0]))
    assert sub.times.tolist() == [2.0, 3.0]
    assert sub.aux["camera"].tolist() == ["c", "a"]
    assert lc.baseline == 2.0


@pytest.mark.parametrize("kwargs, reason", [
    (dict(times=[1, 2], mags=[1.0], errors=[0.1, 0.1]), "differ in length"),
    (dict(times=[[1, 2]], mags=[[1, 2]], errors=[[1, 1]]), "one-dimensional"),
    (dict(times=[1], mags=[1], errors=[1], band=""), "band"),
    (dict(times=[1], mags=[1], errors=[1], aux={"cam": ["a", "b"]}), "aux column"),
])
def test_malformed_curves_name_the_star(kwargs, reason):
    args = dict(times=[1.0], mags=[1.0], errors=[0.1], band="V") | kwargs
    with pytest.raises(LightCurveError) as err:
        LightCurve("star-42", args["times"], args["mags"], args["errors"], args["band"], aux=args.get("aux", {}))
    assert "star-42" in str(err.value) and reason in str(err.value)
