"""``varstream train``: features → split → balance + GP augmentation → RF, MLP, GRU → ONNX + cards.

Deterministic for a seed. The held-out test split is written to ``split.json`` beside the models
so that ``varstream evaluate`` scores exactly the stars no model saw. Each model is described by a
:class:`ModelSpec` (its input and how to build its trainer); :func:`train` is one loop over them:
fit, export to ONNX, load the file back through the serving loader
(:func:`~varstream.inference.load_classifier`) for the parity check, write the card.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from varstream import __version__
from varstream.inference import load_classifier
from varstream.lightcurve import FEATURE_VERSION, PipelineConfig
from varstream.lightcurve.loaders.dataset import Dataset, open_dataset
from varstream.lightcurve.taxonomy import CATALINA_CLASSES
from varstream.modelcard import EnsembleCard, ModelCard, sha256_file
from varstream.offline.augment import augment
from varstream.offline.feature_cache import FeatureTable, dataset_table, featurise_curves
from varstream.offline.metrics import classification_report
from varstream.offline.nn import MLP, GRUNet
from varstream.offline.rf import RandomForest
from varstream.offline.split import balance_plan, stratified_split
from varstream.offline.train_config import MODEL_NAMES, NetConfig, TrainConfig

log = logging.getLogger(__name__)

ENSEMBLE_MEMBERS = ("rf", "mlp", "gru")
#: Real training rows checked for ONNX parity at least (test rows first, then validation rows).
PARITY_ROWS = 500


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"varstream": __version__}
    for pkg in ("numpy", "tensorflow", "tensorflow-decision-forests", "tf-keras", "tf2onnx", "onnx",
                "onnxruntime", "celerite2", "pycatch22", "astropy", "nifty-ls"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _class_order(counts: Counter, config: TrainConfig) -> list[str]:
    if config.classes:
        return list(config.classes)
    eligible = [c for c, n in counts.items() if n >= config.min_class_count and c]
    catalina = [c for c in CATALINA_CLASSES if c in eligible]
    return catalina + sorted(c for c in eligible if c not in catalina)


@dataclass
class Prepared:
    """The training material: the class order, the full feature table and its data hash, the
    three parts of the split (train = balanced real rows + synthetic rows), their class indices,
    how many synthetic curves each class got, and the real training rows alone."""

    classes: list[str]
    table: FeatureTable
    data_hash: str
    train: FeatureTable
    val: FeatureTable
    test: FeatureTable
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    n_synthetic: dict[str, int]
    train_real: FeatureTable

    def indices(self, labels: np.ndarray) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[c] for c in labels], dtype=np.int64)


def _synthetic_rows(dataset: Dataset, table: FeatureTable, train_rows: np.ndarray, needed: dict[str, int],
                    config: TrainConfig, jobs: int) -> FeatureTable | None:
    """GP-synthetic curves of the classes in ``needed`` from real training stars, featurised."""
    rng = np.random.default_rng(config.seed)
    train_ids = table.object_ids[train_rows]
    train_labels = table.labels[train_rows]
    wanted = {c: set(train_ids[train_labels == c].tolist()) for c in needed}
    template_ids = set(rng.choice(sorted(train_ids.tolist()), size=min(config.augment_templates, train_ids.size),
                                  replace=False).tolist())
    sources: dict[str, list] = {c: [] for c in needed}
    templates = []
    for lc in dataset.iter_lightcurves(ids=set().union(*wanted.values()) | template_ids):
        if lc.label in wanted and lc.object_id in wanted[lc.label]:
            sources[lc.label].append(lc)
        if lc.object_id in template_ids:
            templates.append(lc)
    synthetic = []
    for i, (label, count) in enumerate(sorted(needed.items())):
        synthetic += augment(sources[label], templates, count, seed=config.seed + i)
    if not synthetic:
        return None
    aug = featurise_curves(synthetic, PipelineConfig(), jobs, total=len(synthetic), desc="synthetic features")
    return aug.subset(np.flatnonzero(aug.ok))


def prepare(dataset: Dataset, config: TrainConfig, cache_dir: Path | None = None) -> Prepared:
    """Features, split, balancing and augmentation of a dataset for training."""
    jobs = config.jobs or os.cpu_count() or 1
    table, data_hash = dataset_table(dataset, cache_dir, jobs, PipelineConfig(), limit=config.limit)
    labels = table.labels
    usable = table.ok & (labels != "")
    classes = _class_order(Counter(labels[usable].tolist()), config)
    if len(classes) < 2:
        raise ValueError(f"{dataset.path}: fewer than two classes with >= {config.min_class_count} featurised stars")
    rows = np.flatnonzero(usable & np.isin(labels, classes))
    split = stratified_split(labels[rows], config.val_fraction, config.test_fraction, config.seed)
    train_rows, val_rows, test_rows = rows[split.train], rows[split.val], rows[split.test]

    keep, needed = balance_plan(labels[train_rows], config.cap, config.floor)
    train_real = table.subset(train_rows[keep])
    parts = [train_real]
    made: dict[str, int] = {}
    if config.augment and needed:
        aug = _synthetic_rows(dataset, table, train_rows, needed, config, jobs)
        if aug is not None:
            made = dict(Counter(aug.labels.tolist()))
            parts.append(aug)
    train = FeatureTable.concat(parts) if len(parts) > 1 else parts[0]
    prep = Prepared(classes, table, data_hash, train, table.subset(val_rows), table.subset(test_rows),
                    np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), made, train_real)
    prep.y_train, prep.y_val, prep.y_test = (prep.indices(t.labels) for t in (prep.train, prep.val, prep.test))
    return prep


def _class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return {k: float(y.size / (n_classes * max(c, 1.0))) for k, c in enumerate(counts)}


def _prior_ratio(prep: Prepared) -> np.ndarray:
    """Per class: share among the real stars of the dataset / share in the (balanced) training set."""
    real = Counter(prep.table.labels[prep.table.ok].tolist())
    trained = Counter(prep.train.labels.tolist())
    n_real = sum(real[c] for c in prep.classes)
    n_train = sum(trained[c] for c in prep.classes)
    return np.array([(real[c] / n_real) / max(trained[c] / n_train, 1e-12) for c in prep.classes])


# ---------------------------------------------------------------- the models


@dataclass(frozen=True)
class ModelSpec:
    """One model of ``varstream train``: its input, its columns and how to build and fit it.

    Attributes:
        kind: ``features`` (feature vectors; ``columns`` picks the input columns, None = all) or
            ``sequence`` (phase-folded GRU sequences).
        build: the trainer from the run's settings (constructors store settings only).
        fit_args: the extra keyword arguments of ``trainer.fit(X, y, **fit_args)``.
        describe: what the card records about the training settings.
    """

    kind: str
    build: Callable[[TrainConfig], Any]
    fit_args: Callable[[Prepared, list[int] | None], dict]
    describe: Callable[[TrainConfig, Any], dict]
    columns: Callable[[tuple[str, ...]], list[int]] | None = None

    def inputs(self, t: FeatureTable, columns: list[int] | None) -> np.ndarray:
        if self.kind == "sequence":
            return t.seq
        return t.X if columns is None else t.X[:, columns]


def _rf_fit_args(prep: Prepared, columns: list[int] | None) -> dict:
    names = list(prep.table.names)
    return {"feature_names": names if columns is None else [names[i] for i in columns],
            "n_classes": len(prep.classes)}


def _net_fit_args(spec_kind: str) -> Callable[[Prepared, list[int] | None], dict]:
    def args(prep: Prepared, columns: list[int] | None) -> dict:
        val = prep.val.seq if spec_kind == "sequence" else prep.val.X
        return {"x_val": val, "y_val": prep.y_val, "n_classes": len(prep.classes),
                "class_weight": _class_weights(prep.y_train, len(prep.classes)), "prior_ratio": _prior_ratio(prep)}
    return args


def _rf_describe(config: TrainConfig, _model) -> dict:
    return {"trees": config.rf_trees, "max_depth": config.rf_max_depth, "min_examples": config.rf_min_examples}


def _net_describe(net_config: Callable[[TrainConfig], NetConfig]) -> Callable[[TrainConfig, Any], dict]:
    return lambda config, net: {"temperature": net.temperature_, "prior_alpha": net.prior_alpha_,
                                "history": net.history_, **asdict(net_config(config))}


def _forest(config: TrainConfig) -> RandomForest:
    return RandomForest(config.rf_trees, config.rf_max_depth, config.rf_min_examples, seed=config.seed)


MODELS: dict[str, ModelSpec] = {  # keyed like MODEL_NAMES
    "rf": ModelSpec("features", _forest, _rf_fit_args,
                    lambda c, m: {**_rf_describe(c, m), "columns": "all features"}),
    "baseline_rf": ModelSpec("features", _forest, _rf_fit_args,
                             lambda c, m: {**_rf_describe(c, m), "columns": "catch22 of the time-ordered magnitudes"},
                             columns=lambda names: [i for i, n in enumerate(names) if n.startswith("c22time_")]),
    "mlp": ModelSpec("features", lambda c: MLP(c.mlp), _net_fit_args("features"), _net_describe(lambda c: c.mlp)),
    "gru": ModelSpec("sequence", lambda c: GRUNet(c.gru), _net_fit_args("sequence"), _net_describe(lambda c: c.gru)),
}


def _parity_rows(prep: Prepared) -> FeatureTable:
    """Real held-out rows for the ONNX parity check: the test rows, topped up with validation rows."""
    rows = FeatureTable.concat([prep.test, prep.val])
    return rows.subset(np.arange(min(len(rows), max(PARITY_ROWS, len(prep.test)))))


def _fit_and_export(name: str, spec: ModelSpec, prep: Prepared, config: TrainConfig, out: Path,
                    common: dict) -> tuple[ModelCard, np.ndarray]:
    """Fit one model, export it, check the exported file through the serving loader, write its
    card; returns the card and the native test-split probabilities."""
    names = prep.table.names
    columns = spec.columns(names) if spec.columns else None
    model = spec.build(config).fit(spec.inputs(prep.train, columns), prep.y_train, **spec.fit_args(prep, columns))
    path = out / f"{name}.onnx"
    path.write_bytes(model.to_onnx().SerializeToString())
    native_test = model.predict_proba(spec.inputs(prep.test, columns))
    metrics = classification_report(native_test, prep.y_test, prep.classes)
    card = ModelCard(name=name, kind=spec.kind, onnx_file=path.name, sha256=sha256_file(path), metrics=metrics,
                     feature_names=list(names) if columns is None else [names[i] for i in columns],
                     input_columns=columns or [],
                     sequence_length=int(prep.table.seq.shape[1]) if spec.kind == "sequence" else 0,
                     training={"seconds": round(model.train_seconds_, 1), **_jsonable(spec.describe(config, model))},
                     **common)
    if spec.kind == "sequence":
        card.feature_names = []
    card.write(out)
    par = _parity_rows(prep)
    served = load_classifier(out, name).predict_proba(par.X, par.seq)      # the stream's own loader
    card.parity_max_abs_diff = float(np.max(np.abs(served - model.predict_proba(spec.inputs(par, columns)))))
    card.write(out)
    log.info("%s: test macro F1 %.3f, ECE %.3f, parity %.1e, %.0f s", name, metrics["macro_f1"], metrics["ece"],
             card.parity_max_abs_diff, model.train_seconds_)
    return card, native_test


def train(dataset_dir: str | Path, out_dir: str | Path, config: TrainConfig = TrainConfig(),
          cache_dir: Path | None = None) -> dict[str, Any]:
    """Train, export and describe the models; returns the training report (also written to
    ``out_dir/training_report.json``)."""
    started = time.perf_counter()
    unknown = [m for m in config.models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {MODEL_NAMES}")
    dataset = open_dataset(dataset_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prep = prepare(dataset, config, cache_dir)
    classes = prep.classes
    log.info("classes %s; train %d (of which synthetic %s), val %d, test %d", classes, len(prep.train),
             prep.n_synthetic, len(prep.val), len(prep.test))
    common = dict(classes=classes, version=f"{__version__}+{prep.data_hash[:8]}", feature_version=FEATURE_VERSION,
                  data_hash=prep.data_hash, dataset=f"{dataset.name} ({dataset.kind} layout)",
                  created=datetime.now(timezone.utc).isoformat(timespec="seconds"), versions=_versions())
    report: dict[str, Any] = {
        "dataset": str(dataset.path), "data_hash": prep.data_hash, "feature_version": FEATURE_VERSION,
        "classes": classes, "config": _jsonable(asdict(config)),
        "counts": {"train_real": dict(Counter(prep.train_real.labels.tolist())), "synthetic": prep.n_synthetic,
                   "val": dict(Counter(prep.val.labels.tolist())), "test": dict(Counter(prep.test.labels.tolist()))},
        "models": {},
    }
    cards: dict[str, ModelCard] = {}
    probs_test: dict[str, np.ndarray] = {}
    for name in config.models:
        cards[name], probs_test[name] = _fit_and_export(name, MODELS[name], prep, config, out, common)
        m = cards[name].metrics
        report["models"][name] = {"macro_f1": m["macro_f1"], "balanced_accuracy": m["balanced_accuracy"],
                                  "ece": m["ece"], "parity_max_abs_diff": cards[name].parity_max_abs_diff,
                                  "seconds": cards[name].training["seconds"]}

    members = [m for m in ENSEMBLE_MEMBERS if m in cards]
    if len(members) >= 2:
        EnsembleCard(members, member_sha256={m: cards[m].sha256 for m in members}).write(out)
        ensemble = load_classifier(out)
        ens = classification_report(np.tensordot(ensemble.weights, np.stack([probs_test[m] for m in members]),
                                                 axes=1), prep.y_test, classes)
        report["models"]["ensemble"] = {"members": members, "macro_f1": ens["macro_f1"],
                                        "balanced_accuracy": ens["balanced_accuracy"], "ece": ens["ece"]}

    if config.compare_augmentation and "rf" in config.models and prep.n_synthetic:
        rf = _forest(config).fit(prep.train_real.X, prep.indices(prep.train_real.labels),
                                 **_rf_fit_args(prep, None))
        without = classification_report(rf.predict_proba(prep.test.X), prep.y_test, classes)
        report["augmentation"] = {"rf_macro_f1_with": report["models"]["rf"]["macro_f1"],
                                  "rf_macro_f1_without": without["macro_f1"],
                                  "per_class_f1_without": {c: v["f1"] for c, v in without["per_class"].items()}}

    split = {"dataset": str(dataset.path), "data_hash": prep.data_hash, "classes": classes, "seed": config.seed,
             "test_ids": prep.test.object_ids.tolist(), "val_ids": prep.val.object_ids.tolist()}
    (out / "split.json").write_text(json.dumps(split) + "\n")
    report["seconds"] = round(time.perf_counter() - started, 1)
    (out / "training_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    return obj
