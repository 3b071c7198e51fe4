"""``varstream features``: one row of features per star of a dataset, as CSV or Parquet.

The rows come from the one featurising path (:func:`~varstream.offline.feature_cache.dataset_table`,
cached). A star that cannot be featurised still gets a row: its features are empty and ``error``
holds the reason (the :class:`~varstream.lightcurve.LightCurveError` message). Nothing vanishes.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from varstream.lightcurve import feature_names
from varstream.lightcurve.loaders.dataset import Dataset
from varstream.lightcurve.taxonomy import family_of
from varstream.offline.feature_cache import FeatureTable, dataset_table

log = logging.getLogger(__name__)

ID_COLUMNS = ("object_id", "label", "family", "band", "n_points", "baseline_days", "period_days", "feature_version", "error")


@dataclass
class TableStats:
    """How many rows were written, how many stars failed, how many lack a distance."""

    rows: int = 0
    failed: int = 0
    nonfinite_optional: int = 0


def feature_rows(table: FeatureTable) -> Iterator[dict[str, Any]]:
    """One output row per star (numbers as floats, NaN where a failed star has no value)."""
    for i in range(len(table)):
        ok = table.errors[i] == ""
        row: dict[str, Any] = {"object_id": str(table.object_ids[i]), "label": str(table.labels[i]),
                               "family": family_of(str(table.labels[i])) or "", "band": str(table.bands[i]),
                               "n_points": int(table.n_points[i]),
                               "baseline_days": round(float(table.baselines[i]), 4) if ok else float("nan"),
                               "period_days": float(table.periods[i]), "feature_version": table.version,
                               "error": str(table.errors[i])}
        row.update(zip(table.names, (float(v) for v in table.X[i])))
        yield row


def write_table(dataset: Dataset, out: str | Path, limit: int | None = None, jobs: int = 1,
                cache_dir: Path | None = None, **reader_options) -> TableStats:
    """Compute (or read from the cache) the features of a dataset and write them to ``out``
    (``.csv``: failed stars' numbers left blank, or ``.parquet``: NaN).

    Raises:
        ValueError: an unsupported file extension.
        ImportError: Parquet output without pyarrow (``pip install 'varstream[parquet]'``).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"output must end in .csv or .parquet, got {out.name}")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("Parquet output needs pyarrow: pip install 'varstream[parquet]'") from None
    table, _ = dataset_table(dataset, cache_dir, jobs, limit=limit, **reader_options)
    columns = list(ID_COLUMNS) + list(feature_names())
    stats = TableStats(rows=len(table), failed=int((~table.ok).sum()))
    ok = table.ok
    if "abs_mag" in table.names:
        stats.nonfinite_optional = int((ok & ~np.isfinite(table.X[:, table.names.index("abs_mag")])).sum())
    for oid, reason in zip(table.object_ids[~ok], table.errors[~ok]):
        log.info("star %s not featurised: %s", oid, reason)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for row in feature_rows(table):
                writer.writerow({k: ("" if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()})
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = list(feature_rows(table))
        pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), out)
    return stats
