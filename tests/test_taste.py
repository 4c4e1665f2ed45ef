"""The PARA-trained taste model: data helpers, realistic simulated raters, adaptation from the generic
head, honest confidence, and the benchmark's zero-shot and pairwise modes (small generated fixtures)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from piaa_desktop.core import backbones
from piaa_desktop.core.personal.adapt import METHODS, fit_residual, personal_head
from piaa_desktop.core.personal.confidence import cross_validate, describe
from piaa_desktop.core.personal.heads import FeatureTransform, Head, Prior
from piaa_desktop.lab import bench
from piaa_desktop.lab.para_raters import RealPopulation
from piaa_desktop.training.para_data import rebin9to5, session_split


def make_prior(seed: int = 0, default: str = "meta") -> Prior:
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(200, 30)).astype(np.float32)
    sig = rng.normal(size=(200, 10)).astype(np.float32)
    tf = FeatureTransform.fit(emb, sig, k=6)
    d = tf.dim
    gw = np.zeros(d, np.float32)
    gw[0] = 0.5  # the "generic head": one column
    return Prior(
        transform=tf, w0=gw.copy(), b0=0.0, lr=np.full(d + 1, 0.05, np.float32), rho=np.full(d + 1, 1e-3, np.float32),
        steps=20, pair_weight=1.0, pop_mu=3.0, pop_sd=0.9, n0=3.0, resid=0.8, avg_w=gw.copy(), avg_b=0.0,
        ft_lr=0.02, ft_rho=0.1, base_names=["b1", "b2"], base_w=np.eye(d, dtype=np.float32)[1:3], base_b=np.zeros(2, np.float32),
        info={"default_method": default, "residual_lambda": 10.0, "head_names": ["aesthetic", "quality"]},
    )


def test_rebin_9_to_5_splits_half_points_evenly():
    h9 = np.array([[1, 2, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0]], float)
    h5 = rebin9to5(h9)
    np.testing.assert_allclose(h5[0], np.array([2, 1, 0, 0, 1]) / 4)
    np.testing.assert_allclose(h5[1], 0)
    grid9 = np.arange(1, 5.01, 0.5)
    h = np.random.default_rng(0).integers(0, 9, size=(20, 9)).astype(float)
    # the mean of a histogram is kept by the re-binning
    np.testing.assert_allclose(rebin9to5(h) @ np.arange(1, 6), (h @ grid9) / h.sum(1))


def test_session_split_is_by_session_seeded_and_stored(tmp_path):
    sessions = np.array([f"s{i % 40}" for i in range(400)])
    path = tmp_path / "split.json"
    a = session_split(sessions, path)
    assert path.exists()
    b = session_split(sessions, path)
    np.testing.assert_array_equal(a, b)
    for s in set(sessions):
        assert len(set(a[sessions == s])) == 1  # a session never straddles the split
    n_sess = {k: len(set(sessions[a == k])) for k in ("train", "val", "test")}
    assert n_sess == {"train": 28, "val": 6, "test": 6}
    with pytest.raises(ValueError, match="not in"):
        session_split(np.array(["unknown"]), path)


def test_the_repository_split_file_covers_para_by_session():
    from piaa_desktop.training.para_data import SPLIT_FILE

    d = json.loads(SPLIT_FILE.read_text())
    vals = list(d["sessions"].values())
    assert len(vals) == 416 and set(vals) == {"train", "val", "test"}
    assert 0.6 < vals.count("train") / len(vals) < 0.8


def _population(n=300, seed=0):
    rng = np.random.default_rng(seed)
    hist9 = rng.integers(0, 8, size=(n, 9)).astype(float)
    attrs = rng.normal(size=(n, 7))
    sem = rng.integers(0, 9, n)
    emb = rng.normal(size=(n, 16))
    return RealPopulation(hist9, attrs, sem, emb), hist9


def test_realistic_raters_follow_the_real_histograms_and_are_consistent():
    pop, hist9 = _population()
    rng = np.random.default_rng(1)
    raters = pop.raters(300, seed=5)
    scores = np.stack([pop.stars(pop.latent(r, rng)) for r in raters])  # (raters, photos)
    assert set(np.unique(scores)) <= set(np.arange(1, 5.01, 0.5))
    # across raters, each photo's mean score is its histogram's mean (leniency shifts a little)
    true_mean = hist9 @ np.arange(1, 5.01, 0.5) / hist9.sum(1)
    assert np.corrcoef(scores.mean(0), true_mean)[0, 1] > 0.9
    # a rater is consistent with themself, and differs from other raters beyond the shared histogram
    r = raters[0]
    a, b = pop.latent(r, rng), pop.latent(r, rng)
    other = pop.latent(raters[1], rng)
    resid = lambda x: x - true_mean  # noqa: E731
    assert np.corrcoef(resid(a), resid(b))[0, 1] > np.corrcoef(resid(a), resid(other))[0, 1] + 0.1
    pairs = np.array([[0, 1], [2, 3]] * 50)
    p = pop.preferences(a, pairs, rng)
    assert set(np.unique(p)) <= {0.0, 1.0}


def test_zero_shot_of_every_app_method_is_the_generic_head():
    prior = make_prior()
    x = np.random.default_rng(2).normal(size=(50, prior.dim))
    gen = x @ prior.avg_w + prior.avg_b
    for m in METHODS:
        h = personal_head(prior, np.zeros((0, prior.dim)), np.zeros(0), method=m)
        np.testing.assert_allclose(h.z(x), gen, atol=1e-5)
        assert h.meta["method"] == m
    with pytest.raises(ValueError, match="unknown personalisation method"):
        personal_head(prior, np.zeros((0, prior.dim)), np.zeros(0), method="nope")


def test_residual_fit_shrinks_toward_the_prior_and_learns_with_evidence():
    rng = np.random.default_rng(3)
    d = 6
    theta0 = np.zeros(d + 1)
    w_true = rng.normal(size=d)
    x = rng.normal(size=(500, d))
    z = x @ w_true + 0.1 * rng.normal(size=500)
    np.testing.assert_allclose(fit_residual(theta0, x[:0], z[:0], 10.0), theta0)
    few = fit_residual(theta0, x[:5], z[:5], 10.0)
    many = fit_residual(theta0, x, z, 10.0)
    assert np.linalg.norm(few[:-1]) < np.linalg.norm(many[:-1])
    assert np.corrcoef(many[:-1], w_true)[0, 1] > 0.99
    # preferences alone move it in the right direction
    i, j = rng.integers(0, 500, 200), rng.integers(0, 500, 200)
    first = (x[i] @ w_true) > (x[j] @ w_true)
    win = np.where(first[:, None], x[i], x[j])
    lose = np.where(first[:, None], x[j], x[i])
    th = fit_residual(theta0, x[:0], z[:0], 1.0, win, lose)
    assert np.corrcoef(th[:-1], w_true)[0, 1] > 0.9


def test_cross_validated_confidence_and_words():
    rng = np.random.default_rng(4)
    prior = make_prior()
    x = rng.normal(size=(60, prior.dim))
    u = x[:, 3]
    stars = np.clip(np.rint(3 + 1.2 * u), 1, 5)

    def fit(f, y, w, l_):
        return personal_head(prior, f, y, w, l_, method="residual")

    res = cross_validate(fit, prior.generic_head(), x, stars, x[:0], x[:0])
    assert res["cv_answers"] == 60
    assert res["cv_pair_agreement"] > 0.75 > res["cv_generic_agreement"]
    text = describe(res)
    assert "pairs" in text and "generic score" in text
    few = cross_validate(fit, prior.generic_head(), x[:4], stars[:4], x[:0], x[:0])
    assert few["cv_pair_agreement"] is None and "too few" in describe(few)
    assert "No personal model" in describe(None)
    # pairs only
    i, j = rng.integers(0, 60, 40), rng.integers(0, 60, 40)
    first = u[i] > u[j]
    win, lose = np.where(first[:, None], x[i], x[j]), np.where(first[:, None], x[j], x[i])
    res = cross_validate(fit, prior.generic_head(), x[:0], stars[:0], win, lose)
    assert res["cv_answers"] == 40 and res["cv_pair_agreement"] > res["cv_generic_agreement"]


def test_benchmark_zero_shot_rows_and_default_flag():
    prior = make_prior(default="residual")
    rng = np.random.default_rng(5)
    users = []
    for k in range(3):
        x = rng.normal(size=(60, prior.dim))
        u = x @ prior.avg_w + 0.5 * x[:, 4]
        users.append(bench.UserData(f"u{k}", x, x[:, :6], np.clip(np.rint(3 + u / u.std()), 1, 5)))
    res = bench.evaluate(prior, users, shots=(0, 20), repeats=2,
                         methods=["generic", "residual", "residual_auto", "meta", "ridge"])
    got = {(r["method"], r["shots"]): r for r in res}
    assert got[("generic", 0)]["srocc_mean"] == pytest.approx(got[("residual", 0)]["srocc_mean"])
    assert got[("generic", 0)]["n_runs"] == 3  # zero-shot is not resampled
    # a prior that chose "residual" ships its per-user-shrinkage successor
    assert [r.get("default", False) for r in res if r["method"] == "residual_auto"] == [True, True]
    assert not any(r.get("default") for r in res if r["method"] != "residual_auto")


def test_benchmark_pairs_mode_on_synthetic_users():
    prior = make_prior(default="residual")
    rng = np.random.default_rng(6)
    users = []
    for k in range(3):
        x = rng.normal(size=(80, prior.dim))
        u = x[:, 0] + 1.5 * x[:, 5]
        i, j = rng.integers(0, 80, 150), rng.integers(0, 80, 150)
        keep = i != j
        i, j = i[keep], j[keep]
        first = u[i] > u[j]
        w, l_ = np.where(first, i, j), np.where(first, j, i)
        users.append(bench.PairUserData(f"u{k}", x[w], x[l_], x[w, :6], x[l_, :6]))
    res = bench.evaluate_pairs(prior, users, shots=(0, 50), repeats=2, methods=["generic", "residual", "meta", "ridge"])
    got = {(r["method"], r["shots"]): r for r in res}
    assert got[("residual", 50)]["pair_acc_mean"] > got[("generic", 0)]["pair_acc_mean"] + 0.05
    assert got[("ridge", 0)]["pair_acc_mean"] == 0.5
    for r in res:
        assert r["srocc_mean"] is None and r["plcc_mean"] is None
        assert {"method", "shots", "srocc_mean", "srocc_std", "plcc_mean", "pair_acc_mean"} <= set(r)


def test_load_pairs_checks_columns_and_winners(tmp_path):
    from piaa_desktop.core.personal.datasets import RatingsError

    p = tmp_path / "pairs.csv"
    p.write_text("user,image_left,image_right,winner,category,extra\n"
                 "a,x.jpg,y.jpg,y.jpg,flowers,1\n"
                 "a,x.jpg,y.jpg,z.jpg,flowers,1\n"  # winner is neither: skipped
                 "b,sub/x.jpg,y.jpg,sub/x.jpg,,\n")
    rows = bench.load_pairs(p)
    assert [(r.user, r.winner, r.category) for r in rows] == [("a", "y.jpg", "flowers"), ("b", "sub/x.jpg", "")]
    bad = tmp_path / "bad.csv"
    bad.write_text("user,left,right,winner\na,x,y,x\n")
    with pytest.raises(RatingsError, match="image_left"):
        bench.load_pairs(bad)
    with pytest.raises(RatingsError, match="not found"):
        bench.load_pairs(tmp_path / "missing.csv")


@pytest.fixture
def generated_photos(tmp_path):
    from PIL import Image

    d = tmp_path / "imgs"
    (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(7)
    names = []
    for k in range(16):
        base = rng.integers(0, 255, size=3)
        yy, xx = np.mgrid[0:96, 0:128]
        a = (base[None, None, :] + (xx[..., None] * (k % 4) + yy[..., None] * (k // 4)) * 0.8) % 255
        a = a + rng.normal(0, 4 + 6 * (k % 3), a.shape)
        name = f"sub/p{k:02d}.jpg" if k % 2 else f"p{k:02d}.jpg"
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(d / name)
        names.append(name)
    return d, names


def test_cli_bench_pairs_and_zero_shot_json(generated_photos, tmp_path, capsys, shipped_prior):
    from piaa_desktop.cli.main import main

    d, names = generated_photos
    rng = np.random.default_rng(8)
    pairs = tmp_path / "pairs.csv"
    ratings = tmp_path / "ratings.csv"
    with open(pairs, "w", newline="") as fh, open(ratings, "w", newline="") as fr:
        w, wr = csv.writer(fh), csv.writer(fr)
        w.writerow(["user", "image_left", "image_right", "winner", "category"])
        wr.writerow(["user", "image", "score"])
        for user in ("ann", "bob"):
            for _ in range(30):
                a, b = rng.choice(16, 2, replace=False)
                win = names[a] if a < b else names[b]  # a consistent taste: lower index wins
                w.writerow([user, names[a], names[b], win, "flowers"])
            for k, n in enumerate(names):
                wr.writerow([user, n, 1 + (15 - k) // 4])
    capsys.readouterr()
    assert main(["bench", "personalize", "--images", str(d), "--pairs", str(pairs), "--shots", "0,10",
                 "--repeats", "2", "--json", "--quiet", "--methods", "generic,residual,meta"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {(r["method"], r["shots"]) for r in res} == {(m, k) for m in ("generic", "residual", "meta") for k in (0, 10)}
    for r in res:
        assert r["n_users"] == 2 and 0 <= r["pair_acc_mean"] <= 1 and r["srocc_mean"] is None
    assert main(["bench", "personalize", "--images", str(d), "--ratings", str(ratings), "--shots", "0",
                 "--json", "--quiet", "--methods", "generic,residual"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {(r["method"], r["shots"]) for r in res} == {("generic", 0), ("residual", 0)}
    assert res[0]["srocc_mean"] == pytest.approx(res[1]["srocc_mean"])  # zero-shot = generic
    # either ratings or pairs, not both / neither
    assert main(["bench", "personalize", "--images", str(d)]) == 1
    assert "either --ratings" in capsys.readouterr().err


def test_meta_training_can_keep_the_generic_initialisation():
    pytest.importorskip("torch")
    from piaa_desktop.core.personal.meta import MetaConfig, TaskBatch, meta_train

    d = 4

    def sample(rng, B):
        x = rng.normal(size=(B, 12, d)).astype(np.float32)
        w = np.array([1.0, 0, 0, 0]) + rng.normal(size=(B, d))
        z = np.einsum("bnd,bd->bn", x, w).astype(np.float32)
        return TaskBatch(x[:, :4], z[:, :4], np.ones((B, 4), np.float32), np.zeros((B, 1, d), np.float32),
                         np.zeros((B, 1), np.float32), x[:, 4:], z[:, 4:], np.ones((B, 8), np.float32))

    init = np.array([0.7, 0.0, 0.0, 0.0])
    res = meta_train(sample, d, init, 0.1, MetaConfig(steps=3, iterations=20, meta_batch=4, learn_init=False))
    np.testing.assert_allclose(res["w0"], init, atol=1e-6)
    assert res["b0"] == pytest.approx(0.1)
    assert np.all(np.isfinite(res["lr"])) and not np.allclose(res["lr"], res["lr"][0] * 0 + 0.05)


def _fake_para(root, n=120, sessions=24, seed=0):
    """A small PARA-shaped folder (scores.csv, attributes.csv) and matching feature caches."""
    from piaa_desktop.training.para_data import ATTRIBUTES, HIST9, SEMANTICS

    rng = np.random.default_rng(seed)
    para = root / "data" / "para"
    para.mkdir(parents=True)
    names = [f"iaa_{i:04d}.jpg" for i in range(n)]
    emb = rng.normal(size=(n, 64)).astype(np.float32)
    quality = emb[:, :5].sum(1)
    aes = 3 + 0.3 * (quality + emb[:, 5:10].sum(1)) / 3
    with open(para / "scores.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "session", "aesthetic_mean", "aesthetic_mean_raw", "quality_mean", "raters"])
        for i, nm in enumerate(names):
            w.writerow([nm, f"session{i % sessions}", aes[i], aes[i], 3 + 0.2 * quality[i], 25])
    cols = ["imageName", "sessionId", "semantic", *HIST9, "aestheticScore_mean", "aestheticScore_std",
            *[c for _, c in ATTRIBUTES]]
    with open(para / "attributes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for i in range(0, n, 2):
            h = rng.multinomial(25, np.full(9, 1 / 9))
            w.writerow([names[i], f"session{i % sessions}", SEMANTICS[i % 9], *h, aes[i], 0.8,
                        *(3 + 0.3 * rng.normal(size=len(ATTRIBUTES)))])
    cache = root / "cache"
    cache.mkdir()
    taps = {f"{p}b{i}": np.abs(rng.normal(size=(n, 4))).astype(np.float32) for i in (7, 10, 14, 15) for p in ("", "flip_")}
    np.savez(cache / "para_feats.npz", head_mean=emb, flip_head_mean=emb + 0.01, names=np.array(names),
             logits=rng.normal(size=(n, 1000)).astype(np.float32), **taps)
    np.save(cache / "para_signals.npy", np.abs(rng.normal(size=(n, 10))).astype(np.float32))
    return root / "data", cache


def test_para_prior_training_pipeline_on_a_small_generated_dataset(tmp_path):
    """The whole PARA training script (generic heads, cross-fitting, simulators, meta-training, evaluation)
    on generated data: checks the plumbing and the saved prior, not the quality (benchmarks/RESULTS.md)."""
    pytest.importorskip("torch")
    import argparse

    from piaa_desktop.training.train_para_prior import HEAD_NAMES, add_arguments, run

    data, cache = _fake_para(tmp_path)
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    out = tmp_path / "prior.npz"
    args = ap.parse_args(["--data", str(data), "--cache", str(cache), "--out", str(out), "--iterations", "6",
                          "--meta-batch", "3", "--steps", "3", "--train-raters", "6", "--eval-raters", "3",
                          "--eval-repeats", "1", "--pca", "8", "--tune-tasks", "4", "--mlp-hidden", "8", "--mlp-seeds", "2",
                          "--mlp-epochs", "2", "--split-file", str(tmp_path / "split.json"),
                          "--no-manifest"])
    logs = []
    assert run(args, log=logs.append) == 0
    prior = Prior.load(out)
    assert prior.dim == len(HEAD_NAMES) + 8 + 10
    assert "aesthetic_mlp" in prior.info["generic"]["report"]
    assert prior.info["head_names"] == HEAD_NAMES
    assert prior.info["default_method"] in METHODS
    np.testing.assert_allclose(prior.w0, prior.avg_w)  # adaptation starts from the generic head
    g = prior.info["generic"]["val"]
    assert {"srocc", "plcc", "emd"} <= set(g) and np.isfinite(g["srocc"])
    assert {"para_raters", "para_raters_pairs", "old_simulator"} == set(prior.info["heldout"])
    # the generic head reproduces the aesthetic head's prediction on the 1-5 scale
    z = np.load(cache / "para_feats.npz")  # the app's embedding: head features, then the backbone's taps
    emb = np.concatenate([z["head_mean"][:5]] + [z[f"b{i}"][:5] for i in backbones.get().taps], 1)
    stars = prior.generic_head().stars(prior.features(emb))
    assert np.all((stars > 1) & (stars < 5))


def test_transform_with_an_mlp_column_scores_like_its_features_and_round_trips(tmp_path):
    from piaa_desktop.core.personal.heads import score_library

    rng = np.random.default_rng(9)
    prior = make_prior()
    tf = prior.transform
    E = tf.emb_mean.shape[0]
    tf.mlp_w1 = rng.normal(size=(E, 5)).astype(np.float32) * 0.3
    tf.mlp_b1 = rng.normal(size=5).astype(np.float32)
    tf.mlp_w2 = rng.normal(size=5).astype(np.float32)
    tf.mlp_b2 = np.float32(3.0)
    tf.mlp_out = np.array([3.0, 0.5], np.float32)
    assert tf.n_mlp == 1 and tf.dim == 1 + 6 + 10 and tf.k == 7
    d = tf.dim
    prior.w0 = prior.avg_w = rng.normal(size=d).astype(np.float32)
    prior.lr = np.full(d + 1, 0.05, np.float32)
    prior.rho = np.full(d + 1, 1e-3, np.float32)
    prior.base_w = np.eye(d, dtype=np.float32)[1:3]
    emb = rng.normal(size=(40, E)).astype(np.float32)
    sig = rng.normal(size=(40, 10)).astype(np.float32)
    f = tf(emb, sig)
    assert f.shape == (40, d)
    head = prior.generic_head()
    stars, dist = score_library(head, tf, emb, sig)
    np.testing.assert_allclose(stars, head.stars(f), rtol=1e-4, atol=1e-4)
    stars2, _ = score_library(head, tf, emb, sig, mlp_column=f[:, 0])
    np.testing.assert_allclose(stars2, stars, rtol=1e-5, atol=1e-5)
    prior.save(tmp_path / "p.npz")
    back = Prior.load(tmp_path / "p.npz")
    assert back.transform.n_mlp == 1
    np.testing.assert_allclose(back.features(emb, sig), f, rtol=1e-5, atol=1e-5)
    assert back.transform.mlp_lin is None
    # a linear part mixed into the column (the ridge head): added to the MLP's output, saved and loaded
    plain = tf.mlp_raw(emb)
    tf.mlp_lin = rng.normal(size=E).astype(np.float32) * 0.1
    np.testing.assert_allclose(tf.mlp_raw(emb) - plain, (emb - tf.emb_mean) @ tf.mlp_lin, rtol=1e-4, atol=1e-4)
    prior.save(tmp_path / "q.npz")
    np.testing.assert_allclose(Prior.load(tmp_path / "q.npz").transform.mlp_raw(emb), tf.mlp_raw(emb), rtol=1e-5,
                               atol=1e-5)
    prior.transform.mlp_w1 = None  # without the MLP the transform is the plain linear one
    assert prior.transform.n_mlp == 0 and prior.transform.dim == d - 1


def test_mlp_column_cache_reuses_known_photos_and_recomputes_changed_ones():
    from piaa_desktop.core.personal.heads import MlpCache

    rng = np.random.default_rng(10)
    tf = make_prior().transform
    E = tf.emb_mean.shape[0]
    tf.mlp_w1 = rng.normal(size=(E, 4)).astype(np.float32)
    tf.mlp_b1 = np.zeros(4, np.float32)
    tf.mlp_w2 = np.ones(4, np.float32)
    tf.mlp_b2 = np.float32(0)
    tf.mlp_out = np.array([0, 1], np.float32)
    calls = []
    orig = tf.mlp_column
    tf.mlp_column = lambda e: (calls.append(len(e)), orig(e))[1]
    cache = MlpCache()
    emb = rng.normal(size=(30, E)).astype(np.float32)
    ids = np.arange(100, 130)
    a = cache.column(tf, "k", ids, emb)
    b = cache.column(tf, "k", ids[::-1], emb[::-1])
    np.testing.assert_allclose(b, a[::-1])
    emb2 = emb.copy()
    emb2[3] += 1.0  # photo 103 changed
    c = cache.column(tf, "k", np.append(ids, 500), np.vstack([emb2, emb[:1]]))
    assert calls == [30, 2]  # the first call, then only the changed and the new photo
    np.testing.assert_allclose(c[:30], orig(emb2), rtol=1e-5)
    cache.column(tf, "other model", ids, emb)
    assert calls[-1] == 30


def test_shipped_prior_names_para_and_its_terms_everywhere():
    from pathlib import Path

    from piaa_desktop.core.models import load_manifest

    entry = load_manifest()["models"]["personal_prior"]
    assert "PARA" in entry["data"] and "research and learning use only" in entry["license"]
    readme = (Path(__file__).resolve().parents[1] / "models" / "README.md").read_text()
    assert "PARA" in readme and "research and learning use only" in readme
    pytest.importorskip("PySide6")
    from piaa_desktop.gui.about import about_html

    html = about_html()
    assert "PARA" in html and "research and learning only" in html


def test_every_model_trained_on_para_states_its_terms_and_about_names_it():
    """The fine-tuned backbone is trained on PARA too: its manifest entry, like the prior's, carries PARA's
    terms in its licence, and Help > About names exactly those models under the terms paragraph (models that
    only name PARA as evaluation data, like the face models, are not)."""
    import re

    from piaa_desktop.core.models import load_manifest

    models = load_manifest()["models"]
    para = sorted(n for n, e in models.items() if "PARA" in e.get("license", ""))
    spec = backbones.get()
    assert "personal_prior" in para
    if spec.finetuned_blocks:  # the shipped backbone was fine-tuned here (on PARA)
        assert spec.name in para and spec.finetuned_file in {e["file"] for e in models.values()}
        assert "PARA" in models[spec.name]["data"]
    for n in para:
        assert "research and learning use only" in models[n]["license"], n
    pytest.importorskip("PySide6")
    from piaa_desktop.gui.about import about_html

    html = about_html()
    named = re.search(r"trained (?:or fine-tuned )?on it \(([^)]*)\)", html)
    assert named and sorted(named.group(1).split(", ")) == para, html[-800:]
