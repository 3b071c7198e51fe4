"""``varstream train``: features → split → balance + GP augmentation → RF, MLP, GRU → ONNX + cards.

Deterministic for a seed. The held-out test split is written to ``split.json`` beside the models
so that ``varstream evaluate`` scores exactly the stars no model saw.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from varstream import __version__
from varstream.lightcurve import FEATURE_VERSION, PipelineConfig
from varstream.lightcurve.loaders.dataset import Dataset, open_dataset
from varstream.lightcurve.taxonomy import CATALINA_CLASSES
from varstream.modelcard import ModelCard, sha256_file
from varstream.offline.augment import augment
from varstream.offline.metrics import classification_report
from varstream.offline.nn import MLP, GRUNet, NetConfig
from varstream.offline.rf import RandomForest
from varstream.offline.split import balance_plan, stratified_split
from varstream.offline.table import FeatureTable, dataset_table, featurise_curves

log = logging.getLogger(__name__)

ALL_MODELS = ("rf", "mlp", "gru", "baseline_rf")
ENSEMBLE_MEMBERS = ("rf", "mlp", "gru")


@dataclass
class TrainConfig:
    """Everything that decides a training run.

    Attributes:
        models: which models to train (``rf``, ``mlp``, ``gru``, ``baseline_rf`` = the reference
            study's RF on catch22 of the time-ordered magnitudes only).
        classes: classes to learn (default: every class with at least ``min_class_count``
            featurised stars; uncertain ASAS-SN classes ``X:`` count as ``X``).
        cap: training stars kept per class at most (the big classes are subsampled).
        floor: classes with fewer training stars get GP-synthetic curves up to this number.
        augment: make synthetic curves (training fold only).
        compare_augmentation: also train an RF without augmentation and report both figures.
        rf_trees, rf_max_depth, rf_min_examples: forest size; the defaults keep the ONNX file near
            8 MB (300 trees of depth 20 score ~0.015 higher in macro F1 at 32 MB).
        limit: use only the first ``limit`` curves of the dataset (smoke tests).
    """

    models: tuple[str, ...] = ALL_MODELS
    classes: tuple[str, ...] | None = None
    min_class_count: int = 10
    cap: int = 3000
    floor: int = 600
    augment: bool = True
    compare_augmentation: bool = False
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    rf_trees: int = 100
    rf_max_depth: int = 16
    rf_min_examples: int = 5
    mlp: NetConfig = field(default_factory=NetConfig)
    gru: NetConfig = field(default_factory=lambda: NetConfig(batch_size=128, epochs=40, patience=6))
    jobs: int = 0
    limit: int | None = None


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


def normalise_label(label: str) -> str:
    return label.strip().rstrip(":")


def _class_order(counts: Counter, config: TrainConfig) -> list[str]:
    if config.classes:
        return list(config.classes)
    eligible = [c for c, n in counts.items() if n >= config.min_class_count and c]
    catalina = [c for c in CATALINA_CLASSES if c in eligible]
    return catalina + sorted(c for c in eligible if c not in catalina)


@dataclass
class Prepared:
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


def prepare(dataset: Dataset, config: TrainConfig, cache_dir: Path | None = None) -> Prepared:
    """Features, split, balancing and augmentation of a dataset for training."""
    jobs = config.jobs or os.cpu_count() or 1
    table, data_hash = dataset_table(dataset, cache_dir, jobs, PipelineConfig(), limit=config.limit)
    labels = np.array([normalise_label(x) for x in table.labels])
    table.labels = labels
    usable = table.ok & (labels != "")
    classes = _class_order(Counter(labels[usable].tolist()), config)
    if len(classes) < 2:
        raise ValueError(f"{dataset.path}: fewer than two classes with >= {config.min_class_count} featurised stars")
    rows = np.flatnonzero(usable & np.isin(labels, classes))
    split = stratified_split(labels[rows], config.val_fraction, config.test_fraction, config.seed)
    train_rows, val_rows, test_rows = rows[split.train], rows[split.val], rows[split.test]
    assert not (set(train_rows) & set(val_rows) | set(train_rows) & set(test_rows) | set(val_rows) & set(test_rows))

    keep, needed = balance_plan(labels[train_rows], config.cap, config.floor)
    train_real = table.subset(train_rows[keep])
    parts = [train_real]
    made: dict[str, int] = {}
    if config.augment and needed:
        rng = np.random.default_rng(config.seed)
        train_ids = set(table.object_ids[train_rows].tolist())
        wanted = {c: set(table.object_ids[train_rows][labels[train_rows] == c].tolist()) for c in needed}
        template_ids = set(rng.choice(sorted(train_ids), size=min(400, len(train_ids)), replace=False).tolist())
        sources: dict[str, list] = {c: [] for c in needed}
        templates = []
        all_wanted = set().union(*wanted.values()) | template_ids
        for lc in dataset.iter_lightcurves(ids=all_wanted) if dataset.kind == "catalina" else dataset.iter_lightcurves():
            if lc.object_id not in all_wanted:
                continue
            label = normalise_label(lc.label or "")
            if label in wanted and lc.object_id in wanted[label]:
                sources[label].append(lc.with_values(label=label))
            if lc.object_id in template_ids:
                templates.append(lc)
        synthetic = []
        for i, (label, count) in enumerate(sorted(needed.items())):
            synthetic += augment(sources[label], templates, count, seed=config.seed + i)
        if synthetic:
            aug = featurise_curves(synthetic, PipelineConfig(), jobs, total=len(synthetic), desc="synthetic features")
            aug = aug.subset(np.flatnonzero(aug.ok))
            made = dict(Counter(aug.labels.tolist()))
            parts.append(aug)
    train = FeatureTable.concat(parts) if len(parts) > 1 else parts[0]
    index = {c: i for i, c in enumerate(classes)}
    return Prepared(classes, table, data_hash, train, table.subset(val_rows), table.subset(test_rows),
                    np.array([index[c] for c in train.labels]), np.array([index[c] for c in labels[val_rows]]),
                    np.array([index[c] for c in labels[test_rows]]), made, train_real)


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


def _parity(onnx_bytes: bytes, feed_name: str, x: np.ndarray, native: np.ndarray) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    out = sess.run(None, {feed_name: x.astype(np.float32)})
    probs = next(o for o in out if o.ndim == 2 and o.dtype.kind == "f")
    return float(np.max(np.abs(probs - native)))


def train(dataset_dir: str | Path, out_dir: str | Path, config: TrainConfig = TrainConfig(),
          cache_dir: Path | None = None) -> dict[str, Any]:
    """Train, export and describe the models; returns the training report (also written to
    ``out_dir/training_report.json``)."""
    started = time.perf_counter()
    dataset = open_dataset(dataset_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prep = prepare(dataset, config, cache_dir)
    classes, names = prep.classes, list(prep.table.names)
    n_classes = len(classes)
    log.info("classes %s; train %d (of which synthetic %s), val %d, test %d", classes, len(prep.train),
             prep.n_synthetic, len(prep.val), len(prep.test))
    version = f"{__version__}+{prep.data_hash[:8]}"
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    common = dict(classes=classes, version=version, feature_version=FEATURE_VERSION, data_hash=prep.data_hash,
                  dataset=f"{dataset.name} ({dataset.kind} layout)", created=created, versions=_versions())
    report: dict[str, Any] = {
        "dataset": str(dataset.path), "data_hash": prep.data_hash, "feature_version": FEATURE_VERSION,
        "classes": classes, "config": _jsonable(asdict(config)),
        "counts": {"train_real": dict(Counter(prep.train_real.labels.tolist())), "synthetic": prep.n_synthetic,
                   "val": dict(Counter(prep.val.labels.tolist())), "test": dict(Counter(prep.test.labels.tolist()))},
        "models": {},
    }
    parity_rows = slice(0, max(500, len(prep.test)))
    probs_test: dict[str, np.ndarray] = {}

    def finish(name: str, kind: str, onnx_model, native_test: np.ndarray, feed: str, x_parity: np.ndarray,
               native_parity: np.ndarray, seconds: float, extra: dict, columns: list[int] | None = None) -> None:
        data = onnx_model.SerializeToString()
        path = out / f"{name}.onnx"
        path.write_bytes(data)
        metrics = classification_report(native_test, prep.y_test, classes)
        card = ModelCard(name=name, kind=kind, onnx_file=path.name, sha256=sha256_file(path), metrics=metrics,
                         parity_max_abs_diff=_parity(data, feed, x_parity, native_parity),
                         feature_names=[names[i] for i in columns] if columns else (names if kind == "features" else []),
                         input_columns=columns or [], sequence_length=int(prep.table.seq.shape[1]) if kind == "sequence" else 0,
                         training={"seconds": round(seconds, 1), **extra}, **common)
        card.write(out)
        probs_test[name] = native_test
        report["models"][name] = {"macro_f1": metrics["macro_f1"], "balanced_accuracy": metrics["balanced_accuracy"],
                                  "ece": metrics["ece"], "parity_max_abs_diff": card.parity_max_abs_diff,
                                  "seconds": round(seconds, 1)}
        log.info("%s: test macro F1 %.3f, ECE %.3f, %.0f s", name, metrics["macro_f1"], metrics["ece"], seconds)

    # parity rows: test rows, topped up with validation rows to reach 500 when the test split is small
    par = FeatureTable.concat([prep.test, prep.val]).subset(np.arange(min(len(prep.test) + len(prep.val),
                                                                        parity_rows.stop)))
    for name in config.models:
        if name in ("rf", "baseline_rf"):
            columns = list(range(len(names))) if name == "rf" else [i for i, n in enumerate(names) if n.startswith("c22time_")]
            rf = RandomForest(config.rf_trees, config.rf_max_depth, config.rf_min_examples, seed=config.seed)
            rf.fit(prep.train.X[:, columns], prep.y_train, [names[i] for i in columns], n_classes)
            finish(name, "features", rf.to_onnx(), rf.predict_proba(prep.test.X[:, columns]), "features",
                   par.X[:, columns], rf.predict_proba(par.X[:, columns]), rf.train_seconds,
                   {"trees": config.rf_trees, "max_depth": config.rf_max_depth, "min_examples": config.rf_min_examples,
                    "columns": "all features" if name == "rf" else "catch22 of the time-ordered magnitudes"},
                   None if name == "rf" else columns)
        elif name in ("mlp", "gru"):
            # the MLP reads feature vectors, the GRU phase-folded sequences; kind = input name
            net_class, net_config, kind = (MLP, config.mlp, "features") if name == "mlp" else \
                (GRUNet, config.gru, "sequence")

            inputs = _feature_input if kind == "features" else _sequence_input

            net = net_class(n_classes, net_config).fit(inputs(prep.train), prep.y_train, inputs(prep.val), prep.y_val,
                                                       _class_weights(prep.y_train, n_classes), _prior_ratio(prep))
            finish(name, kind, net.to_onnx(), net.predict_proba(inputs(prep.test)), kind, inputs(par),
                   net.predict_proba(inputs(par)), net.train_seconds,
                   {"temperature": net.temperature, "prior_alpha": net.prior_alpha, **_jsonable(asdict(net_config))})
        else:
            raise ValueError(f"unknown model {name!r}; choose from {ALL_MODELS}")

    members = [m for m in ENSEMBLE_MEMBERS if m in probs_test]
    if len(members) >= 2:
        ens = classification_report(np.mean([probs_test[m] for m in members], axis=0), prep.y_test, classes)
        report["models"]["ensemble"] = {"members": members, "macro_f1": ens["macro_f1"],
                                        "balanced_accuracy": ens["balanced_accuracy"], "ece": ens["ece"]}
        (out / "ensemble.json").write_text(json.dumps({"members": members, "combine": "mean of probabilities"}) + "\n")

    if config.compare_augmentation and "rf" in config.models and prep.n_synthetic:
        rf = RandomForest(config.rf_trees, config.rf_max_depth, config.rf_min_examples, seed=config.seed)
        index = {c: i for i, c in enumerate(classes)}
        y_real = np.array([index[c] for c in prep.train_real.labels])
        rf.fit(prep.train_real.X, y_real, names, n_classes)
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


def _feature_input(t: FeatureTable) -> np.ndarray:
    return t.X


def _sequence_input(t: FeatureTable) -> np.ndarray:
    return t.seq


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items() if k != "history" or v}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    return obj
