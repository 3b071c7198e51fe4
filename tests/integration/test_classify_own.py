"""Classify your own light curves: the Python API against evaluate's path, ``varstream classify`` on real
Sky Patrol CSVs and on long ECSV/Parquet tables with an id column (a bad file or star among them), and
the README's two examples run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table, vstack

import varstream
from varstream.inference import default_models_dir
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.offline.evaluate import Scorer
from varstream.offline.feature_cache import featurise_curves

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def catalina_curves(catalina_dir):
    curves = []
    for lc in open_dataset(catalina_dir).iter_lightcurves():
        curves.append(lc)
        if len(curves) == 6:
            break
    return curves


@pytest.fixture(scope="module")
def skypatrol_dir(asassn_dir, tmp_path_factory):
    """Four real Sky Patrol CSVs (as downloaded) and one file that is not a light curve."""
    out = tmp_path_factory.mktemp("skypatrol")
    with tarfile.open(asassn_dir / "skypatrol_lightcurves.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".csv")][:4]
        for m in members:
            (out / Path(m.name).name).write_bytes(tar.extractfile(m).read())
    (out / "notes.csv").write_text("comment,text\n1,not a light curve\n")
    return out


def test_the_api_gives_evaluates_ensemble_probabilities(catalina_curves):
    scorer = Scorer(default_models_dir())
    table = featurise_curves(catalina_curves, scorer.pipeline, jobs=1)
    expected = scorer.probabilities(table)["ensemble"]
    classes = scorer.classes
    for lc, row in zip(catalina_curves, expected):
        got = varstream.classify(lc.times, lc.mags, lc.errors, band="V", object_id=lc.object_id)
        assert got.ok and got.object_id == lc.object_id and got.n_observations == len(lc)
        np.testing.assert_allclose([got.probabilities[c] for c in classes], row, atol=1e-6)
        assert got.predicted_class == classes[int(np.argmax(row))] and got.period_days > 0 and got.bands == ("V",)
    many = varstream.classify_many(catalina_curves + [(np.arange(3.0), np.ones(3), np.ones(3))], jobs=2)
    assert [m.object_id for m in many[:-1]] == [lc.object_id for lc in catalina_curves]
    for m, row in zip(many, expected):
        np.testing.assert_allclose([m.probabilities[c] for c in classes], row, atol=1e-6)
    assert many[-1].error and "only 3 valid points" in many[-1].error and not many[-1].ok
    with pytest.raises(varstream.lightcurve.LightCurveError, match="star tiny: only 3 valid points"):
        varstream.classify(np.arange(3.0), np.ones(3), np.ones(3), object_id="tiny")


def test_classify_cli_on_real_skypatrol_csvs_with_a_bad_file(skypatrol_dir, tmp_path):
    out = tmp_path / "classes.csv"
    run = subprocess.run([sys.executable, "-m", "varstream", "classify", str(skypatrol_dir), "--out", str(out),
                          "--plot", str(tmp_path / "png")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    rows = Table.read(out, format="ascii.csv")
    assert len(rows) == 5 and "4 classified, 1 not" in run.stdout
    bad = rows[rows["object_id"] == "notes"][0]
    assert "no time or magnitude or magnitude error column" in str(bad["error"])
    good = rows[rows["object_id"] != "notes"]
    assert all(str(e) in ("", "--") for e in good["error"]) and all(str(c).startswith("J") for c in good["object_id"])
    assert all(set(str(b).split()) <= {"V", "g"} for b in good["bands"]) and (good["n_points"] > 100).all()
    assert len(list((tmp_path / "png").glob("*.png"))) == 4
    # the same star through the Python API: the same answer
    first = sorted(skypatrol_dir.glob("J*.csv"))[0]
    from varstream.lightcurve.loaders.asassn import asassn_id_from_filename, read_skypatrol

    api = varstream.classify(read_skypatrol(asassn_id_from_filename(first.name), first.read_bytes()))
    row = rows[rows["object_id"] == api.object_id][0]
    assert row["predicted_class"] == api.predicted_class and float(row["probability"]) == pytest.approx(api.probability)


@pytest.mark.parametrize("suffix", [".ecsv", ".parquet"])
def test_classify_cli_on_one_long_table_with_an_id_column(catalina_curves, tmp_path, suffix):
    parts = [Table({"star": [lc.object_id] * len(lc), "mjd": lc.times, "mag": lc.mags, "magerr": lc.errors})
             for lc in catalina_curves[:3]]
    parts.append(Table({"star": ["tiny"] * 3, "mjd": [1.0, 2.0, 3.0], "mag": [15.0, 15.1, 15.0],
                        "magerr": [0.1, 0.1, 0.1]}))
    path = tmp_path / f"long{suffix}"
    vstack(parts).write(path)
    out = tmp_path / "out.ecsv"
    run = subprocess.run([sys.executable, "-m", "varstream", "classify", str(path), "--id-col", "star", "--out",
                          str(out), "--jobs", "2"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    rows = Table.read(out)
    assert [str(s) for s in rows["object_id"]] == [lc.object_id for lc in catalina_curves[:3]] + ["tiny"]
    assert "only 3 valid points" in str(rows["error"][-1])
    for lc, row in zip(catalina_curves[:3], rows):
        api = varstream.classify(lc.times, lc.mags, lc.errors)
        assert row["predicted_class"] == api.predicted_class and row["probability"] == pytest.approx(api.probability)
        assert {f"p_{c}" for c in api.probabilities} <= set(rows.colnames)


def _example(kind: str) -> str:
    text = README.read_text()
    match = re.search(rf"<!-- example: {kind} -->\n```\w+\n(.*?)```", text, flags=re.S)
    assert match, f"README has no {kind} example"
    return match.group(1)


def test_the_readme_examples_run_as_written(catalina_curves, tmp_path):
    lc = catalina_curves[0]
    Table({"mjd": lc.times, "mag": lc.mags, "mag_err": lc.errors}).write(tmp_path / "my_star.csv")
    (tmp_path / "my_curves").mkdir()
    for other in catalina_curves[1:3]:
        Table({"mjd": other.times, "mag": other.mags, "mag_err": other.errors}).write(
            tmp_path / "my_curves" / f"{other.object_id}.csv")
    run = subprocess.run([sys.executable, "-c", _example("python")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    expected = varstream.classify(lc.times, lc.mags, lc.errors)
    assert run.stdout.split()[0] == expected.predicted_class
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(["bash", "-c", _example("shell")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path),
                              **{k: v for k, v in os.environ.items() if k.startswith("VARSTREAM_")}})
    assert run.returncode == 0, run.stderr
    rows = Table.read(tmp_path / "classes.csv", format="ascii.csv")
    assert sorted(str(s) for s in rows["object_id"]) == sorted(o.object_id for o in catalina_curves[1:3])
