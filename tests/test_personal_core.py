"""Personal taste core: adaptation, meta-learning, heads, task vectors, active learning, metrics, simulator."""
from __future__ import annotations

import numpy as np
import pytest

from piaa_desktop.core.personal import active, taskvec
from piaa_desktop.lab import bench
from piaa_desktop.core.personal.adapt import adapt, calibrate, inner_loop
from piaa_desktop.core.personal.heads import FeatureTransform, Head, Prior, score_library, star_distribution


def make_prior(d_emb: int = 40, k: int = 6, n_sig: int = 10, seed: int = 0, lr: float = 0.05, rho: float = 1e-3) -> Prior:
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(200, d_emb)).astype(np.float32)
    sig = rng.normal(size=(200, n_sig)).astype(np.float32)
    tf = FeatureTransform.fit(emb, sig, k=k)
    d = tf.dim
    base = rng.normal(size=(2, d)).astype(np.float32)
    return Prior(
        transform=tf, w0=np.zeros(d, np.float32), b0=0.0, lr=np.full(d + 1, lr, np.float32),
        rho=np.full(d + 1, rho, np.float32), steps=25, pair_weight=1.0, pop_mu=3.0, pop_sd=1.0, n0=3.0,
        resid=0.7, avg_w=np.zeros(d, np.float32), avg_b=0.0, ft_lr=0.01, ft_rho=0.1,
        base_names=["a", "b"], base_w=base, base_b=np.zeros(2, np.float32),
    )


def test_feature_transform_whitens_and_handles_missing_signals():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(300, 30)) @ rng.normal(size=(30, 30))
    sig = rng.normal(size=(300, 10)) * 5 + 2
    tf = FeatureTransform.fit(emb, sig, k=8)
    f = tf(emb, sig)
    assert f.shape == (300, 18)
    np.testing.assert_allclose(np.cov(f[:, :8].T), np.eye(8), atol=0.05)
    sig2 = sig.copy()
    sig2[0] = np.nan
    f2 = tf(emb, sig2)
    assert np.all(f2[0, 8:] == 0) and np.all(np.isfinite(f2))
    with pytest.raises(ValueError):
        tf(emb[:, :5], sig)


