"""Features of many curves: the one path that featurises a dataset (in worker processes, with a
progress bar), and its on-disk cache.

The cache key is the sha256 of the dataset's files, the feature version, the loader version and
the pipeline configuration, so a changed dataset, feature code, loader or setting never reuses
stale rows. Training, evaluation and ``varstream features`` all read their tables from here.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from tqdm import tqdm

from varstream.hashing import sha256_files
from varstream.lightcurve import FEATURE_VERSION, LightCurve, LightCurveError, PipelineConfig, featurise, feature_names
from varstream.lightcurve.loaders.dataset import Dataset
from varstream.offline.emulate import Emulation, build_safely
from varstream.offline.nonperiodic import Simulation

#: Bumped whenever a loader turns the same files into different curves (2: V/g merged by
#: ``merge_bands``; 3: labels normalised by the loaders, the pipeline merges the bands), so cached
#: features of the old curves are not reused.
LOADER_VERSION = "3"

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$VARSTREAM_CACHE``, else ``~/.cache/varstream``."""
    return Path(os.environ.get("VARSTREAM_CACHE", Path.home() / ".cache" / "varstream"))


def dataset_hash(dataset: Dataset) -> str:
    """sha256 of every data file of the dataset directory (names and contents, sorted by name)."""
    return sha256_files(sorted(p for p in dataset.path.iterdir() if p.is_file() and p.suffix != ".md"))


@dataclass
class FeatureTable:
    """Features, GRU sequences and metadata of many curves (row i is one star).

    Attributes:
        object_ids, labels: star ids and class labels ("" when unknown).
        X: ``(n, n_features)`` float64 features (NaN only for a missing absolute magnitude).
        seq: ``(n, length, 5)`` float32 GRU sequences; ``seq_len`` their real lengths.
        periods: Lomb–Scargle periods in days.
        errors: "" for featurised rows, else the reason the star could not be featurised
            (its features are NaN and it is left out of training and evaluation).
        bands: the band of each featurised curve; ``n_points``: points after cleaning (the raw
            count for failed rows); ``baselines``: time span of the cleaned curve in days.
        names: feature names; ``version``: feature version.
    """

    object_ids: np.ndarray
    labels: np.ndarray
    X: np.ndarray
    seq: np.ndarray
    seq_len: np.ndarray
    periods: np.ndarray
    errors: np.ndarray
    bands: np.ndarray
    n_points: np.ndarray
    baselines: np.ndarray
    names: tuple[str, ...]
    version: str = FEATURE_VERSION

    ROW_FIELDS = ("object_ids", "labels", "X", "seq", "seq_len", "periods", "errors", "bands", "n_points",
                  "baselines")

    def __len__(self) -> int:
        return int(self.object_ids.size)

    @property
    def ok(self) -> np.ndarray:
        """Rows that were featurised."""
        return self.errors == ""

    def subset(self, index: np.ndarray) -> FeatureTable:
        return FeatureTable(*(getattr(self, f)[index] for f in self.ROW_FIELDS), self.names, self.version)

    @staticmethod
    def concat(tables: list[FeatureTable]) -> FeatureTable:
        first = tables[0]
        return FeatureTable(*(np.concatenate([getattr(t, f) for t in tables]) for f in FeatureTable.ROW_FIELDS),
                            first.names, first.version)

    @staticmethod
    def empty(sequence_length: int) -> FeatureTable:
        n_feat = len(feature_names())
        return FeatureTable(np.array([], dtype=str), np.array([], dtype=str), np.empty((0, n_feat)),
                            np.empty((0, sequence_length, 5), np.float32), np.empty(0, int), np.empty(0),
                            np.array([], dtype=str), np.array([], dtype=str), np.empty(0, int), np.empty(0),
                            feature_names())

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{f: getattr(self, f) for f in self.ROW_FIELDS}, names=np.array(self.names),
                 version=np.array(self.version))
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> FeatureTable:
        with np.load(path, allow_pickle=False) as z:
            return FeatureTable(*(z[f] for f in FeatureTable.ROW_FIELDS), tuple(z["names"].tolist()),
                                str(z["version"]))


