"""Per-user shrinkage of the personal head (``residual_auto``): chosen from the user's own answers by their
marginal likelihood (empirical Bayes; or leave-one-out / k-fold), the global shrinkage kept unless the
answers show a clearly better one."""
from __future__ import annotations

import numpy as np
import pytest

from piaa_desktop.core.jobs import Cancelled, CancelToken
from piaa_desktop.core.personal.adapt import (LAMBDA_GRID, MIN_AUTO_ANSWERS, _loo_ratings, fit_residual, fit_residual_auto,
                                              personal_head, taste_blocks)
from piaa_desktop.core.personal.confidence import cross_validate
from piaa_desktop.lab import bench

from tests.test_taste import make_prior

D = 12
BLOCKS = np.array([0] * 4 + [1] * (D - 4))


def _data(n, seed, signal):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D))
    w = np.zeros(D)
    w[1] = 1.0  # a taste along one named direction (a head column)
    z = signal * (x @ w) + rng.normal(size=n)
    return x, z, w


def test_loo_errors_match_refitting_without_each_answer():
    rng = np.random.default_rng(0)
    xa = np.concatenate([rng.normal(size=(15, 5)), np.ones((15, 1))], axis=1)
    r = rng.normal(size=15)
    reg = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 0.5])
    got = _loo_ratings(xa, r, reg)
    for i in range(15):
        keep = np.arange(15) != i
        d = np.linalg.solve(xa[keep].T @ xa[keep] + np.diag(reg), xa[keep].T @ r[keep])
        assert got[i] == pytest.approx((r[i] - xa[i] @ d) ** 2, rel=1e-8)


def test_chosen_shrinkage_is_small_for_a_strong_taste_and_global_for_noise():
    theta0 = np.zeros(D + 1)
    x, z, w = _data(100, 1, signal=2.0)
    th, info = fit_residual_auto(theta0, x, z, 300.0, BLOCKS)
    assert info["chosen_by"] == "evidence" and info["lam_heads"] <= 30.0
    assert np.corrcoef(th[:-1], w)[0, 1] > 0.95
    # the global shrinkage learns much less of the same taste
    th_g = fit_residual(theta0, x, z, 300.0)
    assert th[1] > 2 * th_g[1]
    # pure noise: the shrinkage stays at the global one or grows (the head stays at the prior)
    noise = [fit_residual_auto(theta0, *(_data(100, s, signal=0.0)[:2]), 300.0, BLOCKS)[1] for s in range(10)]
    assert sum(i["lam_heads"] >= 300.0 and i["lam_rest"] >= 300.0 for i in noise) >= 8
    assert not any(i["lam_heads"] <= 10.0 for i in noise)


def test_named_directions_move_before_the_rest():
    x, z, _ = _data(40, 2, signal=1.5)
    _, info = fit_residual_auto(np.zeros(D + 1), x, z, 300.0, BLOCKS)
    assert info["lam_heads"] < info["lam_rest"]


def test_too_few_answers_use_the_global_shrinkage():
    x, z, _ = _data(MIN_AUTO_ANSWERS - 1, 3, signal=3.0)
    th, info = fit_residual_auto(np.zeros(D + 1), x, z, 30.0, BLOCKS)
    assert info["chosen_by"] == "global"
    np.testing.assert_allclose(th, fit_residual(np.zeros(D + 1), x, z, 30.0), atol=1e-10)


def test_pairs_only_user_learns_a_strong_taste_by_k_fold():
    rng = np.random.default_rng(4)
    x, _, w = _data(400, 4, signal=1.0)
    i, j = rng.integers(0, 400, 120), rng.integers(0, 400, 120)
    first = x[i] @ w + 0.2 * rng.normal(size=120) > x[j] @ w
    win, lose = np.where(first[:, None], x[i], x[j]), np.where(first[:, None], x[j], x[i])
    th, info = fit_residual_auto(np.zeros(D + 1), x[:0], np.zeros(0), 300.0, BLOCKS, win, lose)
    assert info["chosen_by"] == "evidence (Laplace)" and info["lam_heads"] < 300.0
    th_g = fit_residual(np.zeros(D + 1), x[:0], np.zeros(0), 300.0, win, lose)
    truth = (x[i] - x[j]) @ w > 0
    assert float(((((x[i] - x[j]) @ th[:-1]) > 0) == truth).mean()) > 0.9
    assert th[1] > 1.5 * th_g[1]  # learns more of the taste than the global shrinkage lets it


def test_cancel_stops_the_search():
    x, z, _ = _data(60, 5, signal=1.0)
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        fit_residual_auto(np.zeros(D + 1), x, z, 30.0, BLOCKS, cancel=tok)


