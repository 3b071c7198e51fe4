"""The training material of ``varstream train``: features, split, balancing, GP augmentation and
survey emulation.

1. features of every curve of the dataset (cached, :mod:`.feature_cache`);
2. a stratified train / validation / test split by star (no star in two parts);
3. balancing of the training part: big classes capped, rare classes topped up with GP-synthetic
   curves (:mod:`.augment`);
4. survey emulation (:mod:`.emulate`): every training curve, real and synthetic, re-observed by
   other surveys and cut to prefixes; the held-out stars are emulated too (the same recipe, other
   seeds), but only to fit the ensemble on validation and to report how the models do on
   emulated versions of test stars — emulated curves of a held-out star never enter training.
5. simulated non-periodic curves (:mod:`.nonperiodic`, class ``NONPER``) on the emulated surveys'
   cadences: a training set, and validation and test sets of their own seeds that join the
   emulated validation and test rows — no held-out simulated curve is trained on.

Emulated tables are cached like the dataset's (keyed by the stars, the seed and the settings).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from varstream.lightcurve import LightCurve, PipelineConfig
from varstream.lightcurve.loaders.dataset import Dataset, default_data_root
from varstream.lightcurve.taxonomy import CATALINA_CLASSES, NONPERIODIC
from varstream.offline import emulate, nonperiodic
from varstream.offline.augment import augment
from varstream.offline.feature_cache import FeatureTable, cached_table, dataset_table, featurise_curves
from varstream.offline.split import balance_plan, stratified_split
from varstream.offline.train_config import TrainConfig
from varstream.offline.weights import row_weights

log = logging.getLogger(__name__)

#: Seed offsets (added to the run's seed) of the emulations of the training, validation and test parts.
TRAIN_EMULATION_SEED, VAL_EMULATION_SEED, TEST_EMULATION_SEED = 101, 202, 303
#: Seed offsets of the simulated non-periodic curves of the training, validation and test parts.
TRAIN_NONPERIODIC_SEED, VAL_NONPERIODIC_SEED, TEST_NONPERIODIC_SEED = 404, 505, 606


@dataclass
class Prepared:
    """The training material.

    Attributes:
        classes: the class order of every model's output.
        table, data_hash: the features of every real curve of the dataset and its hash.
        train: the rows the models learn from (balanced real rows, synthetic rows, and emulated
            versions of both); ``train_real``: the balanced real rows alone.
        val, test: the real held-out stars; ``val_emulated``, ``test_emulated``: emulated versions of
            them (empty without emulation).
        y_*: class indices of the parts.
        n_synthetic: synthetic curves made per class; ``n_emulated``: emulated training rows.
        columns: the feature columns the feature models read.
        train_weights: each training row's weight in the loss (:mod:`.weights`, the run's ``weighting``).
    """

    classes: list[str]
    table: FeatureTable
    data_hash: str
    train: FeatureTable
    val: FeatureTable
    test: FeatureTable
    val_emulated: FeatureTable
    test_emulated: FeatureTable
    n_synthetic: dict[str, int]
    n_emulated: int
    train_real: FeatureTable
    columns: list[int]
    train_weights: np.ndarray | None = None

    def indices(self, labels: np.ndarray) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[c] for c in labels], dtype=np.int64)

    @property
    def y_train(self) -> np.ndarray:
        return self.indices(self.train.labels)

    @property
    def y_val(self) -> np.ndarray:
        return self.indices(self.val.labels)

    @property
    def y_test(self) -> np.ndarray:
        return self.indices(self.test.labels)

    @property
    def val_all(self) -> FeatureTable:
        """Validation rows, real and emulated (what the ensemble is fitted on)."""
        return FeatureTable.concat([self.val, self.val_emulated]) if len(self.val_emulated) else self.val


def _class_order(counts: Counter, config: TrainConfig) -> list[str]:
    if config.classes:
        return list(config.classes)
    eligible = [c for c, n in counts.items() if n >= config.min_class_count and c]
    catalina = [c for c in CATALINA_CLASSES if c in eligible]
    return catalina + sorted(c for c in eligible if c not in catalina)


def _read_curves(dataset: Dataset, ids: set[str]) -> dict[str, LightCurve]:
    return {lc.object_id: lc for lc in dataset.iter_lightcurves(ids=ids)}


def _synthetic_curves(curves: dict[str, LightCurve], train_ids: np.ndarray, train_labels: np.ndarray,
                      needed: dict[str, int], config: TrainConfig) -> list[LightCurve]:
    """GP-synthetic curves of the classes in ``needed``, from real training stars only."""
    rng = np.random.default_rng(config.seed)
    template_ids = rng.choice(sorted(train_ids.tolist()), size=min(config.augment_templates, train_ids.size),
                              replace=False)
    templates = [curves[i] for i in template_ids if i in curves]
    synthetic = []
    for i, (label, count) in enumerate(sorted(needed.items())):
        sources = [curves[s] for s in train_ids[train_labels == label] if s in curves]
        synthetic += augment(sources, templates, count, seed=config.seed + i)
    return synthetic


def feature_columns(table: FeatureTable, config: TrainConfig) -> list[int]:
    """Columns the feature models read: all but the excluded ones and those that carry nothing in
    the training rows (constant, or missing everywhere — e.g. the absolute magnitude of a survey
    without distances, which a model would otherwise meet for the first time in the stream)."""
    keep = []
    for i, name in enumerate(table.names):
        x = table.X[:, i]
        finite = x[np.isfinite(x)]
        if name in config.exclude_features or finite.size == 0 or np.ptp(finite) == 0:
            continue
        keep.append(i)
    return keep


def emulated_table(dataset: Dataset, data_hash: str, part: str, curves: list[LightCurve], surveys: list,
                   per_curve: int, prefixes: int, seed: int, survey_data: str | None, jobs: int,
                   cache_dir: Path | None, pipeline: PipelineConfig) -> FeatureTable:
    """The featurised emulations (:func:`~varstream.offline.emulate.plan`) of ``curves``, cached;
    rows that could not be emulated or featurised are left out."""
    plan = emulate.plan(curves, surveys, per_curve, prefixes, seed)
    key = (f"{data_hash}|{part}|{seed}|{per_curve}|{prefixes}|{[s.name for s in surveys]}|{emulate.EMULATION_VERSION}|"
           f"{sorted(c.object_id for c in curves)}|{survey_data}|{pipeline}")
    return _featurised_rows(plan, f"{dataset.name}-emulated-{part}", key, f"emulated {part}", jobs, cache_dir, pipeline)


def _featurised_rows(items: list, name: str, key: str, desc: str, jobs: int, cache_dir: Path | None,
                     pipeline: PipelineConfig) -> FeatureTable:
    """The featurised ``items`` (built in the workers) that could be featurised, cached under ``name`` and ``key``."""
    def build() -> FeatureTable:
        table = featurise_curves(items, pipeline, jobs, total=len(items), desc=desc)
        return table.subset(np.flatnonzero(table.ok))

    return cached_table(cache_dir, name, key, build)


def held_out_count(n_train: int, config: TrainConfig) -> int:
    """Simulated curves for validation (and as many for test): in the split's proportion to ``n_train``."""
    return max(1, round(n_train * config.val_fraction / (1.0 - config.val_fraction - config.test_fraction)))