def _featurise_one(args: tuple[LightCurve | Emulation, PipelineConfig]) -> tuple:
    item, config = args
    if isinstance(item, Simulation):
        lc = item.build()
    elif isinstance(item, Emulation):
        lc = build_safely(item)
        if lc is None:
            return (f"{item.source.object_id}@{item.survey}{item.tag}", item.source.label or "",
                    np.full(len(feature_names()), np.nan), np.zeros((config.sequence_length, 5), np.float32), 0,
                    np.nan, "could not be emulated", "", 0, np.nan)
    else:
        lc = item
    try:
        f = featurise(lc, config)
    except LightCurveError as err:
        return (lc.object_id, lc.label or "", np.full(len(feature_names()), np.nan),
                np.zeros((config.sequence_length, 5), np.float32), 0, np.nan, err.reason, lc.band, len(lc), np.nan)
    return (lc.object_id, lc.label or "", f.features.values, f.sequence, f.sequence_length, f.period.period, "",
            f.band, f.n_points, f.baseline_days)


def featurise_curves(curves: Iterable[LightCurve | Emulation | Simulation], config: PipelineConfig = PipelineConfig(),
                     jobs: int = 1, total: int | None = None, desc: str = "features") -> FeatureTable:
    """Featurise curves (in ``jobs`` processes, with a progress bar of ``total`` curves) into a
    table, in input order; a curve that cannot be featurised keeps its row with the reason. An
    :class:`~varstream.offline.emulate.Emulation` or :class:`~varstream.offline.nonperiodic.Simulation`
    is built into its curve in the worker process."""
    items = ((lc, config) for lc in curves)
    if jobs > 1:
        pool = mp.get_context("fork").Pool(jobs)
        results = pool.imap(_featurise_one, items, chunksize=8)
    else:
        pool = None
        results = map(_featurise_one, items)
    rows = list(tqdm(results, total=total, desc=desc, unit="curve", disable=None))
    if pool is not None:
        pool.close()
        pool.join()
    if not rows:
        return FeatureTable.empty(config.sequence_length)
    ids, labels, X, seq, seq_len, periods, errors, bands, n_points, baselines = zip(*rows)
    return FeatureTable(np.array(ids), np.array(labels), np.vstack(X), np.stack(seq).astype(np.float32),
                        np.array(seq_len), np.array(periods, dtype=float), np.array(errors), np.array(bands),
                        np.array(n_points), np.array(baselines, dtype=float), feature_names())


def source_hash(root: Path) -> str:
    """sha256 of the source under the package directory ``root`` that turns curves into features:
    every module of ``lightcurve/`` (loaders included), the survey emulation and the GP augmentation."""
    files = sorted((root / "lightcurve").rglob("*.py"))
    return sha256_files(files + [root / "offline" / "emulate.py", root / "offline" / "augment.py"])


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """:func:`source_hash` of this installation — so a table computed by other code (a change that
    kept the feature version) is never reused. Computed once per process (at import), so a source
    file edited while a long run is under way cannot relabel its tables."""
    return source_hash(Path(__file__).resolve().parents[1])


code_hash()                     # at import: the code this process runs


def cached_table(cache_dir: Path | None, name: str, key: str, build: Callable[[], FeatureTable]) -> FeatureTable:
    """The table ``build()`` makes, kept in ``cache_dir`` under ``name`` and a hash of ``key`` (a
    string that names everything the table depends on) and of the code (:func:`code_hash`)."""
    digest = hashlib.sha256(f"{FEATURE_VERSION}|{LOADER_VERSION}|{code_hash()}|{key}".encode()).hexdigest()[:16]
    path = (cache_dir or default_cache_dir()) / f"{name}-fv{FEATURE_VERSION}-{digest}.npz"
    if path.exists():
        log.info("%s from cache %s", name, path)
        return FeatureTable.load(path)
    table = build()
    table.save(path)
    return table


def dataset_table(dataset: Dataset, cache_dir: Path | None = None, jobs: int | None = None,
                  config: PipelineConfig = PipelineConfig(), limit: int | None = None,
                  **reader_options) -> tuple[FeatureTable, str]:
    """The features of a whole dataset (or its first ``limit`` curves) and the dataset hash, from
    the cache when present."""
    data_hash = dataset_hash(dataset)
    jobs = jobs or os.cpu_count() or 1

    def build() -> FeatureTable:
        return featurise_curves(dataset.iter_lightcurves(limit=limit, **reader_options), config, jobs,
                                dataset.count(limit), desc=f"features {dataset.name}")

    key = f"{data_hash}|{config!r}|{limit}|{sorted(reader_options.items())}"
    return cached_table(cache_dir, dataset.name, key, build), data_hash
