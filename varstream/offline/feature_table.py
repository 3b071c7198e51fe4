"""``varstream features``: one row of features per star of a dataset, as CSV or Parquet.

A star that cannot be featurised still gets a row: its features are empty and ``error`` holds
the reason (the :class:`LightCurveError` message). Nothing vanishes.
"""

from __future__ import annotations

import csv
import logging
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
from tqdm import tqdm

from varstream.lightcurve import FEATURE_VERSION, LightCurve, LightCurveError, PipelineConfig, featurise, feature_names
from varstream.lightcurve.loaders.dataset import Dataset

log = logging.getLogger(__name__)

ID_COLUMNS = ("object_id", "label", "band", "n_points", "baseline_days", "period_days", "feature_version", "error")


@dataclass
class TableStats:
    """How many rows were written and how many stars failed, by reason."""

    rows: int = 0
    failed: int = 0
    nonfinite_optional: int = 0


def feature_row(lc: LightCurve, config: PipelineConfig = PipelineConfig()) -> dict[str, Any]:
    """The output row of one star; never raises for bad input (the error goes in the row)."""
    row: dict[str, Any] = {"object_id": lc.object_id, "label": lc.label or "", "band": lc.band,
                           "feature_version": FEATURE_VERSION}
    try:
        result = featurise(lc, config)
    except LightCurveError as exc:
        row.update(n_points=len(lc), baseline_days="", period_days="", error=exc.reason)
        row.update({name: "" for name in feature_names()})
        return row
    row.update(n_points=result.n_points, baseline_days=round(result.baseline_days, 4),
               period_days=result.period.period, error="")
    row.update(result.features.as_dict())
    return row


def _worker(args: tuple[LightCurve, PipelineConfig]) -> dict[str, Any]:
    return feature_row(*args)


def iter_rows(curves: Iterable[LightCurve], jobs: int = 1,
              config: PipelineConfig = PipelineConfig()) -> Iterator[dict[str, Any]]:
    """Feature rows in input order, computed in ``jobs`` processes."""
    if jobs <= 1:
        for lc in curves:
            yield feature_row(lc, config)
        return
    with mp.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_worker, ((lc, config) for lc in curves), chunksize=8)


def _blank_to_nan(value: Any) -> Any:
    return float("nan") if value == "" else value


def write_table(dataset: Dataset, out: str | Path, limit: int | None = None, jobs: int = 1,
                config: PipelineConfig = PipelineConfig(), **reader_options) -> TableStats:
    """Compute features for a dataset and write them to ``out`` (``.csv`` or ``.parquet``).

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
    columns = list(ID_COLUMNS) + list(feature_names())
    total = limit
    if total is None and dataset.kind == "catalina":
        total = len(dataset.catalogue_labels())
    rows = iter_rows(dataset.iter_lightcurves(limit=limit, **reader_options), jobs=jobs, config=config)
    bar = tqdm(rows, total=total, desc=f"features {dataset.name}", unit="curve", disable=None)
    stats = TableStats()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for row in bar:
                writer.writerow(row)
                _count(stats, row)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        collected: list[dict[str, Any]] = []
        for row in bar:
            collected.append(row)
            _count(stats, row)
        numeric = set(columns) - {"object_id", "label", "band", "feature_version", "error"}
        data = {c: [(_blank_to_nan(r[c]) if c in numeric else r[c]) for r in collected] for c in columns}
        pq.write_table(pa.table(data), out)
    return stats


def _count(stats: TableStats, row: dict[str, Any]) -> None:
    stats.rows += 1
    if row["error"]:
        stats.failed += 1
        log.info("star %s not featurised: %s", row["object_id"], row["error"])
    elif not np.isfinite(float(row["abs_mag"])):
        stats.nonfinite_optional += 1
