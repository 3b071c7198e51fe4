"""Training weights: how much each row of the training set counts in a model's loss.

A training row is a real star, one of its GP-synthetic copies (``synthetic:<star>:<k>``), an
emulation of either (``…@<survey>#<k>``, ``…[:<N>]``) or a simulated non-periodic curve
(``sim-…``, its own source). Two weightings (:data:`WEIGHTINGS`):

- ``class`` (what the shipped models were trained with): every class weighs the same in total,
  spread evenly over its rows — a rare class's few stars, each copied ~28 times, then weigh as
  much as a common class's thousands;
- ``star``: each source star's rows share **one unit** (so copies add variety, not weight), and
  each class's units are scaled by ``(N / (k · N_c))^class_power`` with ``N_c`` its source stars
  (``class_power`` 1: classes balanced by stars; 0: the training population's own mix).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

WEIGHTINGS = ("class", "star")


def source_star(object_id: str) -> str:
    """The star a training row was made from (the row's own id for a real star or a simulated curve)."""
    if object_id.startswith("sim-"):
        return object_id
    base = object_id.split("@")[0].split("[:")[0]
    if base.startswith("synthetic:"):
        return base.split(":")[1]
    return base


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Per row: ``n / (k · n_c)`` with ``n_c`` the rows of its class (every class the same total)."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return (y.size / (n_classes * np.maximum(counts, 1.0)))[y]


def star_weights(object_ids: np.ndarray, y: np.ndarray, n_classes: int, class_power: float = 1.0) -> np.ndarray:
    """Per row: ``1 / (rows of its source star)`` times its class's factor (see the module notes),
    scaled so the weights average 1."""
    sources = [source_star(str(i)) for i in object_ids]
    rows_of = Counter(sources)
    unit = np.array([1.0 / rows_of[s] for s in sources])
    stars_in = np.zeros(n_classes)
    for s, c in {(s, int(c)) for s, c in zip(sources, y)}:
        stars_in[c] += 1
    present = stars_in > 0
    factor = np.ones(n_classes)
    factor[present] = (stars_in[present].sum() / (present.sum() * stars_in[present])) ** class_power
    w = unit * factor[y]
    return w * (w.size / w.sum())


def row_weights(weighting: str, object_ids: np.ndarray, y: np.ndarray, n_classes: int,
                class_power: float = 1.0) -> np.ndarray:
    """The weights of ``weighting`` (:data:`WEIGHTINGS`) for the training rows."""
    if weighting == "class":
        return class_weights(y, n_classes)
    if weighting == "star":
        return star_weights(object_ids, y, n_classes, class_power)
    raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {weighting!r}")
