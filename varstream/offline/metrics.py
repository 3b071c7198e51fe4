"""Classification metrics, calibration and their plots.

All metrics are computed over the classes a model knows; ``expected_calibration_error`` uses the
top-label definition with equal-width confidence bins (Guo et al. 2017).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from varstream.inference import ENSEMBLE


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> tuple[float, list[dict]]:
    """Top-label ECE and the reliability table (per bin: mean confidence, accuracy, count)."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece, table = 0.0, []
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        acc, mean_conf = float(correct[sel].mean()), float(conf[sel].mean())
        ece += sel.mean() * abs(acc - mean_conf)
        table.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "confidence": mean_conf,
                      "accuracy": acc, "count": int(sel.sum())})
    return float(ece), table


def classification_report(probs: np.ndarray, y: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """macro F1, per-class precision/recall/F1/support, balanced accuracy, confusion matrix, ECE."""
    pred = probs.argmax(axis=1)
    labels = list(range(len(classes)))
    with warnings.catch_warnings():   # a dataset without some classes is expected (other surveys)
        warnings.simplefilter("ignore", UserWarning)
        return _report(probs, y, pred, labels, classes)


def _report(probs: np.ndarray, y: np.ndarray, pred: np.ndarray, labels: list[int], classes: list[str]) -> dict[str, Any]:
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    ece, reliability = expected_calibration_error(probs, y)
    present = np.isin(labels, np.unique(y))
    return {
        "n": int(y.size),
        "macro_f1": float(f1_score(y, pred, labels=np.array(labels)[present], average="macro", zero_division=0)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if y.size else float("nan"),
        "accuracy": float((pred == y).mean()) if y.size else float("nan"),
        "ece": ece,
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, c in enumerate(classes)},
        "confusion_matrix": {"classes": classes, "rows_true_cols_pred":
                             confusion_matrix(y, pred, labels=labels).tolist()},
        "reliability": reliability,
    }


def plot_confusion(report: dict[str, Any], title: str, path: Path) -> Path:
    """Row-normalised confusion matrix (recall on the diagonal) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = report["confusion_matrix"]["classes"]
    cm = np.array(report["confusion_matrix"]["rows_true_cols_pred"], dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{title}: macro F1 {report['macro_f1']:.3f}")
    fig.colorbar(im, ax=ax, label="fraction of true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(report: dict[str, Any], title: str, path: Path) -> Path:
    """Reliability diagram (accuracy against confidence per bin) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["reliability"]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    if rows:
        conf = [r["confidence"] for r in rows]
        acc = [r["accuracy"] for r in rows]
        ax.plot(conf, acc, "o-", label="model")
        for r in rows:
            ax.annotate(str(r["count"]), (r["confidence"], r["accuracy"]), fontsize=6, xytext=(3, -8),
                        textcoords="offset points")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-class probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title}: ECE {report['ece']:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_prefixes(prefixes: dict[str, Any], path: Path, level: str = "class") -> Path:
    """Macro F1 against the number of observations (the first N of each curve), one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted(prefixes, key=int)
    models = sorted({m for n in ns for m in prefixes[n]["models"]})
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for m in models:
        ys = []
        for n in ns:
            row = prefixes[n]["models"].get(m, {})
            ys.append(row.get("macro_f1") if level == "class" else row.get("family", {}).get("macro_f1"))
        ax.plot([int(n) for n in ns], [np.nan if y is None else y for y in ys], "o-",
                lw=2.5 if m == ENSEMBLE else 1.2, label=m)
    ax.set_xscale("log")
    ax.set_xlabel("observations (the first N of each curve)")
    ax.set_ylabel(f"macro F1 ({level}es)" if level == "class" else "macro F1 (families)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Early classification: macro F1 against curve length")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
