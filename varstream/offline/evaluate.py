"""``varstream evaluate``: score the shipped (or any) ONNX models on a labelled dataset.

On the dataset the models were trained on (same data hash) only the held-out test stars of
``split.json`` are scored; on any other dataset every labelled star whose class the models know
is scored, after mapping survey classes to the models' taxonomy (ASAS-SN → Catalina, see
:mod:`varstream.lightcurve.taxonomy`). Every model, the ensemble and the study's baseline are
scored in the same run, with confusion matrices and reliability diagrams as PNG beside the report.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from varstream.inference import ENSEMBLE, load_classifier, load_models
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.lightcurve.taxonomy import asassn_to_catalina
from varstream.modelcard import ENSEMBLE_FILE
from varstream.offline.feature_cache import dataset_table
from varstream.offline.metrics import classification_report, plot_confusion, plot_reliability

log = logging.getLogger(__name__)


def map_label(label: str, classes: list[str], kind: str) -> str | None:
    """The model class of a (normalised) dataset label, or None when the models have no such class."""
    if label in classes:
        return label
    mapped = asassn_to_catalina(label) if kind == "asassn" else None
    return mapped if mapped in classes else None


def evaluate(dataset_dir: str | Path, models_dir: str | Path, out: str | Path,
             cache_dir: Path | None = None, jobs: int = 0, limit: int | None = None) -> dict[str, Any]:
    """Score every model in ``models_dir`` (and their ensemble) on a dataset; write the JSON report
    to ``out`` and ``<out stem>_<model>_confusion.png`` / ``_reliability.png`` beside it."""
    models = load_models(models_dir)
    if not models:
        raise FileNotFoundError(f"no model cards (*.card.json) in {models_dir}")
    classifiers = dict(models)
    if (Path(models_dir) / ENSEMBLE_FILE).exists():
        classifiers[ENSEMBLE] = load_classifier(models_dir, ENSEMBLE)
    classes = next(iter(models.values())).card.classes
    dataset = open_dataset(dataset_dir)
    table, data_hash = dataset_table(dataset, cache_dir, jobs or None, limit=limit)
    split_path = Path(models_dir) / "split.json"
    scope = "all labelled stars"
    rows = np.flatnonzero(table.ok & (table.labels != ""))
    if split_path.exists():
        split = json.loads(split_path.read_text())
        if split.get("data_hash") == data_hash:
            test = set(split["test_ids"])
            rows = np.array([i for i in rows if table.object_ids[i] in test], dtype=np.int64)
            scope = "held-out test split"
    mapped = [map_label(str(table.labels[i]), classes, dataset.kind) for i in rows]
    unmapped = Counter(str(table.labels[i]) for i, m in zip(rows, mapped) if m is None)
    keep = np.array([m is not None for m in mapped], dtype=bool)
    rows = rows[keep]
    y = np.array([classes.index(m) for m in mapped if m is not None], dtype=np.int64)
    sub = table.subset(rows)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "dataset": str(dataset.path), "data_hash": data_hash, "scope": scope, "n_stars": int(rows.size),
        "not_featurised": int((~table.ok).sum()), "labels_without_model_class": dict(unmapped),
        "classes": classes, "models": {},
    }
    probs = {name: model.predict_proba(sub.X, sub.seq) for name, model in classifiers.items()}
    for name, p in probs.items():
        rep = classification_report(p, y, classes)
        rep["confusion_png"] = str(plot_confusion(rep, name, out.with_name(f"{out.stem}_{name}_confusion.png")))
        rep["reliability_png"] = str(plot_reliability(rep, name, out.with_name(f"{out.stem}_{name}_reliability.png")))
        report["models"][name] = rep
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per model: macro F1, balanced accuracy, ECE."""
    lines = [f"{report['n_stars']} stars ({report['scope']}) of {report['dataset']}"]
    for name, rep in sorted(report["models"].items(), key=lambda kv: -kv[1]["macro_f1"]):
        lines.append(f"  {name:12s} macro F1 {rep['macro_f1']:.3f}  balanced accuracy "
                     f"{rep['balanced_accuracy']:.3f}  ECE {rep['ece']:.3f}")
    return lines
