"""A package that installs anywhere: the wheel carries its models, cards and schemas, and an install
of it — in a fresh virtual environment outside the checkout, run from another directory — serves,
featurises a real shared curve and classifies it. Nothing is downloaded: the wheel is built without
build isolation and installed with --no-deps; the fresh environment borrows the dependencies
already installed in this one (a .pth line, not the editable install of this checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                            str(work / "dist"), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "BuildBackendWarning" not in build.stderr and "license" not in build.stderr.lower(), build.stderr
    (wheel,) = (work / "dist").glob("varstream-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ("varstream/models/ensemble.json", "varstream/models/rf.onnx", "varstream/models/gru.card.json",
                   "varstream/schemas/classification.avsc", "varstream/view/static/index.html"):
        assert member in names, member
    env_dir = work / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")    # this environment's packages
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return env_dir


def _run(env_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VARSTREAM_MODELS", "VARSTREAM_SCHEMAS",
                                                                    "PYTHONPATH"))}
    return subprocess.run([str(env_dir / "bin" / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_installed_wheel_serves_featurises_and_classifies_from_anywhere(installed, tmp_path, asassn_dir):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(installed, elsewhere, "python", "-c", "import varstream; print(varstream.__file__)")
    assert where.returncode == 0 and str(installed) in where.stdout, where.stdout + where.stderr   # not the checkout
    helped = _run(installed, elsewhere, "varstream", "serve", "--help")
    assert helped.returncode == 0 and "--schema-registry" in helped.stdout, helped.stderr
    out = elsewhere / "features.csv"
    features = _run(installed, elsewhere, "varstream", "features", "--dataset", str(asassn_dir), "--limit", "1",
                    "--jobs", "1", "--cache", str(tmp_path / "cache"), "--out", str(out))
    assert features.returncode == 0 and out.exists() and len(out.read_text().splitlines()) == 2, features.stderr
    script = f"""
import numpy as np
from varstream.inference import default_models_dir, load_classifier
from varstream.lightcurve import featurise
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.stream.codec import schemas_dir
clf = load_classifier(default_models_dir())
lc = next(open_dataset({str(asassn_dir)!r}).iter_lightcurves(limit=1))
f = featurise(lc, clf.pipeline)
p = clf.predict_proba(f.features.values[None, :], f.sequence[None], np.array([f.n_points]))[0]
assert abs(p.sum() - 1) < 1e-5
print(default_models_dir(), schemas_dir(), clf.classes[int(np.argmax(p))])
"""
    classified = _run(installed, elsewhere, "python", "-c", script)
    assert classified.returncode == 0, classified.stderr[-3000:]
    models_dir, schemas, predicted = classified.stdout.split()
    assert models_dir.startswith(str(installed)) and schemas.startswith(str(installed)) and predicted
