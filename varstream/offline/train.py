"""``varstream train``: features → split → balance, GP augmentation and survey emulation
(:mod:`.prepare`) → RF, MLP, GRU → ONNX + cards → the ensemble fitted on validation
(:mod:`.ensemble_fit`).

Deterministic for a seed. The held-out test split is written to ``split.json`` beside the models
so that ``varstream evaluate`` scores exactly the stars no model saw. Each model is described by a
:class:`ModelSpec` (its input and how to build its trainer); :func:`train` is one loop over them:
fit, export to ONNX, load the file back through the serving loader
(:func:`~varstream.inference.load_classifier`) for the parity check, write the card.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from varstream import __version__
from varstream.inference import ENSEMBLE, load_classifier
from varstream.lightcurve import FEATURE_VERSION
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.modelcard import EnsembleCard, ModelCard, sha256_file
from varstream.offline import ensemble_fit
from varstream.offline.feature_cache import FeatureTable
from varstream.offline.metrics import classification_report
from varstream.offline.nn import MLP, GRUNet
from varstream.offline.prepare import Prepared, describe, prepare
from varstream.offline.rf import RandomForest
from varstream.offline.train_config import MODEL_NAMES, NetConfig, TrainConfig
from varstream.offline.weights import class_weights

log = logging.getLogger(__name__)

ENSEMBLE_MEMBERS = ("rf", "mlp", "gru")
#: Real training rows checked for ONNX parity at least (test rows first, then validation rows).
PARITY_ROWS = 500


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"varstream": __version__}
    for pkg in ("numpy", "tensorflow", "tensorflow-decision-forests", "tf-keras", "tf2onnx", "onnx",
                "onnxruntime", "celerite2", "pycatch22", "astropy", "nifty-ls", "finufft"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------- the models


@dataclass(frozen=True)
class ModelSpec:
    """One model of ``varstream train``: its input, its columns and how to build and fit it.

    Attributes:
        kind: ``features`` (feature vectors; ``columns`` picks the input columns from the ones
            the run keeps, :attr:`Prepared.columns`) or ``sequence`` (phase-folded GRU sequences).
        build: the trainer from the run's settings (constructors store settings only).
        fit_args: the extra keyword arguments of ``trainer.fit(X, y, **fit_args)``.
        describe: what the card records about the training settings.
    """

    kind: str
    build: Callable[[TrainConfig], Any]
    fit_args: Callable[[Prepared, list[int] | None], dict]
    describe: Callable[[TrainConfig, Any], dict]
    columns: Callable[[tuple[str, ...], list[int]], list[int]] | None = None

    def input_columns(self, prep: Prepared) -> list[int] | None:
        if self.kind == "sequence":
            return None
        return self.columns(prep.table.names, prep.columns) if self.columns else list(prep.columns)

    def inputs(self, t: FeatureTable, columns: list[int] | None) -> np.ndarray:
        if self.kind == "sequence":
            return t.seq
        return t.X if columns is None else t.X[:, columns]


def _rf_fit_args(prep: Prepared, columns: list[int] | None) -> dict:
    names = list(prep.table.names)
    return {"feature_names": names if columns is None else [names[i] for i in columns],
            "n_classes": len(prep.classes), "sample_weight": prep.train_weights}


def _net_fit_args(kind: str) -> Callable[[Prepared, list[int] | None], dict]:
    def args(prep: Prepared, columns: list[int] | None) -> dict:
        val = prep.val_all
        x_val = val.seq if kind == "sequence" else val.X[:, columns]
        return {"x_val": x_val, "y_val": prep.indices(val.labels), "n_classes": len(prep.classes),
                "sample_weight": prep.train_weights}
    return args


def _rf_describe(config: TrainConfig, _model) -> dict:
    return {"trees": config.rf_trees, "max_depth": config.rf_max_depth, "min_examples": config.rf_min_examples}


def _net_describe(net_config: Callable[[TrainConfig], NetConfig]) -> Callable[[TrainConfig, Any], dict]:
    return lambda config, net: {"temperature": net.temperature_, "history": net.history_,
                                **asdict(net_config(config))}


def _forest(config: TrainConfig) -> RandomForest:
    return RandomForest(config.rf_trees, config.rf_max_depth, config.rf_min_examples, seed=config.seed)


MODELS: dict[str, ModelSpec] = {  # keyed like MODEL_NAMES
    "rf": ModelSpec("features", _forest, _rf_fit_args, lambda c, m: {**_rf_describe(c, m), "columns": "features"}),
    "baseline_rf": ModelSpec("features", _forest, _rf_fit_args,
                             lambda c, m: {**_rf_describe(c, m), "columns": "catch22 of the time-ordered magnitudes"},
                             columns=lambda names, _kept: [i for i, n in enumerate(names) if n.startswith("c22time_")]),
    "mlp": ModelSpec("features", lambda c: MLP(c.mlp), _net_fit_args("features"), _net_describe(lambda c: c.mlp)),
    "gru": ModelSpec("sequence", lambda c: GRUNet(c.gru), _net_fit_args("sequence"), _net_describe(lambda c: c.gru)),
}


def _parity_rows(prep: Prepared) -> FeatureTable:
    """Real held-out rows for the ONNX parity check: the test rows, topped up with validation rows."""
    rows = FeatureTable.concat([prep.test, prep.val])
    return rows.subset(np.arange(min(len(rows), max(PARITY_ROWS, len(prep.test)))))


@dataclass
class Fitted:
    """A trained, exported model: its card, the native model, and its input columns."""

    card: ModelCard
    model: Any
    spec: ModelSpec
    columns: list[int] | None

    def predict(self, t: FeatureTable) -> np.ndarray:
        return self.model.predict_proba(self.spec.inputs(t, self.columns))


def _fit_and_export(name: str, spec: ModelSpec, prep: Prepared, config: TrainConfig, out: Path,
                    common: dict) -> Fitted:
    """Fit one model, export it, check the exported file through the serving loader, write its card."""
    names = prep.table.names
    columns = spec.input_columns(prep)
    model = spec.build(config).fit(spec.inputs(prep.train, columns), prep.y_train, **spec.fit_args(prep, columns))
    path = out / f"{name}.onnx"
    path.write_bytes(model.to_onnx().SerializeToString())
    fitted = Fitted(ModelCard(name=name, kind=spec.kind, onnx_file=path.name, sha256=sha256_file(path),
                              feature_names=[names[i] for i in columns] if columns is not None else [],
                              input_columns=list(columns) if columns is not None else [],
                              sequence_length=int(prep.table.seq.shape[1]) if spec.kind == "sequence" else 0,
                              training={"seconds": round(model.train_seconds_, 1),
                                        **_jsonable(spec.describe(config, model))}, **common),
                    model, spec, columns)
    fitted.card.metrics = classification_report(fitted.predict(prep.test), prep.y_test, prep.classes)
    if len(prep.test_emulated):
        emulated = classification_report(fitted.predict(prep.test_emulated), prep.indices(prep.test_emulated.labels),
                                         prep.classes)
        fitted.card.metrics["emulated"] = {k: emulated[k] for k in ("n", "macro_f1", "balanced_accuracy", "ece")}
    fitted.card.write(out)
    par = _parity_rows(prep)
    served = load_classifier(out, name).predict_proba(par.X, par.seq)      # the stream's own loader
    fitted.card.parity_max_abs_diff = float(np.max(np.abs(served - fitted.predict(par))))
    fitted.card.write(out)
    m = fitted.card.metrics
    log.info("%s: test macro F1 %.3f, ECE %.3f, parity %.1e, %.0f s", name, m["macro_f1"], m["ece"],
             fitted.card.parity_max_abs_diff, model.train_seconds_)
    return fitted


def _fit_ensemble(fitted: dict[str, Fitted], prep: Prepared, out: Path, pipeline: dict) -> EnsembleCard:
    """Weights, prior adjustment and length temperatures on validation rows (see :mod:`.ensemble_fit`)."""
    members = [m for m in ENSEMBLE_MEMBERS if m in fitted]
    val = prep.val_all
    emulated = np.arange(len(val)) >= len(prep.val)
    probs = np.stack([fitted[m].predict(val) for m in members])
    card, adjustment = ensemble_fit.fit_card(
        members, probs, prep.indices(val.labels), emulated, val.n_points,
        fitted_on=f"{len(prep.val)} validation stars and {len(prep.val_emulated)} emulated versions of them (other "
                  "surveys' cadences, noise and prefixes); the prior adjustment on the validation stars alone",
        classes=prep.classes, member_sha256={m: fitted[m].card.sha256 for m in members}, pipeline=pipeline)
    log.info("ensemble: weights %s, prior alpha %.1f (validation macro F1 %.3f -> %.3f)", card.weights,
             adjustment.alpha, adjustment.macro_f1_unadjusted, adjustment.macro_f1)
    card.write(out)
    return card


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
    log.info("classes %s; train %d (synthetic %s, emulated %d), val %d (+%d emulated), test %d (+%d emulated)",
             classes, len(prep.train), prep.n_synthetic, prep.n_emulated, len(prep.val), len(prep.val_emulated),
             len(prep.test), len(prep.test_emulated))
    common = dict(classes=classes, version=f"{__version__}+{prep.data_hash[:8]}", feature_version=FEATURE_VERSION,
                  data_hash=prep.data_hash, dataset=f"{dataset.name} ({dataset.kind} layout)",
                  created=datetime.now(timezone.utc).isoformat(timespec="seconds"), versions=_versions(),
                  pipeline=config.pipeline.to_dict())
    report: dict[str, Any] = {
        "dataset": str(dataset.path), "data_hash": prep.data_hash, "feature_version": FEATURE_VERSION,
        "classes": classes, "config": _jsonable(describe(config)),
        "features_used": [prep.table.names[i] for i in prep.columns],
        "counts": {"train_real": dict(Counter(prep.train_real.labels.tolist())), "synthetic": prep.n_synthetic,
                   "emulated_train_rows": prep.n_emulated, "train_rows": len(prep.train),
                   "val": dict(Counter(prep.val.labels.tolist())), "test": dict(Counter(prep.test.labels.tolist())),
                   "val_emulated_rows": len(prep.val_emulated), "test_emulated_rows": len(prep.test_emulated)},
        "models": {},
    }
    fitted: dict[str, Fitted] = {}
    for name in config.models:
        fitted[name] = _fit_and_export(name, MODELS[name], prep, config, out, common)
        m = fitted[name].card.metrics
        report["models"][name] = {"macro_f1": m["macro_f1"], "balanced_accuracy": m["balanced_accuracy"],
                                  "ece": m["ece"], "parity_max_abs_diff": fitted[name].card.parity_max_abs_diff,
                                  "seconds": fitted[name].card.training["seconds"], **(
                                      {"emulated": m["emulated"]} if "emulated" in m else {})}

    if len([m for m in ENSEMBLE_MEMBERS if m in fitted]) >= 2:
        card = _fit_ensemble(fitted, prep, out, config.pipeline.to_dict())
        ensemble = load_classifier(out)
        test = prep.test
        ens = classification_report(ensemble.predict_proba(test.X, test.seq, test.n_points), prep.y_test, classes)
        report["models"][ENSEMBLE] = {"members": card.members, "weights": card.weights,
                                        "temperatures": card.temperatures, "prior": card.prior,
                                        "prior_alpha": card.prior_alpha, "macro_f1": ens["macro_f1"],
                                        "balanced_accuracy": ens["balanced_accuracy"], "ece": ens["ece"]}

    if config.compare_augmentation and "rf" in config.models and prep.n_synthetic:
        columns = MODELS["rf"].input_columns(prep)
        y_real = prep.indices(prep.train_real.labels)
        rf = _forest(config).fit(prep.train_real.X[:, columns], y_real,
                                 **{**_rf_fit_args(prep, columns), "sample_weight": class_weights(y_real, len(classes))})
        without = classification_report(rf.predict_proba(prep.test.X[:, columns]), prep.y_test, classes)
        report["augmentation"] = {"rf_macro_f1_with": report["models"]["rf"]["macro_f1"],
                                  "rf_macro_f1_without": without["macro_f1"],
                                  "note": "without: the real balanced training rows only (no GP-synthetic and no "
                                          "emulated rows)",
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
