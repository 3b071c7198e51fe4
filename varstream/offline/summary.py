"""``varstream data``: what a dataset holds — classes and curve-length statistics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from varstream.lightcurve.loaders.dataset import Dataset
from varstream.lightcurve.taxonomy import family_of


@dataclass
class DatasetSummary:
    """Counts per class and the distribution of curve lengths (points) and spans (days)."""

    name: str
    kind: str
    path: str
    n_curves: int
    classes: Counter
    points: np.ndarray
    spans_days: np.ndarray

    def format(self) -> str:
        lines = [f"{self.name}  ({self.kind} layout)  {self.path}", f"  light curves: {self.n_curves}"]
        if self.points.size:
            p = np.percentile(self.points, [0, 10, 50, 90, 100]).astype(int)
            s = np.percentile(self.spans_days, [0, 50, 100])
            lines.append(f"  points per curve: min {p[0]}  p10 {p[1]}  median {p[2]}  p90 {p[3]}  max {p[4]}")
            lines.append(f"  time span (days): min {s[0]:.1f}  median {s[1]:.1f}  max {s[2]:.1f}")
        lines.append("  classes (light curves per catalogue class):")
        for label, count in sorted(self.classes.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            lines.append(f"    {str(label):10s} {count:7d}")
        families: Counter = Counter()
        for label, count in self.classes.items():
            families[family_of(str(label)) or "(none)"] += count
        lines.append("  families (" + ", ".join(f"{f} {n}" for f, n in sorted(families.items(), key=lambda kv: -kv[1]))
                     + ")")
        return "\n".join(lines)


def summarise(dataset: Dataset, limit: int | None = None) -> DatasetSummary:
    """Read every curve of a dataset (or the first ``limit``) and summarise it."""
    classes: Counter = Counter()
    points, spans = [], []
    bar = tqdm(dataset.iter_lightcurves(limit=limit), total=dataset.count(limit), desc=f"reading {dataset.name}",
               unit="curve", disable=None, leave=False)
    for lc in bar:
        classes[lc.label or "(unlabelled)"] += 1
        points.append(len(lc))
        spans.append(lc.baseline)
    return DatasetSummary(dataset.name, dataset.kind, str(dataset.path), len(points), classes,
                          np.array(points), np.array(spans))