def test_folded_scoring_equals_features_and_distributions_are_valid():
    prior = make_prior()
    rng = np.random.default_rng(2)
    head = Head(rng.normal(size=prior.dim).astype(np.float32), 0.3, 3.2, 0.8, 0.6)
    emb = rng.normal(size=(50, 40)).astype(np.float32)
    sig = rng.normal(size=(50, 10)).astype(np.float32)
    stars, dists = score_library(head, prior.transform, emb, sig)
    np.testing.assert_allclose(stars, head.stars(prior.features(emb, sig)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dists.sum(1), 1.0, atol=1e-5)
    d = star_distribution(np.array([1.0, 3.0, 5.0]), 0.5)
    assert d[0].argmax() == 0 and d[1].argmax() == 2 and d[2].argmax() == 4
    h2 = Head.from_bytes(head.to_bytes())
    np.testing.assert_array_equal(h2.w, head.w)
    assert h2.mu == pytest.approx(head.mu)


def test_calibration_shrinks_toward_population():
    mu, sd = calibrate(np.array([5.0]), 3.0, 1.0, 3.0)
    assert 3.0 < mu < 5.0 and sd > 0.5
    mu, sd = calibrate(np.array([1.0, 5.0] * 50), 3.0, 1.0, 3.0)
    assert mu == pytest.approx(3.0) and sd == pytest.approx(2.0, rel=0.05)
    assert calibrate(np.array([]), 3.1, 0.9, 3.0) == (3.1, 0.9)


def test_adaptation_learns_a_taste_from_ratings_and_preferences():
    prior = make_prior()
    rng = np.random.default_rng(3)
    d = prior.dim
    true_w = rng.normal(size=d)
    x = rng.normal(size=(400, d))
    u = x @ true_w
    stars = np.clip(np.rint(3 + u / u.std()), 1, 5)
    head = adapt(prior, x[:100], stars[:100])
    assert bench.srocc(head.z(x[100:]), u[100:]) > 0.6
    # preferences alone move it the right way
    pairs = rng.integers(0, 100, size=(60, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    win = np.where(u[pairs[:, 0]] > u[pairs[:, 1]], pairs[:, 0], pairs[:, 1])
    lose = np.where(u[pairs[:, 0]] > u[pairs[:, 1]], pairs[:, 1], pairs[:, 0])
    hp = adapt(prior, np.zeros((0, d)), np.zeros(0), x[win], x[lose])
    assert bench.srocc(hp.z(x[100:]), u[100:]) > 0.3
    assert hp.mu == pytest.approx(prior.pop_mu)


@pytest.mark.parametrize("n", [1, 2, 1000])
def test_adaptation_never_diverges(n):
    prior = make_prior(lr=5.0, rho=10.0)  # deliberately too large steps: the stabiliser must hold
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, prior.dim)) * 10
    h = adapt(prior, x, rng.integers(1, 6, size=n).astype(float))
    assert h.is_finite()
    assert np.abs(h.w).max() < 1e3


def test_numpy_inner_loop_matches_torch_func_inner_loop():
    torch = pytest.importorskip("torch")
    from piaa_desktop.core.personal.meta import build_functions

    rng = np.random.default_rng(4)
    d, B, S, P = 7, 3, 12, 5
    xs = rng.normal(size=(B, S, d)).astype(np.float32)
    zs = rng.normal(size=(B, S)).astype(np.float32)
    ms = np.ones((B, S), np.float32)
    ms[1, 5:] = 0  # a task with 5 ratings
    ms[2, :] = 0  # a task with preferences only
    xw = rng.normal(size=(B, P, d)).astype(np.float32)
    xl = rng.normal(size=(B, P, d)).astype(np.float32)
    mp = np.ones((B, P), np.float32)
    mp[0] = 0  # a task with ratings only
    w0 = rng.normal(size=d).astype(np.float32) * 0.1
    lr = np.abs(rng.normal(size=d + 1)).astype(np.float32) * 0.05 + 0.01
    rho = np.abs(rng.normal(size=d + 1)).astype(np.float32) * 0.1
    steps = 9
    fn, _ = build_functions(d, steps, 1.0)
    T = lambda a: torch.as_tensor(a)  # noqa: E731
    theta = fn({"weight": T(w0[None]), "bias": T(np.array([0.2], np.float32))},
               {"weight": T(lr[None, :d]), "bias": T(lr[d:])}, {"weight": T(rho[None, :d]), "bias": T(rho[d:])},
               T(xs), T(zs), T(ms), T(xw - xl), T(mp))
    for b in range(B):
        s = ms[b] > 0
        p = mp[b] > 0
        ref = inner_loop(np.append(w0, 0.2), xs[b][s], zs[b][s], xw[b][p], xl[b][p], lr, rho, steps, 1.0)
        got = np.append(theta["weight"][b, 0].detach().numpy(), theta["bias"][b].detach().numpy())
        np.testing.assert_allclose(got, ref, rtol=2e-3, atol=2e-4)


def test_meta_training_learns_the_shared_taste():
    pytest.importorskip("torch")
    from piaa_desktop.core.personal.meta import MetaConfig, TaskBatch, meta_train

    d = 5
    shared = np.array([1.0, -1.0, 0.5, 0.0, 0.0])

    def sample(rng, B):
        S, Q = 4, 40
        x = rng.normal(size=(B, S + Q, d)).astype(np.float32)
        w = shared + 0.3 * rng.normal(size=(B, d))
        z = np.einsum("bnd,bd->bn", x, w).astype(np.float32)
        return TaskBatch(x[:, :S], z[:, :S], np.ones((B, S), np.float32), np.zeros((B, 1, d), np.float32),
                         np.zeros((B, 1), np.float32), x[:, S:], z[:, S:], np.ones((B, Q), np.float32))

    res = meta_train(sample, d, np.zeros(d), 0.0, MetaConfig(steps=5, iterations=150, meta_batch=16, outer_lr=0.05))
    assert np.all(np.isfinite(res["w0"]))
    assert np.corrcoef(res["w0"], shared)[0, 1] > 0.9
    assert np.mean(res["history"][-20:]) < 0.5 * np.mean(res["history"][:5])


def test_task_vector_mixture_finds_the_helpful_head():
    prior = make_prior()
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, prior.dim))
    u = x @ prior.base_w[1]
    stars = np.clip(np.rint(3 + u / u.std()), 1, 5)
    lam = taskvec.fit_mixture(prior, x, stars, l2=1.0)
    assert lam[1] > 0.3 and abs(lam[0]) < lam[1]
    assert np.all(taskvec.fit_mixture(prior, x[:0], stars[:0]) == 0)
    w, b = taskvec.mixed_init(prior, lam)
    np.testing.assert_allclose(w, prior.w0 + lam @ prior.base_w, rtol=1e-5, atol=1e-6)


