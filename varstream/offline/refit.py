"""``varstream refit-ensemble``: fit a models directory's ensemble card again — weights, prior
adjustment, length temperatures — on its validation split, without retraining the members.

The validation stars are the ones ``varstream train`` wrote to ``split.json``; their emulated
versions (and the validation set of simulated non-periodic curves) are rebuilt with the training
run's seed and settings (``training_report.json``), so the fit sees exactly the rows training
fitted the ensemble on. Only ``ensemble.json`` and the
ensemble's entry of the training report change; the members' ONNX files and cards do not.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from varstream.inference import ENSEMBLE, card_pipeline, load_classifier, load_models
from varstream.lightcurve.loaders.dataset import default_data_root, open_dataset
from varstream.modelcard import ENSEMBLE_FILE, EnsembleCard
from varstream.offline import emulate, ensemble_fit
from varstream.offline.feature_cache import FeatureTable, dataset_table
from varstream.offline.metrics import classification_report
from varstream.offline.prepare import (VAL_EMULATION_SEED, VAL_NONPERIODIC_SEED, emulated_table, held_out_count,
                                       nonperiodic_features)
from varstream.offline.train_config import TrainConfig

log = logging.getLogger(__name__)


def refit_ensemble(dataset_dir: str | Path, models_dir: str | Path, cache_dir: Path | None = None,
                   jobs: int = 0) -> dict[str, Any]:
    """Refit ``models_dir/ensemble.json`` on the validation split of ``dataset_dir`` (the dataset
    the members were trained on); returns what changed (before/after validation and test figures).

    Raises:
        ValueError: the directory has no split or training report, or the dataset is not the one
            the models were trained on.
    """
    models_dir = Path(models_dir)
    old = EnsembleCard.read(models_dir / ENSEMBLE_FILE)
    split_path, report_path = models_dir / "split.json", models_dir / "training_report.json"
    if not split_path.exists() or not report_path.exists():
        raise ValueError(f"{models_dir}: needs split.json and training_report.json (written by varstream train)")
    split = json.loads(split_path.read_text())
    report = json.loads(report_path.read_text())
    dataset = open_dataset(dataset_dir)
    pipeline = card_pipeline(old.pipeline, models_dir / ENSEMBLE_FILE)
    table, data_hash = dataset_table(dataset, cache_dir, jobs or None, pipeline)
    if data_hash != split["data_hash"]:
        raise ValueError(f"{dataset.path} is not the dataset the models were trained on (data hash "
                         f"{data_hash[:12]} vs {split['data_hash'][:12]})")
    row_of = {oid: i for i, oid in enumerate(table.object_ids)}
    val = table.subset(np.array([row_of[i] for i in split["val_ids"]], dtype=np.int64))
    test = table.subset(np.array([row_of[i] for i in split["test_ids"]], dtype=np.int64))
    config = report["config"]
    val_emulated = FeatureTable.empty(pipeline.sequence_length)
    survey_data = config.get("survey_data")
    emulating = config.get("emulations", 0) > 0 or config.get("prefixes", 0) > 0
    if emulating or config.get("nonperiodic", 0) > 0:
        surveys = emulate.default_surveys(Path(survey_data) if survey_data else default_data_root())
    if emulating:
        by_id = {lc.object_id: lc for lc in dataset.iter_lightcurves(ids=set(split["val_ids"]))}
        val_emulated = emulated_table(dataset, data_hash, "val", [by_id[i] for i in val.object_ids if i in by_id],
                                      surveys, 1, 1, config["seed"] + VAL_EMULATION_SEED, survey_data, jobs or 1,
                                      cache_dir, pipeline)
    if config.get("nonperiodic", 0) > 0:
        held_out = held_out_count(config["nonperiodic"], TrainConfig(val_fraction=config["val_fraction"],
                                                                     test_fraction=config["test_fraction"]))
        val_emulated = FeatureTable.concat([val_emulated, nonperiodic_features(
            "val", held_out, surveys, config["seed"] + VAL_NONPERIODIC_SEED, jobs or 1, cache_dir, pipeline)])
    members = load_models(models_dir, tuple(old.members))
    classes = members[old.members[0]].classes
    index = {c: i for i, c in enumerate(classes)}
    rows = FeatureTable.concat([val, val_emulated]) if len(val_emulated) else val
    probs = np.stack([members[m].predict_proba(rows.X, rows.seq) for m in old.members])
    before = load_classifier(models_dir)
    card, adjustment = ensemble_fit.fit_card(
        list(old.members), probs, np.array([index[c] for c in rows.labels]), np.arange(len(rows)) >= len(val),
        rows.n_points, fitted_on=f"{len(val)} validation stars and {len(val_emulated)} emulated versions of them "
                                 "(refitted by varstream refit-ensemble); the prior adjustment on the validation "
                                 "stars alone", classes=classes, member_sha256=dict(old.member_sha256),
        pipeline=old.pipeline)
    y_test = np.array([index[c] for c in test.labels])
    figures = {"before": classification_report(before.predict_proba(test.X, test.seq, test.n_points), y_test, classes)}
    card.write(models_dir)
    after = load_classifier(models_dir)
    figures["after"] = classification_report(after.predict_proba(test.X, test.seq, test.n_points), y_test, classes)
    entry = report["models"].get(ENSEMBLE, {})
    entry.update(weights=card.weights, temperatures=card.temperatures, prior=card.prior, prior_alpha=card.prior_alpha,
                 macro_f1=figures["after"]["macro_f1"], balanced_accuracy=figures["after"]["balanced_accuracy"],
                 ece=figures["after"]["ece"])
    report["models"][ENSEMBLE] = entry
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    out = {"weights": card.weights, "prior_alpha": adjustment.alpha,
           "validation_macro_f1": {"unadjusted": adjustment.macro_f1_unadjusted, "adjusted": adjustment.macro_f1},
           "test": {k: {m: figures[k][m] for m in ("macro_f1", "balanced_accuracy", "ece")} for k in figures}}
    log.info("refitted %s: %s", models_dir / ENSEMBLE_FILE, out)
    return out