def test_app_method_records_its_choice_and_confidence_still_works():
    prior = make_prior(default="residual_auto")
    assert list(taste_blocks(prior)[:3]) == [0, 0, 1]
    rng = np.random.default_rng(6)
    x = rng.normal(size=(80, prior.dim))
    u = x[:, 1]
    stars = np.clip(np.rint(3 + 1.2 * u + 0.3 * rng.normal(size=80)), 1, 5)
    h = personal_head(prior, x, stars)
    assert h.meta["method"] == "residual_auto" and h.meta["shrinkage"]["chosen_by"] == "evidence"
    assert h.meta["shrinkage"]["lam_heads"] in LAMBDA_GRID

    def fit(f, y, w, l_):
        return personal_head(prior, f, y, w, l_)

    res = cross_validate(fit, prior.generic_head(), x, stars, x[:0], x[:0])
    assert res["cv_pair_agreement"] > 0.75 > res["cv_generic_agreement"]


def test_a_residual_prior_resolves_to_the_per_user_shrinkage():
    prior = make_prior(default="residual")
    assert bench.default_method(prior) == "residual_auto"
    h = personal_head(prior, np.zeros((0, prior.dim)), np.zeros(0))
    assert h.meta["method"] == "residual_auto"
    assert personal_head(prior, np.zeros((0, prior.dim)), np.zeros(0), method="residual").meta["method"] == "residual"


@pytest.mark.parametrize("pairs", [False, True])
def test_cross_validated_criterion_also_follows_a_strong_taste(pairs):
    rng = np.random.default_rng(7)
    x, z, w = _data(150, 7, signal=2.0)
    if pairs:
        i, j = rng.integers(0, 150, 100), rng.integers(0, 150, 100)
        first = x[i] @ w > x[j] @ w
        win, lose = np.where(first[:, None], x[i], x[j]), np.where(first[:, None], x[j], x[i])
        th, info = fit_residual_auto(np.zeros(D + 1), x[:0], np.zeros(0), 300.0, BLOCKS, win, lose, criterion="cv")
        assert info["chosen_by"] == "5-fold"
    else:
        th, info = fit_residual_auto(np.zeros(D + 1), x, z, 300.0, BLOCKS, criterion="cv")
        assert info["chosen_by"] == "leave-one-out"
    assert info["lam_heads"] < 300.0 and np.corrcoef(th[:-1], w)[0, 1] > 0.9
    with pytest.raises(ValueError, match="criterion"):
        fit_residual_auto(np.zeros(D + 1), x, z, 300.0, BLOCKS, criterion="nope")


@pytest.mark.parametrize("criterion", ["evidence", "cv"])
def test_non_finite_features_keep_the_global_shrinkage_and_give_a_non_finite_head(criterion):
    # a corrupt cached embedding (inf/NaN) must not crash the search: the caller sees a non-finite head
    # and rejects the model (tests/test_reliability_models.py checks that end to end)
    x, z, _ = _data(40, 5, signal=1.0)
    x[3, :] = np.nan
    x[7, ::2] = np.inf
    th, info = fit_residual_auto(np.zeros(D + 1), x, z, 300.0, BLOCKS, criterion=criterion)
    assert info["lam_heads"] == 300.0 and info["lam_rest"] == 300.0
    assert not np.isfinite(th).all()


def test_pair_fit_descends_and_converges_on_nearly_separable_answers():
    """Damped Newton: a consistent taste over 50 sharp pairs (margins x 4) with a weak penalty, where plain
    Newton steps overshoot, still lowers the objective at every step and ends at its minimum."""
    from piaa_desktop.core.personal.adapt import _design, _fit_penalised, _penalised_objective

    rng = np.random.default_rng(7)
    x = rng.standard_normal((300, D))
    w = np.zeros(D)
    w[:3] = (1.0, -1.0, 0.7)
    a, b = rng.integers(0, 300, 50), rng.integers(0, 300, 50)
    first = ((x[a] - x[b]) @ w > 0) ^ (rng.random(50) < 0.05)
    win, lose = np.where(first[:, None], x[a], x[b]), np.where(first[:, None], x[b], x[a])
    theta0 = np.append(0.3 * rng.standard_normal(D), 0.0)
    xa, z, da = _design(D + 1, x[:0], np.zeros(0), 4.0 * win, 4.0 * lose)
    reg = np.full(D + 1, 0.25)
    f = [_penalised_objective(_fit_penalised(theta0, xa, z, da, reg, 1.0, iters=k), theta0, reg, da, 1.0, None)
         for k in (1, 2, 4, 8, 40)]
    assert all(np.isfinite(f)) and all(f[i + 1] <= f[i] + 1e-9 for i in range(len(f) - 1)), f
    th = _fit_penalised(theta0, xa, z, da, reg, 1.0, iters=40)
    s = 1.0 / (1.0 + np.exp(da @ th))
    grad = 2.0 * reg * (th - theta0) - da.T @ s
    assert np.abs(grad).max() < 1e-4
    assert np.corrcoef(th[:3], w[:3])[0, 1] > 0.9