def nonperiodic_features(part: str, n: int, surveys: list, seed: int, jobs: int, cache_dir: Path | None,
                         pipeline: PipelineConfig) -> FeatureTable:
    """The featurised simulated non-periodic curves (:func:`~varstream.offline.nonperiodic.plan`) of
    one part, cached; curves that could not be featurised are left out."""
    sims = nonperiodic.plan(n, surveys, seed)
    key = (f"nonperiodic|{part}|{seed}|{n}|{[s.name for s in surveys]}|{nonperiodic.NONPERIODIC_VERSION}|"
           f"{nonperiodic.source_sha256()}|{pipeline}")
    return _featurised_rows(sims, f"nonperiodic-{part}", key, f"non-periodic {part}", jobs, cache_dir, pipeline)


def prepare(dataset: Dataset, config: TrainConfig, cache_dir: Path | None = None) -> Prepared:
    """Features, split, balancing, augmentation and emulation of a dataset (see the module notes)."""
    jobs = config.jobs or os.cpu_count() or 1
    table, data_hash = dataset_table(dataset, cache_dir, jobs, config.pipeline, limit=config.limit)
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
    val, test = table.subset(val_rows), table.subset(test_rows)

    augmenting = config.augment and bool(needed)
    emulating = config.emulations > 0 or config.prefixes > 0
    if config.nonperiodic > 0 and NONPERIODIC not in classes:
        classes = classes + [NONPERIODIC]
    wanted: set[str] = set()
    if augmenting:
        wanted |= set(table.object_ids[train_rows].tolist())
    if emulating:
        wanted |= set(train_real.object_ids.tolist()) | set(val.object_ids.tolist()) | set(test.object_ids.tolist())
    curves = _read_curves(dataset, wanted) if wanted else {}

    parts = [train_real]
    synthetic: list[LightCurve] = []
    made: dict[str, int] = {}
    if augmenting:
        synthetic = _synthetic_curves(curves, table.object_ids[train_rows], labels[train_rows], needed, config)
        if synthetic:
            aug = featurise_curves(synthetic, config.pipeline, jobs, total=len(synthetic), desc="synthetic features")
            kept = np.flatnonzero(aug.ok)
            synthetic = [synthetic[i] for i in kept]
            aug = aug.subset(kept)
            made = dict(Counter(aug.labels.tolist()))
            parts.append(aug)
    empty = FeatureTable.empty(config.pipeline.sequence_length)
    val_emulated, test_emulated, n_emulated = empty, empty, 0
    surveys: list = []
    if emulating or config.nonperiodic > 0:
        root = Path(config.survey_data) if config.survey_data else default_data_root()
        surveys = emulate.default_surveys(root)
        log.info("emulated surveys %s", [s.name for s in surveys])
    if emulating:
        train_curves = [curves[i] for i in train_real.object_ids if i in curves] + synthetic
        emulated = emulated_table(dataset, data_hash, "train", train_curves, surveys, config.emulations,
                                  config.prefixes, config.seed + TRAIN_EMULATION_SEED, config.survey_data, jobs, cache_dir, config.pipeline)
        n_emulated = len(emulated)
        parts.append(emulated)
        val_emulated = emulated_table(dataset, data_hash, "val", [curves[i] for i in val.object_ids if i in curves],
                                      surveys, 1, 1, config.seed + VAL_EMULATION_SEED, config.survey_data, jobs, cache_dir, config.pipeline)
        test_emulated = emulated_table(dataset, data_hash, "test", [curves[i] for i in test.object_ids if i in curves],
                                       surveys, 1, 1, config.seed + TEST_EMULATION_SEED, config.survey_data, jobs, cache_dir, config.pipeline)
    if config.nonperiodic > 0:
        held_out = held_out_count(config.nonperiodic, config)
        parts.append(nonperiodic_features("train", config.nonperiodic, surveys, config.seed + TRAIN_NONPERIODIC_SEED,
                                          jobs, cache_dir, config.pipeline))
        val_emulated = FeatureTable.concat([val_emulated, nonperiodic_features(
            "val", held_out, surveys, config.seed + VAL_NONPERIODIC_SEED, jobs, cache_dir, config.pipeline)])
        test_emulated = FeatureTable.concat([test_emulated, nonperiodic_features(
            "test", held_out, surveys, config.seed + TEST_NONPERIODIC_SEED, jobs, cache_dir, config.pipeline)])
    train = FeatureTable.concat(parts) if len(parts) > 1 else parts[0]
    prepared = Prepared(classes, table, data_hash, train, val, test, val_emulated, test_emulated, made, n_emulated,
                        train_real, feature_columns(train, config))
    prepared.train_weights = row_weights(config.weighting, train.object_ids, prepared.y_train, len(classes),
                                         config.class_power)
    return prepared


def describe(config: TrainConfig) -> dict:
    """The settings as JSON-able values (for the training report)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}
