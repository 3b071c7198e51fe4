"""``varstream evaluate``: score the shipped (or any) ONNX models on a labelled dataset.

Scope: on the dataset the models were trained on (same data hash) the held-out test stars of
``split.json``; on any other dataset every labelled star. Every model, the ensemble and the study's
baseline are scored in one run, with confusion matrices and reliability diagrams as PNG beside
the report, at two levels:

- **classes**, where a dataset label maps to a model class (ASAS-SN → Catalina,
  :mod:`varstream.lightcurve.taxonomy`);
- **families** (RR, CEP, ECL, LPV, DSCT, ROT) for every star whose label has one: the family
  probability is the sum of its classes' probabilities. A dataset labelled by family only (the
  Gaia layout) is scored at family level only; so are labels without a model class (e.g. ASAS-SN's
  classical Cepheids, DCEP, a known limit of models trained on Catalina, which has none).

Two more views, each with its own table:

- ``emulated``: on the training dataset, the emulated versions of the test stars (other surveys'
  cadences and noise, prefixes; :mod:`.emulate`) — the stars are held out, their re-observations
  were never trained on;
- ``prefixes``: the first N observations of every scored curve that has at least N (the stream's
  view of a young star), with macro F1, balanced accuracy and calibration (ECE) per N, and a plot
  of macro F1 against N;
- ``nonperiodic`` (``--nonperiodic N``): N simulated non-periodic curves (:mod:`.nonperiodic`, the
  held-out test seed: never trained on) — the share each model publishes as a periodic class with
  probability ≥ 0.5 (and ≥ 0.8), overall and per kind, and their mean non-periodic probability.

Every view also says what share of the scored real stars (all periodic variables) each model
publishes as not periodic (``published_nonperiodic``: the ``NONPER`` family most probable).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from varstream.inference import ENSEMBLE, Ensemble, ModelIntegrityError, load_classifier, load_models
from varstream.lightcurve import PipelineConfig
from varstream.lightcurve.loaders.dataset import Dataset, default_data_root, open_dataset
from varstream.lightcurve.taxonomy import (NONPERIODIC, families_of, family_of, family_probability_table,
                                           model_class)
from varstream.modelcard import ENSEMBLE_FILE
from varstream.offline import emulate
from varstream.offline.feature_cache import FeatureTable, cached_table, dataset_table, featurise_curves
from varstream.offline.metrics import classification_report, plot_confusion, plot_prefixes, plot_reliability

log = logging.getLogger(__name__)

class Scorer:
    """Every classifier of a models directory, scoring feature tables at class and family level."""

    def __init__(self, models_dir: str | Path) -> None:
        models = load_models(models_dir)
        if not models:
            raise FileNotFoundError(f"no model cards (*.card.json) in {models_dir}")
        self.classifiers: dict[str, Any] = dict(models)
        if (Path(models_dir) / ENSEMBLE_FILE).exists():
            self.classifiers[ENSEMBLE] = load_classifier(models_dir, ENSEMBLE)
        self.classes = next(iter(models.values())).card.classes
        self.families = families_of(self.classes)
        pipelines = {m.pipeline for m in models.values()}
        if len(pipelines) != 1:
            raise ModelIntegrityError(f"{models_dir}: the models were trained with different pipeline settings")
        #: the pipeline settings every model was trained with: the curves are featurised with them
        self.pipeline = pipelines.pop()

    def probabilities(self, table: FeatureTable) -> dict[str, np.ndarray]:
        out = {}
        for name, model in self.classifiers.items():
            if isinstance(model, Ensemble):
                out[name] = model.predict_proba(table.X, table.seq, table.n_points)
            else:
                out[name] = model.predict_proba(table.X, table.seq)
        return out

    def score(self, table: FeatureTable, labels: list[str], family_only: bool) -> dict[str, Any]:
        """Class- and family-level reports of every classifier on the rows of ``table``."""
        classes, families = self.classes, self.families
        mapped = [None if family_only else model_class(lab, classes) for lab in labels]
        fams = [family_of(lab) for lab in labels]
        class_rows = np.array([m is not None for m in mapped], dtype=bool)
        family_rows = np.array([f in families for f in fams], dtype=bool)
        y_class = np.array([classes.index(m) for m in mapped if m is not None], dtype=np.int64)
        y_family = np.array([families.index(f) for f in fams if f in families], dtype=np.int64)
        result: dict[str, Any] = {"n_class": int(class_rows.sum()), "n_family": int(family_rows.sum()), "models": {}}
        for name, probs in self.probabilities(table).items():
            rep: dict[str, Any] = {}
            if class_rows.any():
                rep = classification_report(probs[class_rows], y_class, classes)
            if family_rows.any():
                rep["family"] = classification_report(family_probability_table(probs[family_rows], classes, families), y_family,
                                                      families)
            if NONPERIODIC in families:
                fam = family_probability_table(probs, classes, families)
                rep["published_nonperiodic"] = float(np.mean(fam.argmax(axis=1) == families.index(NONPERIODIC))) \
                    if len(fam) else 0.0
            result["models"][name] = rep
        return result

    def nonperiodic(self, table: FeatureTable, kinds: np.ndarray) -> dict[str, Any]:
        """How every classifier publishes simulated non-periodic curves: the share given a periodic
        class with probability ≥ 0.5 and ≥ 0.8 (overall and per ``kinds``) and the mean probability
        of the ``NONPER`` family (0 for models without it)."""
        out: dict[str, Any] = {"n": len(table), "kinds": dict(Counter(kinds.tolist())), "models": {}}
        periodic = np.array([family_of(c) != NONPERIODIC for c in self.classes])
        for name, probs in self.probabilities(table).items():
            top = probs.argmax(axis=1)
            p = probs[np.arange(len(top)), top]
            as_periodic = {t: periodic[top] & (p >= t) for t in (0.5, 0.8)}
            nonper = probs[:, ~periodic].sum(axis=1)
            out["models"][name] = {
                "periodic_p50": float(as_periodic[0.5].mean()), "periodic_p80": float(as_periodic[0.8].mean()),
                "mean_nonperiodic_probability": float(nonper.mean()),
                "periodic_p50_by_kind": {k: float(as_periodic[0.5][kinds == k].mean()) for k in sorted(set(kinds))}}
        return out


def _scoped_rows(table: FeatureTable, models_dir: Path, data_hash: str) -> tuple[np.ndarray, str]:
    rows = np.flatnonzero(table.ok & (table.labels != ""))
    split_path = models_dir / "split.json"
    if split_path.exists():
        split = json.loads(split_path.read_text())
        if split.get("data_hash") == data_hash:
            test = set(split["test_ids"])
            return np.array([i for i in rows if table.object_ids[i] in test], dtype=np.int64), "held-out test split"
    return rows, "all labelled stars"


def _prefix_table(dataset: Dataset, data_hash: str, curves: list, n: int, jobs: int,
                  cache_dir: Path | None, pipeline: PipelineConfig) -> FeatureTable:
    long_enough = [lc for lc in curves if len(lc) >= n]
    items = [emulate.Emulation(lc, None, n, 0) for lc in long_enough]
    key = f"{data_hash}|prefix|{n}|{sorted(lc.object_id for lc in long_enough)}|{pipeline}"
    return cached_table(cache_dir, f"{dataset.name}-prefix{n}", key,
                        lambda: featurise_curves(items, pipeline, jobs, len(items), f"prefix {n}"))


def _emulated_table(dataset: Dataset, data_hash: str, curves: list, jobs: int, cache_dir: Path | None,
                    pipeline: PipelineConfig) -> FeatureTable:
    from varstream.offline.prepare import TEST_EMULATION_SEED, emulated_table
    from varstream.offline.train_config import TrainConfig

    surveys = emulate.default_surveys(default_data_root())
    return emulated_table(dataset, data_hash, "test", curves, surveys, 1, 1, TrainConfig().seed + TEST_EMULATION_SEED,
                          None, jobs, cache_dir, pipeline)


def nonperiodic_table(n: int, jobs: int, cache_dir: Path | None, pipeline: PipelineConfig) -> tuple[FeatureTable, np.ndarray]:
    """The featurised held-out simulated non-periodic curves (the test seed of :mod:`.prepare`) and
    each featurised curve's kind."""
    from varstream.offline.nonperiodic import kind_of
    from varstream.offline.prepare import TEST_NONPERIODIC_SEED, nonperiodic_features
    from varstream.offline.train_config import TrainConfig

    surveys = emulate.default_surveys(default_data_root())
    table = nonperiodic_features("test", n, surveys, TrainConfig().seed + TEST_NONPERIODIC_SEED, jobs, cache_dir,
                                 pipeline)
    kinds = np.array([kind_of(oid) for oid in table.object_ids])
    return table, kinds


