"""The ``varstream`` command line, run as a user runs it (a subprocess), on the real data."""

import csv
import os
import subprocess
import sys

import pytest

from varstream.cli import build_parser
from varstream.lightcurve import feature_names
from varstream.lightcurve.taxonomy import family_of

pytestmark = pytest.mark.integration


def run(*args, env=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "varstream", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"varstream {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def test_every_subcommand_has_help():
    subcommands = build_parser()._subparsers._group_actions[0].choices
    assert {"data", "features", "download"} <= set(subcommands)
    for name in subcommands:
        out = run(name, "--help").stdout
        assert out.startswith(f"usage: varstream {name}")
    assert "COMMAND" in run("--help").stdout


def test_features_csv_has_one_row_per_star_with_reasons(tmp_path, catalina_dir):
    out = tmp_path / "f.csv"
    proc = run("features", "--dataset", str(catalina_dir), "--limit", "25", "--out", str(out), "--jobs", "2")
    assert "wrote 25 rows" in proc.stdout
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 25
    assert list(rows[0])[:9] == ["object_id", "label", "family", "band", "n_points", "baseline_days",
                                 "period_days", "feature_version", "error"]
    assert set(feature_names()) <= set(rows[0])
    assert all(r["label"] for r in rows)
    assert all(r["family"] == family_of(r["label"]) for r in rows)
    ok = [r for r in rows if not r["error"]]
    assert len(ok) >= 24 and all(float(r["log10_period"]) == float(r["log10_period"]) for r in ok)


def test_features_parquet_and_asassn_layout(tmp_path, asassn_dir):
    import pyarrow.parquet as pq   # in the test extra: a missing pyarrow must fail, not skip
    out = tmp_path / "f.parquet"
    run("features", "--dataset", str(asassn_dir), "--limit", "6", "--out", str(out), "--jobs", "1")
    table = pq.read_table(out)
    assert table.num_rows == 6 and "abs_mag" in table.column_names
    assert all(v == 1.0 for v in table.column("has_distance").to_pylist())


def test_a_bad_curve_keeps_its_row_with_the_reason(tmp_path):
    import tarfile, io
    ds = tmp_path / "mini"
    ds.mkdir()
    (ds / "catalogue.txt").write_text(
        "SSS_A 1 10.0 -20.0 0.5 15.0 30 0.5 1\nSSS_B 2 11.0 -21.0 0.6 15.0 3 0.5 2\n")
    good = "\n".join(f"{53000 + i * 1.37} {15 + 0.3 * ((i * 0.37) % 1)} 0.05" for i in range(40))
    bad = "53000 15 0.05\n53001 nan 0.05\n53002 15.1 -1\n"
    with tarfile.open(ds / "lightcurves.tar.gz", "w:gz") as tar:
        for name, text in (("1", good), ("2", bad)):
            data = text.encode()
            info = tarfile.TarInfo(f"lightcurves/{name}.dat")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out = tmp_path / "mini.csv"
    proc = run("features", "--dataset", str(ds), "--out", str(out), "--jobs", "1")
    rows = {r["object_id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"1", "2"} and rows["1"]["error"] == ""
    assert rows["2"]["error"].startswith("only 1 valid points, need at least 10")
    assert "1 with a reason" in proc.stdout


def test_data_lists_classes_and_lengths(asassn_dir):
    out = run("data", "--dataset", str(asassn_dir)).stdout
    assert "asassn  (asassn layout)" in out and "light curves: 97" in out
    assert "points per curve" in out and "SR" in out


def test_bad_dataset_is_a_clear_error(tmp_path):
    proc = run("features", "--dataset", str(tmp_path), "--out", str(tmp_path / "x.csv"), check=False)
    assert proc.returncode != 0 and "is not a dataset" in proc.stderr and "Traceback" not in proc.stderr


def test_download_without_network_fails_with_a_message(tmp_path):
    # every request goes to a closed local port: the situation of a machine without internet
    offline = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": ""}
    proc = run("download", "asassn-catalogue", "--out", str(tmp_path), env=offline, check=False)
    assert proc.returncode == 2
    assert "cannot download II/366/catalog from VizieR" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_refuses_a_model_whose_sha256_does_not_match_its_card(tmp_path):
    import shutil

    from varstream.inference import default_models_dir

    models = tmp_path / "models"
    shutil.copytree(default_models_dir(), models, ignore=shutil.ignore_patterns("baseline_rf*"))
    data = bytearray((models / "mlp.onnx").read_bytes())
    data[-10] ^= 0xFF
    (models / "mlp.onnx").write_bytes(bytes(data))
    proc = subprocess.run([sys.executable, "-m", "varstream", "serve", "--models", str(models), "--bootstrap",
                           "127.0.0.1:1", "--metrics-port", "-1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "sha256" in proc.stderr and "mlp.onnx" in proc.stderr
