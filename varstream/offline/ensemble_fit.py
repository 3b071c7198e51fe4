"""Fitting the ensemble on validation data: member weights and a temperature per curve length.

A model that is excellent on the training survey and collapses on others must not sink the
ensemble, so the weights are chosen on validation stars *and* their emulated versions (other
surveys' cadences and noise, prefixes): on a grid over the simplex (steps of ``step``), the
weights with the best mean of the two macro F1 scores win (ties: the most even weights).

Confidence must mean the same at every curve length (a 30-point prefix is less certain than a
1,000-point curve), so after weighting, the probabilities of each length bin are temperature
scaled — ``p^(1/T)``, renormalised — with the ``T`` that minimises the negative log-likelihood of
the validation rows in that bin (Guo et al. 2017's temperature scaling, per bin). The result is an
:class:`~varstream.modelcard.EnsembleCard`; :mod:`varstream.inference` applies it.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import f1_score

from varstream.inference import calibrate

#: Upper edges of the length bins (points after cleaning) that get their own temperature.
LENGTH_EDGES = (35, 75, 150, 300)


def simplex_grid(members: int, step: float) -> list[np.ndarray]:
    """Every weight vector of ``members`` non-negative multiples of ``step`` summing to 1."""
    n = int(round(1.0 / step))
    out = []
    for combo in itertools.product(range(n + 1), repeat=members - 1):
        if sum(combo) <= n:
            out.append(np.array(list(combo) + [n - sum(combo)], dtype=float) / n)
    return out


def fit_weights(member_probs: np.ndarray, y: np.ndarray, emulated: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Weights ``(members,)`` maximising the mean macro F1 of real and emulated validation rows
    (one group's F1 alone when the other is empty).

    Args:
        member_probs: ``(members, n, classes)`` probabilities.
        y: class indices ``(n,)``.
        emulated: ``(n,)`` True for emulated rows.
    """
    labels = np.unique(y)
    groups = [g for g in (~emulated, emulated) if g.any()]
    best, best_score, best_spread = None, -1.0, np.inf
    for w in simplex_grid(member_probs.shape[0], step):
        pred = np.tensordot(w, member_probs, axes=1).argmax(axis=1)
        score = float(np.mean([f1_score(y[g], pred[g], labels=labels, average="macro", zero_division=0)
                               for g in groups]))
        spread = float(np.ptp(w))
        if score > best_score + 1e-9 or (abs(score - best_score) <= 1e-9 and spread < best_spread):
            best, best_score, best_spread = w, score, spread
    return best


def _temperature(probs: np.ndarray, y: np.ndarray) -> float:
    logp = np.log(np.clip(probs, 1e-12, 1.0))

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(y.size), y] - np.log(np.exp(z).sum(axis=1))).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-2.5, 2.5), method="bounded").x))


def fit_length_temperatures(probs: np.ndarray, y: np.ndarray, n_points: np.ndarray,
                            edges: tuple[int, ...] = LENGTH_EDGES, min_rows: int = 50) -> list[float]:
    """One temperature per length bin (1.0 for a bin with fewer than ``min_rows`` rows)."""
    which = np.minimum(np.searchsorted(np.asarray(edges), n_points, side="right"), len(edges))
    temps = []
    for b in range(len(edges) + 1):
        sel = which == b
        temps.append(_temperature(probs[sel], y[sel]) if sel.sum() >= min_rows else 1.0)
    return temps


def apply(probs: np.ndarray, n_points: np.ndarray, temperatures: list[float],
          edges: tuple[int, ...] = LENGTH_EDGES) -> np.ndarray:
    """The calibration the stream applies (:func:`varstream.inference.calibrate`)."""
    return calibrate(probs, n_points, list(edges), temperatures)
