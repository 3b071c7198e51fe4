"""Class priors: the adjustment the shipped classifier applies, and a survey's prior estimated from
its own unlabelled classifications.

A classifier trained on a class-balanced set answers as if every class were equally common. A
deployment's stars are not: on Catalina an RRab is ~100 times more common than an anomalous
Cepheid, so the balanced answer buys rare-class recall with rare-class precision. Bayes' rule
moves a posterior from one prior to another by reweighting (Saerens, Latinne & Decaestecker 2002,
*Neural Computation* 14, 21): ``p'(c|x) ∝ p(c|x) · π'(c) / π(c)``. The shipped adjustment is the
tempered form ``p'(c|x) ∝ p(c|x) · π(c)^α`` (a logit shift of ``α log π``), with ``π`` the class mix
of real validation stars and ``α`` chosen for macro F1 on them (:func:`fit_adjustment`): ``α = 0``
keeps the balanced answer, ``α = 1`` is the full Bayes move onto ``π``.

:func:`estimate_prior` is Saerens et al.'s EM: given posteriors computed under a known prior, it
finds the prior of an unlabelled sample that makes the reweighted posteriors' mean equal to the
prior itself — a survey's own class mix from its stream, without labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Smallest probability a prior gives a class (a class absent from a sample is rare, not impossible).
PRIOR_FLOOR = 1e-4
#: The exponents :func:`fit_adjustment` tries.
ALPHA_GRID = tuple(np.round(np.arange(0.0, 1.51, 0.1), 2))


def normalised(prior: np.ndarray) -> np.ndarray:
    """``prior`` floored at :data:`PRIOR_FLOOR` and rescaled to sum to 1."""
    p = np.maximum(np.asarray(prior, dtype=np.float64), PRIOR_FLOOR)
    return p / p.sum()


def adjust(probs: np.ndarray, prior: np.ndarray, alpha: float, fixed: np.ndarray | None = None) -> np.ndarray:
    """``p(c|x) · π(c)^α``, renormalised per row; ``probs`` is ``(n, classes)`` (or one row).

    ``fixed`` (a boolean mask over the classes) marks classes whose probability the adjustment
    keeps: the others are reweighted among themselves and share what is left — a prior over the
    periodic classes, fitted on a catalogue of periodic variables, must not say how common
    non-periodic sources are. ``alpha = 0`` or an empty ``prior`` returns ``probs`` unchanged.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if alpha == 0 or prior is None or len(prior) == 0:
        return probs
    out = probs * normalised(prior) ** alpha
    if fixed is None or not np.any(fixed):
        return out / out.sum(axis=-1, keepdims=True)
    fixed = np.asarray(fixed, dtype=bool)
    free = np.where(fixed, 0.0, out)
    rest = 1.0 - np.where(fixed, probs, 0.0).sum(axis=-1, keepdims=True)
    total = free.sum(axis=-1, keepdims=True)
    return np.where(fixed, probs, free * rest / np.where(total > 0, total, 1.0))


def reweight(probs: np.ndarray, new_prior: np.ndarray, old_prior: np.ndarray) -> np.ndarray:
    """Posteriors under ``old_prior`` moved onto ``new_prior`` (Bayes): ``p · π_new / π_old``, renormalised."""
    out = np.asarray(probs, dtype=np.float64) * (normalised(new_prior) / normalised(old_prior))
    return out / out.sum(axis=-1, keepdims=True)


def class_frequencies(y: np.ndarray, n_classes: int) -> np.ndarray:
    """The class mix of labelled rows (class indices), floored and normalised."""
    return normalised(np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes).astype(np.float64))


@dataclass(frozen=True)
class Adjustment:
    """A fitted prior adjustment: the prior ``π`` (class order of the model), its exponent ``α``
    and the macro F1 it reached on the rows it was fitted on (and with ``α = 0``)."""

    prior: list[float]
    alpha: float
    macro_f1: float
    macro_f1_unadjusted: float


def _macro_f1(y: np.ndarray, pred: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, labels=labels, average="macro", zero_division=0))


def fit_adjustment(probs: np.ndarray, y: np.ndarray, prior: np.ndarray,
                   alphas: tuple[float, ...] = ALPHA_GRID, fixed: np.ndarray | None = None) -> Adjustment:
    """The ``α`` of :data:`ALPHA_GRID` whose adjustment by ``prior`` (``fixed`` classes kept, see
    :func:`adjust`) gives the best macro F1 of ``probs`` (``(n, classes)``) against ``y`` (class
    indices); ties go to the smaller ``α`` (the smaller move). The F1 is over the classes present in ``y``."""
    y = np.asarray(y, dtype=np.int64)
    labels = np.unique(y)
    scores = [_macro_f1(y, adjust(probs, prior, a, fixed).argmax(axis=1), labels) for a in alphas]
    best = int(np.argmax(np.asarray(scores) > max(scores) - 1e-9))
    return Adjustment([float(v) for v in normalised(prior)], float(alphas[best]), float(scores[best]),
                      float(scores[alphas.index(0.0)] if 0.0 in alphas else _macro_f1(y, probs.argmax(1), labels)))


@dataclass(frozen=True)
class PriorEstimate:
    """An EM estimate of a sample's class prior: the prior, the iterations run and whether it converged."""

    prior: np.ndarray
    iterations: int
    converged: bool


def estimate_prior(probs: np.ndarray, base_prior: np.ndarray, tolerance: float = 1e-6,
                   max_iterations: int = 500, start: np.ndarray | None = None) -> PriorEstimate:
    """Saerens et al. (2002)'s EM estimate of the class prior of the unlabelled rows ``probs``
    (``(n, classes)``, posteriors computed under ``base_prior``).

    E step: every row's posterior moved onto the current prior (:func:`reweight`); M step: the new
    prior is their mean. Starts from ``start`` (e.g. the previous estimate of a growing sample: a
    few iterations then suffice) or ``base_prior``; stops when no class moves by more than
    ``tolerance``.
    """
    probs = np.asarray(probs, dtype=np.float64)
    base = normalised(base_prior)
    if probs.ndim != 2 or probs.shape[0] == 0:
        return PriorEstimate(base, 0, False)
    prior = base.copy() if start is None else normalised(start)
    for it in range(1, max_iterations + 1):
        new = normalised(reweight(probs, prior, base).mean(axis=0))
        if np.max(np.abs(new - prior)) < tolerance:
            return PriorEstimate(new, it, True)
        prior = new
    return PriorEstimate(prior, max_iterations, False)
