import numpy as np
import pytest

from varstream.lightcurve import LightCurveError
from varstream.lightcurve.bands import combine_bands
from varstream.lightcurve.loaders.asassn import asassn_id_from_filename, read_skypatrol, separate_eras
from varstream.lightcurve.loaders.catalina import lightcurve_from_dat
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.lightcurve.loaders.text import parse_columns
from varstream.lightcurve.taxonomy import asassn_to_catalina, catalina_class


def test_parse_columns_fast_path_and_bad_lines():
    table, bad = parse_columns(b"1 2 3\n4 5 6\n", 3)
    assert table.tolist() == [[1, 2, 3], [4, 5, 6]] and bad == 0
    table, bad = parse_columns(b"# c\n1 2 3\nx y z\n4 5\n7 8 9\n\n", 3)
    assert table.tolist() == [[1, 2, 3], [7, 8, 9]] and bad == 2


def test_catalina_dat_keeps_file_order_and_counts_bad_lines():
    lc = lightcurve_from_dat("123", b"53700.5 15.1 0.05\n53600.1 15.3 0.06\ngarbage\n")
    assert lc.times.tolist() == [53700.5, 53600.1] and lc.meta["bad_lines"] == 1 and lc.band == "V"


def test_asassn_names_and_class_mapping():
    assert asassn_id_from_filename("lightcurves/J000022_54_590559_3.csv") == "J000022.54+590559.3"
    assert asassn_id_from_filename("J082513_94-361722_0.csv") == "J082513.94-361722.0"
    with pytest.raises(ValueError):
        asassn_id_from_filename("VXMen.csv")
    assert asassn_to_catalina("SR") == "LPV" and asassn_to_catalina("HADS") == "DSCT"
    assert asassn_to_catalina("ROT:") == "ROT" and asassn_to_catalina("YSO") is None
    assert catalina_class(12) == "Cep-II"
    with pytest.raises(ValueError):
        catalina_class(11)


def _two_era_curve(offset=0.8, amplitude=0.05, seed=0):
    rng = np.random.default_rng(seed)
    jd = np.sort(rng.uniform(2457000, 2460800, 900))
    truth = np.where(jd < 2458000, "V", "g")
    overlap = (jd >= 2458000) & (jd <= 2458460)
    truth[overlap] = np.where(rng.uniform(size=overlap.sum()) < 0.5, "V", "g")
    mag = 13 + amplitude * np.sin(jd / 37.0) + rng.normal(0, 0.02, jd.size) + (truth == "g") * offset
    return jd, mag, truth


def test_separate_eras_recovers_bands_and_offset():
    jd, mag, truth = _two_era_curve()
    split = separate_eras(jd, mag)
    assert (split.bands == truth).all() and split.n_ambiguous == 0
    assert split.offset_mag == pytest.approx(0.8, abs=0.02)


def test_separate_eras_drops_overlap_when_bands_cannot_be_told_apart():
    jd, mag, truth = _two_era_curve(offset=0.02, amplitude=0.5)
    split = separate_eras(jd, mag)
    overlap = (jd >= 2458000) & (jd <= 2458460)
    assert (split.bands[overlap] == "").all() and split.n_ambiguous == overlap.sum()
    assert (split.bands[~overlap] == truth[~overlap]).all()


def test_read_skypatrol_three_column_eras():
    jd, mag, _ = _two_era_curve()
    text = "time,mag,mag_err\n" + "\n".join(f"{a},{b},0.02" for a, b in zip(jd, mag))
    both = read_skypatrol("J1", text.encode(), era="merged")
    g_only = read_skypatrol("J1", text.encode(), era="g")
    v_only = read_skypatrol("J1", text.encode(), era="V")
    assert both.band == "mixed" and g_only.band == "g" and v_only.band == "V"
    assert (both.aux["band"] == "g").sum() == len(g_only) and (both.aux["band"] == "V").sum() == len(v_only)
    assert len(g_only) + len(v_only) == len(both) == jd.size
    merged = combine_bands(both)                                     # the pipeline's first step
    assert merged.band == "V" and np.median(merged.mags) == pytest.approx(13.0, abs=0.05)  # g shifted onto V
    assert merged.meta["band_offsets_mag"]["g"] == pytest.approx(-0.8, abs=0.03)
    assert merged.times.min() == pytest.approx(jd.min() - 2400000.5)
    with pytest.raises(LightCurveError, match="unknown era"):
        read_skypatrol("J1", text.encode(), era="B")


def test_read_skypatrol_full_export_with_filter_and_camera():
    rows = ["# \"asas_sn_id\":7,\"name\":\"Test Star\"",
            "jd,flux,flux_err,mag,mag_err,limit,fwhm,camera,phot_filter,quality",
            "2457500.1,10,0.1,13.0,0.01,17,1.5,bd,V,G",
            "2458900.2,10,0.1,13.5,0.01,17,1.5,bi,g,G",
            "2458901.2,10,0.1,13.6,0.01,17,1.5,bi,g,G",
            "broken,row"]
    lc = read_skypatrol("Test Star", "\n".join(rows).encode(), era="g")
    assert len(lc) == 2 and lc.aux["camera"].tolist() == ["bi", "bi"] and lc.meta["bad_lines"] == 1
    assert lc.meta["skypatrol_name"] == "Test Star" and "era_offset_mag" not in lc.meta


def test_open_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a dataset"):
        open_dataset(tmp_path)