def test_active_pairs_are_uncertain_new_and_distinct():
    prior = make_prior()
    rng = np.random.default_rng(6)
    feats = rng.normal(size=(30, prior.dim))
    ids = np.arange(100, 130)
    cov = active.posterior_cov(prior, feats[:5], feats[5:7], feats[7:9])
    w = np.zeros(prior.dim)
    pairs = active.select_pairs(feats, ids, w, cov, n=8, answered=[(100, 101)], rng=rng)
    assert len(pairs) == 8
    flat = [i for p in pairs for i in p]
    assert len(set(flat)) == len(flat)
    assert frozenset((100, 101)) not in {frozenset(p) for p in pairs}
    # a confident model (large margins) prefers the pair whose order is unclear
    w2 = np.zeros(prior.dim)
    w2[0] = 10.0
    f2 = np.zeros((3, prior.dim))
    f2[:, 0] = [0.0, 0.01, 5.0]
    f2[:, 1] = [1.0, -1.0, 0.0]
    best = active.select_pairs(f2, np.array([1, 2, 3]), w2, np.eye(prior.dim), n=1, rng=rng)[0]
    assert set(best) == {1, 2}
    assert active.select_pairs(feats[:1], ids[:1], w, cov, n=3) == []


def test_metrics():
    np.testing.assert_allclose(bench.rankdata(np.array([10, 20, 20, 5])), [2, 3.5, 3.5, 1])
    a = np.arange(10.0)
    assert bench.srocc(a, a**3) == pytest.approx(1.0)
    assert bench.srocc(a, -a) == pytest.approx(-1.0)
    assert bench.srocc(a, np.ones(10)) == 0.0
    assert bench.pair_accuracy(np.array([1, 2, 3]), np.array([1, 2, 3])) == 1.0
    assert bench.pair_accuracy(np.array([3, 2, 1]), np.array([1, 2, 3])) == 0.0
    assert bench.pair_accuracy(np.array([1, 1, 1]), np.array([1, 2, 3])) == 0.5
    x = np.random.default_rng(0).normal(size=(30, 4))
    y = x @ np.array([1.0, 2, 0, 0]) + 3
    w, b = bench.ridge_loo(x, y)
    assert bench.plcc(x @ w + b, y) > 0.99


def test_benchmark_ranks_adapted_methods_above_the_prior_on_synthetic_users():
    prior = make_prior()
    rng = np.random.default_rng(7)
    users = []
    for k in range(3):
        x = rng.normal(size=(80, prior.dim))
        u = x @ rng.normal(size=prior.dim)
        users.append(bench.UserData(f"u{k}", x, x[:, :6], np.clip(np.rint(3 + u / u.std()), 1, 5)))
    res = bench.evaluate(prior, users, shots=(40,), repeats=3, methods=["prior", "ridge", "meta", "meta+tv:mix"])
    got = {r["method"]: r for r in res}
    assert set(got) == {"prior", "ridge", "meta", "meta+tv:mix"}
    assert got["meta"]["srocc_mean"] > got["prior"]["srocc_mean"] + 0.2
    for r in res:
        assert set(r) >= {"method", "shots", "srocc_mean", "srocc_std", "plcc_mean", "pair_acc_mean"}
        assert r["n_runs"] == 9
