"""Stratified train / validation / test splits by star, and class balancing of the training set."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Row indices of each part; every star is in exactly one part."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def stratified_split(labels: np.ndarray, val_fraction: float = 0.15, test_fraction: float = 0.15,
                     seed: int = 0) -> Split:
    """Split row indices so each class keeps its proportions in every part (deterministic per seed).

    Each class is shuffled and cut at ``val_fraction`` and ``test_fraction`` of its size (at least one
    star each to validation and test when the class has 3 or more). Rows are stars, so no star can
    appear in two parts.
    """
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for label in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == label)
        idx = idx[rng.permutation(idx.size)]
        n = idx.size
        n_test = int(round(test_fraction * n))
        n_val = int(round(val_fraction * n))
        if n >= 3:
            n_test, n_val = max(n_test, 1), max(n_val, 1)
        test.append(idx[:n_test])
        val.append(idx[n_test : n_test + n_val])
        train.append(idx[n_test + n_val :])
    return Split(*(np.sort(np.concatenate(p)).astype(np.int64) for p in (train, val, test)))


def balance_plan(labels: np.ndarray, cap: int, floor: int) -> tuple[np.ndarray, dict[str, int]]:
    """Which training rows to keep and how many synthetic curves each class needs.

    Classes larger than ``cap`` are subsampled to ``cap`` (deterministic: the first rows in a fixed
    shuffle); classes smaller than ``floor`` get ``floor - n`` synthetic curves.

    Returns:
        ``(kept row indices, {class: number of synthetic curves})``.
    """
    rng = np.random.default_rng(12345)
    keep, needed = [], {}
    for label, n in sorted(Counter(labels.tolist()).items()):
        idx = np.flatnonzero(labels == label)
        if n > cap:
            idx = np.sort(idx[rng.permutation(n)[:cap]])
        keep.append(idx)
        if n < floor:
            needed[label] = floor - n
    return np.sort(np.concatenate(keep)), needed
