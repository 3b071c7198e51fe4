"""Prior adjustment and the EM estimate of a sample's prior, against hand-computed answers and a
synthetic mixture with a known prior shift."""

import numpy as np
import pytest

from varstream.inference import Ensemble
from varstream.modelcard import EnsembleCard
from varstream.priors import adjust, class_frequencies, estimate_prior, fit_adjustment, normalised, reweight


def test_adjustment_by_hand():
    p = np.array([[0.5, 0.3, 0.2]])
    prior = np.array([0.8, 0.1, 0.1])
    # alpha = 1: 0.5*0.8, 0.3*0.1, 0.2*0.1 = 0.40, 0.03, 0.02 -> / 0.45
    np.testing.assert_allclose(adjust(p, prior, 1.0), [[0.40 / 0.45, 0.03 / 0.45, 0.02 / 0.45]], atol=1e-12)
    # alpha = 0.5: sqrt weights 0.8944, 0.3162, 0.3162
    w = np.sqrt(prior)
    expect = p * w / (p * w).sum()
    np.testing.assert_allclose(adjust(p, prior, 0.5), expect, atol=1e-12)
    assert adjust(p, prior, 0.0) is not None and np.array_equal(adjust(p, prior, 0.0), p)
    assert np.array_equal(adjust(p, [], 1.0), p)


def test_reweight_is_bayes_and_inverts():
    p = np.array([[0.6, 0.4]])
    moved = reweight(p, [0.9, 0.1], [0.5, 0.5])
    np.testing.assert_allclose(moved, [[0.54 / 0.58, 0.04 / 0.58]], atol=1e-12)
    np.testing.assert_allclose(reweight(moved, [0.5, 0.5], [0.9, 0.1]), p, atol=1e-12)


def test_class_frequencies_floor_absent_classes():
    f = class_frequencies(np.array([0, 0, 0, 1]), 3)
    assert f[2] > 0 and abs(f.sum() - 1) < 1e-12 and f[0] == pytest.approx(0.75, abs=1e-3)


def _mixture(prior: np.ndarray, n: int, rng: np.random.Generator, separation: float = 1.5):
    """Gaussian classes on a line; exact posteriors under a uniform training prior."""
    k = len(prior)
    y = rng.choice(k, size=n, p=prior)
    x = rng.normal(y * separation, 1.0)
    loglik = -0.5 * (x[:, None] - np.arange(k)[None, :] * separation) ** 2
    post = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    return post / post.sum(axis=1, keepdims=True), y


def test_em_recovers_a_known_prior_shift():
    rng = np.random.default_rng(3)
    true = np.array([0.70, 0.20, 0.07, 0.03])
    post, _ = _mixture(true, 20000, rng)            # posteriors under the uniform training prior
    est = estimate_prior(post, np.full(4, 0.25))
    assert est.converged
    np.testing.assert_allclose(est.prior, true, atol=0.02)
    assert abs(post.mean(axis=0)[0] - true[0]) > 0.1    # the naive mean of posteriors is far off


def test_em_from_a_warm_start_reaches_the_same_estimate_in_fewer_iterations():
    rng = np.random.default_rng(6)
    post, _ = _mixture(np.array([0.6, 0.25, 0.1, 0.05]), 20000, rng)
    cold = estimate_prior(post, np.full(4, 0.25))
    warm = estimate_prior(post, np.full(4, 0.25), start=cold.prior)
    np.testing.assert_allclose(warm.prior, cold.prior, atol=1e-5)
    assert warm.converged and warm.iterations < cold.iterations / 3


def test_em_keeps_the_base_prior_when_the_sample_matches_it():
    rng = np.random.default_rng(4)
    base = np.array([0.5, 0.3, 0.2])
    post, _ = _mixture(base, 20000, rng)
    post = reweight(post, base, np.full(3, 1 / 3))      # posteriors under the base prior itself
    np.testing.assert_allclose(estimate_prior(post, base).prior, base, atol=0.02)


