"""Fitting the ensemble on validation data: member weights, the prior adjustment and a temperature
per curve length.

A model that is excellent on the training survey and collapses on others must not sink the
ensemble, so the weights are chosen on validation stars *and* their emulated versions (other
surveys' cadences and noise, prefixes): on a grid over the simplex (steps of ``step``), the
weights with the best mean of the two macro F1 scores win (ties: the most even weights).

The members learn from a class-balanced training set, so they answer as if every class were
equally common; the prior adjustment (:mod:`varstream.priors`) moves the weighted mean towards the
class mix of the real validation stars, ``p · π^α`` with ``α`` chosen for their macro F1 — fitted on
real rows only (the emulated rows are the same stars again and would only weigh the same mix).

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

from varstream import priors
from varstream.inference import calibrate
from varstream.lightcurve.taxonomy import NONPERIODIC, family_of
from varstream.modelcard import EnsembleCard

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


def fit_card(members: list[str], member_probs: np.ndarray, y: np.ndarray, emulated: np.ndarray,
             n_points: np.ndarray, fitted_on: str, classes: list[str] | None = None,
             **card_fields) -> tuple[EnsembleCard, priors.Adjustment]:
    """The whole combination, fitted in the order the stream applies it: weights
    (:func:`fit_weights`, real and emulated rows), the prior adjustment on the real rows
    (:func:`varstream.priors.fit_adjustment` with their class mix), the length temperatures on all
    rows, and the mix the published probabilities then assume on the real rows.

    Args:
        member_probs: ``(members, n, classes)`` validation probabilities; ``y`` class indices;
            ``emulated`` True for emulated rows; ``n_points`` points after cleaning.
        classes: the class names (order of the probabilities); a non-periodic class among them is
            kept out of the prior adjustment (``prior_fixed``: real validation stars are all
            periodic variables, so they say nothing of how common it is).
        card_fields: the rest of the :class:`~varstream.modelcard.EnsembleCard` (sha256s, pipeline).
    """
    k = member_probs.shape[2]
    fixed = np.array([family_of(c) == NONPERIODIC for c in classes] if classes else [False] * k)
    weights = fit_weights(member_probs, y, emulated)
    mean = np.tensordot(weights, member_probs, axes=1)
    real = ~emulated
    adjustment = priors.fit_adjustment(mean[real], y[real], priors.class_frequencies(y[real], k), fixed=fixed)
    adjusted = priors.adjust(mean, adjustment.prior, adjustment.alpha, fixed)
    temperatures = fit_length_temperatures(adjusted, y, n_points)
    published = apply(adjusted, n_points, temperatures)
    card = EnsembleCard(members, weights={m: float(w) for m, w in zip(members, weights)},
                        length_edges=list(LENGTH_EDGES), temperatures=temperatures, fitted_on=fitted_on,
                        prior=adjustment.prior, prior_alpha=adjustment.alpha,
                        prior_fixed=[c for c, f in zip(classes or [], fixed) if f],
                        output_prior=[float(v) for v in output_prior(published, real, fixed)], **card_fields)
    return card, adjustment


def output_prior(published: np.ndarray, real: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The class mix published probabilities assume: their mean over the real validation stars,
    except for the ``fixed`` (non-periodic) classes, whose share is their mean over every validation
    row (the real stars, all periodic, would put it near 0 although the classifier was trained with
    it as common as any class); the periodic classes share the rest."""
    mix = published[real].mean(axis=0)
    if not fixed.any():
        return priors.normalised(mix)
    share = published[:, fixed].mean(axis=0)
    periodic = np.where(fixed, 0.0, mix)
    return priors.normalised(np.where(fixed, share, periodic / periodic.sum() * (1.0 - share.sum())))