def evaluate(dataset_dir: str | Path, models_dir: str | Path, out: str | Path, cache_dir: Path | None = None,
             jobs: int = 0, limit: int | None = None, prefixes: tuple[int, ...] = (),
             emulated: bool = True, nonperiodic: int = 0) -> dict[str, Any]:
    """Score every model in ``models_dir`` (and their ensemble) on a dataset; write the JSON report to
    ``out`` and ``<out stem>_<model>_confusion.png`` / ``_reliability.png`` (and
    ``<out stem>_prefixes.png``) beside it."""
    scorer = Scorer(models_dir)
    dataset = open_dataset(dataset_dir)
    table, data_hash = dataset_table(dataset, cache_dir, jobs or None, scorer.pipeline, limit=limit)
    rows, scope = _scoped_rows(table, Path(models_dir), data_hash)
    family_only = dataset.family_labels
    labels = [str(table.labels[i]) for i in rows]
    sub = table.subset(rows)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    unmapped = Counter(lab for lab in labels if model_class(lab, scorer.classes) is None)
    report: dict[str, Any] = {
        "dataset": str(dataset.path), "data_hash": data_hash, "scope": scope, "n_stars": int(rows.size),
        "level": "family" if family_only else "class and family",
        "not_featurised": int((~table.ok).sum()),
        "labels_without_model_class": {} if family_only else dict(unmapped),
        "labels_without_family": dict(Counter(lab for lab in labels if family_of(lab) not in scorer.families)),
        "classes": scorer.classes, "families": scorer.families,
    }
    scored = scorer.score(sub, labels, family_only)
    report.update(n_class=scored["n_class"], n_family=scored["n_family"], models=scored["models"])
    for name, rep in report["models"].items():
        for level, r in (("class", rep), ("family", rep.get("family"))):
            if r and "confusion_matrix" in r:
                suffix = "" if level == "class" else "_family"
                r["confusion_png"] = str(plot_confusion(r, name, out.with_name(f"{out.stem}_{name}{suffix}_confusion.png")))
                r["reliability_png"] = str(plot_reliability(r, name,
                                                            out.with_name(f"{out.stem}_{name}{suffix}_reliability.png")))

    jobs = jobs or None
    needs_curves = bool(prefixes) or (emulated and scope == "held-out test split")
    curves = list(dataset.iter_lightcurves(ids=set(sub.object_ids.tolist()))) if needs_curves else []
    by_id = {lc.object_id: lc for lc in curves}
    if emulated and scope == "held-out test split":
        em = _emulated_table(dataset, data_hash, [by_id[i] for i in sub.object_ids if i in by_id], jobs or 1, cache_dir,
                             scorer.pipeline)
        report["emulated"] = _summary(scorer.score(em, [str(x) for x in em.labels], family_only))
    if prefixes:
        report["prefixes"] = {}
        for n in prefixes:
            pt = _prefix_table(dataset, data_hash, [by_id[i] for i in sub.object_ids if i in by_id], n, jobs or 1,
                               cache_dir, scorer.pipeline)
            pt = pt.subset(np.flatnonzero(pt.ok))
            report["prefixes"][str(n)] = _summary(scorer.score(pt, [str(x) for x in pt.labels], family_only))
        report["prefixes_png"] = str(plot_prefixes(report["prefixes"], out.with_name(f"{out.stem}_prefixes.png"),
                                                   "family" if family_only else "class"))
    if nonperiodic:
        table_np, kinds = nonperiodic_table(nonperiodic, jobs or 1, cache_dir, scorer.pipeline)
        report["nonperiodic"] = scorer.nonperiodic(table_np, kinds)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _summary(scored: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of :meth:`Scorer.score` (no confusion matrices)."""
    keys = ("n", "macro_f1", "balanced_accuracy", "ece")
    out: dict[str, Any] = {"n_class": scored["n_class"], "n_family": scored["n_family"], "models": {}}
    for name, rep in scored["models"].items():
        row = {k: rep[k] for k in (*keys, "published_nonperiodic") if k in rep}
        if "family" in rep:
            row["family"] = {k: rep["family"][k] for k in keys}
        out["models"][name] = row
    return out


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report as tables: one line per model (classes, families), then the emulated and prefix views."""
    lines = [f"{report['n_stars']} stars ({report['scope']}) of {report['dataset']}"]
    if report.get("labels_without_model_class"):
        lines.append("  labels without a model class (scored at family level only): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(report["labels_without_model_class"].items())))
    lines += _table(report, "")
    if "emulated" in report:
        lines.append(f"emulated versions of the test stars ({report['emulated']['n_family']} curves: other surveys' "
                     "cadences and noise, prefixes)")
        lines += _table(report["emulated"], "")
    if "prefixes" in report:
        lines.append("first N observations of each curve:")
        header = "  N      stars  " + "  ".join(f"{m:>12s}" for m in sorted(report["models"]))
        lines.append(header + "   (macro F1 / family balanced accuracy / ECE of the ensemble)")
        for n, view in report["prefixes"].items():
            cells = []
            for m in sorted(report["models"]):
                row = view["models"].get(m, {})
                f1 = row.get("macro_f1", row.get("family", {}).get("macro_f1", float("nan")))
                cells.append(f"{f1:12.3f}")
            ens = view["models"].get(ENSEMBLE, {})
            fam = ens.get("family", {})
            lines.append(f"  {n:<6s} {view['n_family']:>6d}  " + "  ".join(cells)
                         + f"   {fam.get('balanced_accuracy', float('nan')):.3f} / {ens.get('ece', fam.get('ece', float('nan'))):.3f}")
    if "nonperiodic" in report:
        view = report["nonperiodic"]
        lines.append(f"simulated non-periodic curves ({view['n']}: " + ", ".join(
            f"{k} {v}" for k, v in sorted(view["kinds"].items())) + ")")
        lines.append(f"  {'model':12s} {'periodic p>=0.5':>15s} {'p>=0.8':>7s} {'mean p(NONPER)':>14s}   by kind (p>=0.5)")
        for name, row in sorted(view["models"].items()):
            lines.append(f"  {name:12s} {row['periodic_p50']:15.3f} {row['periodic_p80']:7.3f} "
                         f"{row['mean_nonperiodic_probability']:14.3f}   "
                         + " ".join(f"{k} {v:.2f}" for k, v in row["periodic_p50_by_kind"].items()))
    return lines


def _table(view: dict[str, Any], indent: str) -> list[str]:
    lines = [f"{indent}  {'model':12s} {'macro F1':>9s} {'bal. acc.':>9s} {'ECE':>6s}   "
             f"{'family F1':>9s} {'fam. bal. acc.':>14s} {'fam. ECE':>8s} {'as NONPER':>9s}"]

    def fmt(rep: dict, key: str, width: int) -> str:
        return f"{rep[key]:{width}.3f}" if key in rep else " " * (width - 1) + "-"

    for name, rep in sorted(view["models"].items(), key=lambda kv: -kv[1].get("macro_f1", kv[1].get(
            "family", {}).get("macro_f1", 0.0))):
        fam = rep.get("family", {})
        lines.append(f"{indent}  {name:12s} {fmt(rep, 'macro_f1', 9)} {fmt(rep, 'balanced_accuracy', 9)} "
                     f"{fmt(rep, 'ece', 6)}   {fmt(fam, 'macro_f1', 9)} {fmt(fam, 'balanced_accuracy', 14)} "
                     f"{fmt(fam, 'ece', 8)} {fmt(rep, 'published_nonperiodic', 9)}")
    return lines