def test_fit_adjustment_moves_a_balanced_model_to_a_skewed_population():
    rng = np.random.default_rng(5)
    true = np.array([0.85, 0.1, 0.05])
    post, y = _mixture(true, 6000, rng, separation=1.0)   # balanced-prior posteriors, skewed population
    fit = fit_adjustment(post, y, class_frequencies(y, 3))
    assert fit.alpha > 0 and fit.macro_f1 > fit.macro_f1_unadjusted
    even = np.full(3, 1 / 3)
    post_even, y_even = _mixture(even, 6000, rng, separation=1.0)
    assert fit_adjustment(post_even, y_even, class_frequencies(y_even, 3)).alpha <= 0.3   # nothing to move


def test_the_ensemble_applies_its_cards_prior_before_calibration():
    class Member:
        def __init__(self, probs):
            self.probs = probs
            self.card = type("C", (), {"classes": ["a", "b"], "name": "m", "sha256": "", "version": "",
                                       "feature_version": ""})()
            self.pipeline = None

    card = EnsembleCard(["m"], weights={"m": 1.0}, prior=[0.8, 0.2], prior_alpha=1.0, length_edges=[50],
                        temperatures=[2.0, 2.0])
    ens = Ensemble.__new__(Ensemble)
    ens.members, ens.card, ens.sha256 = [Member(None)], card, ""
    p = np.array([[[0.5, 0.5]]])
    # by hand: adjusted 0.8/0.2; temperature 2: sqrt -> 0.8944, 0.4472 -> 2/3, 1/3
    np.testing.assert_allclose(ens.combine(p, np.array([100])), [[2 / 3, 1 / 3]], atol=1e-12)
    np.testing.assert_allclose(ens.combine(p), [[0.8, 0.2]], atol=1e-12)
    np.testing.assert_allclose(ens.output_prior, [0.5, 0.5])
    assert normalised([0, 1])[0] > 0


def test_a_fixed_class_keeps_its_probability_and_the_others_share_the_rest():
    p = np.array([[0.5, 0.3, 0.2]])
    fixed = np.array([False, False, True])                    # e.g. NONPER: not in the fitted prior
    # by hand: free 0.5*0.8 = 0.40, 0.3*0.1 = 0.03, rescaled to the 0.8 the fixed class leaves
    np.testing.assert_allclose(adjust(p, [0.8, 0.1, 0.1], 1.0, fixed),
                               [[0.40 / 0.43 * 0.8, 0.03 / 0.43 * 0.8, 0.2]], atol=1e-12)
    np.testing.assert_allclose(adjust(p, [0.8, 0.1, 0.1], 1.0, np.zeros(3, bool)), adjust(p, [0.8, 0.1, 0.1], 1.0))


def test_the_fitted_card_keeps_the_nonperiodic_share_out_of_the_catalogue_prior():
    from varstream.offline.ensemble_fit import fit_card, output_prior

    rng = np.random.default_rng(5)
    classes = ["RRab", "EW", "NONPER"]
    real_y = rng.choice(2, size=400, p=[0.8, 0.2])            # a catalogue of periodic variables
    sim_y = np.full(200, 2)                                     # simulated non-periodic curves (not real)
    y = np.concatenate([real_y, sim_y])
    probs = np.full((y.size, 3), 0.1)
    probs[np.arange(y.size), y] = 0.8
    emulated = np.arange(y.size) >= real_y.size
    card, _ = fit_card(["m"], probs[None], y, emulated, np.full(y.size, 100), "test", classes=classes)
    assert card.prior_fixed == ["NONPER"]
    published = probs                                           # one member, one temperature bin: compare shares
    share = output_prior(published, ~emulated, np.array([False, False, True]))
    assert abs(share[2] - published[:, 2].mean()) < 1e-9 and share[2] > 0.2   # not the real rows' ~0.1
    assert abs(share.sum() - 1) < 1e-9 and share[0] > share[1]
