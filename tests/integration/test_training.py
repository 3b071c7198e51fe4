"""Training on real data: split and balancing without leakage, augmentation only in training,
ONNX parity of the three models on >= 500 real rows, model cards, train/evaluate end to end.

Models are tiny (few trees, few epochs): these tests check correctness, not accuracy; the
accuracy figures come from `varstream train` / `varstream evaluate` on the whole set.
"""

import json
from collections import Counter

import numpy as np
import pytest

from varstream.inference import ModelIntegrityError, OnnxModel
from varstream.lightcurve import FEATURE_VERSION
from varstream.lightcurve.loaders import open_dataset
from varstream.modelcard import ModelCard, sha256_file
from varstream.offline.nn import MLP, GRUNet
from varstream.offline.train_config import NetConfig, TrainConfig
from varstream.offline.rf import RandomForest
from varstream.offline.train import prepare, train

pytestmark = pytest.mark.integration

SMALL = TrainConfig(limit=1800, cap=300, floor=60, rf_trees=10, jobs=2, emulations=1, prefixes=1, nonperiodic=60,
                    mlp=NetConfig(epochs=3, hidden=(32, 16)), gru=NetConfig(epochs=1, gru_units=8, batch_size=128))


def _source(object_id: str) -> str:
    """The star an emulated row was made from (``<id>@<survey>#k`` or ``<id>[:N]``)."""
    return object_id.split("@")[0].split("[:")[0]


def _emulated(object_id: str) -> bool:
    """An emulation of a training curve (a simulated non-periodic curve, ``sim-…@survey``, is not)."""
    return not object_id.startswith("sim-") and ("@" in object_id or "[:" in object_id)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(scope="module")
def prepared(catalina_dir, cache):
    return prepare(open_dataset(catalina_dir), SMALL, cache)


def test_split_has_no_leakage_and_balancing_counts(prepared):
    real_train = set(prepared.train_real.object_ids.tolist())
    val, test = set(prepared.val.object_ids.tolist()), set(prepared.test.object_ids.tolist())
    assert not (real_train & val or real_train & test or val & test)
    not_emulated = np.array([not _emulated(i) for i in prepared.train.object_ids])
    train_counts = Counter(prepared.train.labels[not_emulated].tolist())
    assert max(Counter(prepared.train_real.labels.tolist()).values()) == SMALL.cap      # EW capped
    for label, made in prepared.n_synthetic.items():                                    # rare classes topped up
        assert train_counts[label] == SMALL.floor
        assert made > 0
    assert prepared.n_synthetic, "the subset has rare classes to augment"


def test_synthetic_curves_only_in_training_with_real_cadences(prepared, catalina_dir):
    synthetic = [i for i in prepared.train.object_ids if i.startswith("synthetic:") and not _emulated(i)]
    assert len(synthetic) == sum(prepared.n_synthetic.values())
    assert not any(i.startswith("synthetic:") for i in prepared.val.object_ids)
    assert not any(i.startswith("synthetic:") for i in prepared.test.object_ids)
    sources = {i.split(":")[1] for i in synthetic}
    assert sources <= set(prepared.train_real.object_ids.tolist())     # real training stars only
    assert not sources & (set(prepared.val.object_ids.tolist()) | set(prepared.test.object_ids.tolist()))


def test_emulated_curves_come_only_from_their_own_part(prepared):
    """Training learns from emulations of training stars (real and synthetic) only; the held-out
    stars' emulations serve validation and the report, never training."""
    train_ids = set(prepared.train.object_ids.tolist())
    val, test = set(prepared.val.object_ids.tolist()), set(prepared.test.object_ids.tolist())
    emulated = [i for i in prepared.train.object_ids if _emulated(i)]
    assert prepared.n_emulated == len(emulated) > len(prepared.train_real)              # more than one per star
    assert {_source(i) for i in emulated} <= train_ids and not {_source(i) for i in emulated} & (val | test)
    assert any("[:" in i for i in emulated) and any("@" in i for i in emulated)          # prefixes and surveys
    assert {_source(i) for i in prepared.val_emulated.object_ids if not i.startswith("sim-")} <= val
    assert {_source(i) for i in prepared.test_emulated.object_ids if not i.startswith("sim-")} <= test
    surveys = {i.split("@")[1].split("#")[0].split("[")[0] for i in emulated if "@" in i}
    assert surveys >= {"ground", "sparse", "asassn", "gaia"}
    assert "abs_mag" not in [prepared.table.names[i] for i in prepared.columns]         # Catalina has no distances


