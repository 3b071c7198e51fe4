"""The ONNX models shipped in models/: verified, current, small, and usable on real ASAS-SN curves."""

import json
from pathlib import Path

import numpy as np
import pytest

from varstream.inference import default_models_dir, load_models
from varstream.lightcurve import FEATURE_VERSION, feature_names, featurise
from varstream.lightcurve.loaders import asassn
from varstream.lightcurve.taxonomy import CATALINA_CLASSES, asassn_to_catalina

pytestmark = pytest.mark.integration

MODELS = default_models_dir()


def test_shipped_models_are_verified_current_and_small():
    models = load_models(MODELS)                 # refuses a sha256 or feature-version mismatch
    assert set(models) == {"rf", "mlp", "gru", "baseline_rf"}
    for name, model in models.items():
        card = model.card
        assert card.feature_version == FEATURE_VERSION, f"{name}: retrain with `make train`"
        assert card.classes == list(CATALINA_CLASSES)
        assert card.parity_max_abs_diff < 1e-5
        assert (MODELS / card.onnx_file).stat().st_size < 15_000_000     # rf 8.4 MB, baseline 12.6 MB
    assert models["rf"].card.feature_names == list(feature_names())
    report = json.loads((MODELS / "training_report.json").read_text())
    assert report["feature_version"] == FEATURE_VERSION and report["seconds"] < 1800


def test_shipped_models_classify_a_real_asassn_curve(asassn_dir):
    models = load_models(MODELS)
    lc = next(asassn.iter_lightcurves(asassn_dir, limit=1))
    f = featurise(lc)
    for model in models.values():
        p = model.predict_proba(f.features.values[None, :], f.sequence[None, :, :])
        assert p.shape == (1, 11) and np.isclose(p.sum(), 1.0, atol=1e-4) and (p >= 0).all()


def test_cross_survey_evaluation_on_asassn(asassn_dir, tmp_path):
    from varstream.offline.evaluate import evaluate

    report = evaluate(asassn_dir, MODELS, tmp_path / "asassn.json", cache_dir=tmp_path / "cache")
    assert report["scope"] == "all labelled stars"
    assert report["n_stars"] >= 60                                # SR/L/M→LPV, EB→EW, … mapped
    for label in report["labels_without_model_class"]:          # only classes with no Catalina counterpart
        assert asassn_to_catalina(label) is None, label
    for name in ("rf", "mlp", "gru", "baseline_rf", "ensemble"):
        assert 0.0 <= report["models"][name]["macro_f1"] <= 1.0
        assert Path(report["models"][name]["confusion_png"]).exists()