def test_simulated_nonperiodic_curves_have_a_class_and_only_their_training_set_is_trained_on(prepared):
    from varstream.lightcurve.taxonomy import NONPERIODIC
    from varstream.offline.nonperiodic import KINDS, kind_of
    from varstream.offline.prepare import held_out_count

    assert prepared.classes[-1] == NONPERIODIC
    parts = {name: [i for i, lab in zip(t.object_ids, t.labels) if lab == NONPERIODIC]
             for name, t in (("train", prepared.train), ("val", prepared.val_emulated), ("test", prepared.test_emulated))}
    assert all(i.startswith("sim-") for ids in parts.values() for i in ids)
    assert 0.9 * SMALL.nonperiodic <= len(parts["train"]) <= SMALL.nonperiodic           # a few may not featurise
    held_out = held_out_count(SMALL.nonperiodic, SMALL)
    assert 0.8 * held_out <= len(parts["val"]) <= held_out and 0.8 * held_out <= len(parts["test"]) <= held_out
    # separate seeds: no held-out simulated curve is one the models were trained on
    assert not set(parts["train"]) & (set(parts["val"]) | set(parts["test"])) and not set(parts["val"]) & set(parts["test"])
    assert not any(lab == NONPERIODIC for lab in prepared.val.labels) and {kind_of(i) for i in parts["train"]} <= set(KINDS)
    assert len({kind_of(i) for i in parts["train"]}) >= 5
    train_rows = prepared.train.X[np.isin(prepared.train.object_ids, parts["train"])]
    val_rows = prepared.val_emulated.X[np.isin(prepared.val_emulated.object_ids, parts["val"])]
    assert not any((train_rows == r).all(axis=1).any() for r in val_rows[:20])          # other curves, not copies


def test_emulated_cadences_are_their_sources_cadences(data_root, catalina_dir):
    """A curve emulated on a real survey takes one of that survey's real cadences and its errors."""
    from varstream.lightcurve.loaders.dataset import open_dataset
    from varstream.offline.emulate import Emulation, default_surveys, register

    surveys = {s.name: s for s in default_surveys(data_root)}
    register(list(surveys.values()))
    real = {name: [np.unique(lc.times) - np.unique(lc.times)[0] for lc in open_dataset(data_root / folder).iter_lightcurves()]
            for name, folder in (("asassn", "asassn"), ("gaia", "gaia_dr3"))}
    sources = list(open_dataset(catalina_dir).iter_lightcurves(limit=20))
    for name, cadences in real.items():
        spans = []
        for k, lc in enumerate(sources):
            made = Emulation(lc, name, None, seed=k).build()
            rel = made.times - made.times[0]
            assert any(c.size == rel.size and np.allclose(c, rel) for c in cadences), name
            spans.append(np.ptp(made.times))
        real_spans = [np.ptp(c) for c in cadences if c.size >= 20]
        assert min(real_spans) <= np.median(spans) <= max(real_spans)
    assert np.median(Emulation(sources[0], "gaia", None, 1).build().errors) < 0.01        # Gaia's mmag errors


def _onnx_probs(model, feed_name, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.to_onnx().SerializeToString(), providers=["CPUExecutionProvider"])
    out = sess.run(None, {feed_name: x.astype(np.float32)})
    return next(o for o in out if o.ndim == 2)


@pytest.fixture(scope="module")
def parity_rows(prepared):
    from varstream.offline.feature_cache import FeatureTable

    rows = FeatureTable.concat([prepared.test, prepared.val])
    assert len(rows) >= 500
    return rows


def test_rf_onnx_parity_on_500_real_rows(prepared, parity_rows):
    rf = RandomForest(num_trees=10).fit(prepared.train.X, prepared.y_train, list(prepared.table.names),
                                        n_classes=len(prepared.classes))
    diff = np.abs(_onnx_probs(rf, "features", parity_rows.X) - rf.predict_proba(parity_rows.X)).max()
    assert diff < 1e-5


def test_mlp_onnx_parity_on_500_real_rows(prepared, parity_rows):
    mlp = MLP(NetConfig(epochs=2, hidden=(16,))).fit(
        prepared.train.X, prepared.y_train, prepared.val.X, prepared.y_val, n_classes=len(prepared.classes))
    assert np.isnan(parity_rows.X).any()                          # missing absolute magnitudes go in as NaN
    diff = np.abs(_onnx_probs(mlp, "features", parity_rows.X) - mlp.predict_proba(parity_rows.X)).max()
    assert diff < 1e-5


def test_gru_onnx_parity_on_500_real_rows(prepared, parity_rows):
    gru = GRUNet(NetConfig(epochs=1, gru_units=8, batch_size=128)).fit(
        prepared.train.seq, prepared.y_train, prepared.val.seq, prepared.y_val, n_classes=len(prepared.classes))
    assert (parity_rows.seq_len < parity_rows.seq.shape[1]).any()  # masked (padded) sequences included
    diff = np.abs(_onnx_probs(gru, "sequence", parity_rows.seq) - gru.predict_proba(parity_rows.seq)).max()
    assert diff < 1e-5


@pytest.fixture(scope="module")
def trained(catalina_dir, cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    report = train(catalina_dir, out, SMALL, cache)
    return out, report


def test_train_writes_models_cards_split_and_report(trained):
    out, report = trained
    for name in ("rf", "mlp", "gru", "baseline_rf"):
        card = ModelCard.read(out / f"{name}.card.json")
        assert card.sha256 == sha256_file(out / card.onnx_file)
        assert card.classes == report["classes"] and card.feature_version == FEATURE_VERSION
        assert card.data_hash == report["data_hash"] and len(card.data_hash) == 64
        assert card.parity_max_abs_diff < 1e-5
        assert {"macro_f1", "balanced_accuracy", "ece", "per_class", "confusion_matrix"} <= set(card.metrics)
        assert {"tensorflow", "onnxruntime", "varstream"} <= set(card.versions) and card.created
        md = (out / f"{name}.card.md").read_text()
        assert card.sha256 in md and "macro F1" in md
    assert ModelCard.read(out / "rf.card.json").feature_names == report["features_used"]
    assert "abs_mag" not in report["features_used"] and "log10_period" in report["features_used"]
    baseline = ModelCard.read(out / "baseline_rf.card.json")
    assert baseline.feature_names and all(n.startswith("c22time_") for n in baseline.feature_names)
    split = json.loads((out / "split.json").read_text())
    assert sum(report["counts"]["test"].values()) == len(split["test_ids"])
    assert set(report["models"]) >= {"rf", "mlp", "gru", "baseline_rf", "ensemble"}


def test_model_loading_refuses_a_tampered_file(trained, tmp_path):
    out, _ = trained
    OnnxModel.load(out / "rf.card.json")
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("rf.card.json", "rf.onnx"):
        (bad / f).write_bytes((out / f).read_bytes())
    with open(bad / "rf.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        OnnxModel.load(bad / "rf.card.json")


def test_evaluate_scores_the_held_out_split_with_plots(trained, catalina_dir, cache, tmp_path):
    from varstream.offline.evaluate import evaluate

    out, report = trained
    result = evaluate(catalina_dir, out, tmp_path / "report.json", cache_dir=cache, limit=SMALL.limit, nonperiodic=40)
    assert result["scope"] == "held-out test split"
    # the non-periodic view: held-out simulated curves, and the share of real stars called not periodic
    view = result["nonperiodic"]
    assert 30 <= view["n"] <= 40 and set(view["models"]) >= {"rf", "mlp", "gru", "ensemble"}
    for row in view["models"].values():
        assert 0 <= row["periodic_p80"] <= row["periodic_p50"] <= 1 and 0 <= row["mean_nonperiodic_probability"] <= 1
    assert 0 <= result["models"]["ensemble"]["published_nonperiodic"] <= 1
    assert result["n_stars"] == sum(report["counts"]["test"].values())
    for name in ("rf", "mlp", "gru", "baseline_rf", "ensemble"):
        rep = result["models"][name]
        assert 0 <= rep["macro_f1"] <= 1 and 0 <= rep["ece"] <= 1
        assert (tmp_path / f"report_{name}_confusion.png").stat().st_size > 1000
        assert (tmp_path / f"report_{name}_reliability.png").stat().st_size > 1000
    # the ONNX models reproduce the native test figures of training
    assert result["models"]["rf"]["macro_f1"] == pytest.approx(report["models"]["rf"]["macro_f1"], abs=1e-9)


def test_train_and_evaluate_on_the_asassn_layout(asassn_dir, tmp_path):
    """`varstream train` is survey-agnostic: tiny models on the 96 real ASAS-SN curves, native classes."""
    import subprocess
    import sys

    out = tmp_path / "asassn-models"
    cmd = [sys.executable, "-m", "varstream", "train", "--dataset", str(asassn_dir), "--out", str(out),
           "--cache", str(tmp_path / "cache"), "--min-class-count", "5", "--cap", "50", "--floor", "20",
           "--trees", "10", "--epochs", "2", "--gru-epochs", "1", "--jobs", "2", "--nonperiodic", "30"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trained on asassn" in proc.stdout
    card = ModelCard.read(out / "rf.card.json")
    assert {"SR", "L", "EA", "EW", "NONPER"} <= set(card.classes)  # the survey's own classes, and not periodic
    assert "asassn" in card.dataset
    assert {"abs_mag", "abs_mag_err"} <= set(card.feature_names)   # a dataset with distances uses them
    assert {"abs_mag", "abs_mag_err"} <= set(ModelCard.read(out / "mlp.card.json").feature_names)
    proc = subprocess.run([sys.executable, "-m", "varstream", "evaluate", "--dataset", str(asassn_dir),
                           "--models", str(out), "--out", str(tmp_path / "r.json"), "--cache", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "held-out test split" in proc.stdout
