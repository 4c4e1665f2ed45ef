"""Simulated raters with a personal content preference (lab/content_raters.py), and the app's adaptation from
their "which do you prefer?" answers (core/personal/adapt.py, pair temperature)."""
from __future__ import annotations

import numpy as np

from piaa_desktop.core.personal import adapt
from piaa_desktop.core.personal.adapt import PAIR_TEMPERATURE, personal_head
from piaa_desktop.core.personal.heads import FeatureTransform, Prior
from piaa_desktop.lab.content_raters import MILD, ContentPopulation, ContentRaterConfig


def _photos(n: int = 600, seed: int = 0):
    """Photos in 3 categories that the embedding sees (cluster centres), a generic score linear in the embedding
    and 4 attribute scores."""
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, 3, n)
    centres = rng.normal(0, 2.0, (3, 8))
    within = rng.normal(size=(n, 8))
    emb = (centres[cat] + within).astype(np.float32)
    generic = within @ rng.normal(0, 0.3, 8) + rng.normal(0, 0.3, n)  # quality, whatever the category
    attrs = rng.normal(size=(n, 4))
    sig = rng.normal(size=(n, 5)).astype(np.float32)
    return cat, emb, generic, attrs, sig


def _prior(emb, sig, generic) -> Prior:
    """A prior whose generic head is the least-squares fit of the population's generic score (the shipped one's
    global shrinkage, 300)."""
    tf = FeatureTransform.fit(emb, sig, k=8)
    phi = tf(emb, sig).astype(np.float64)
    g = (generic - generic.mean()) / generic.std()
    w = np.linalg.lstsq(phi, 0.5 * g, rcond=None)[0].astype(np.float32)
    d = tf.dim
    return Prior(transform=tf, w0=w.copy(), b0=0.0, lr=np.full(d + 1, 0.05, np.float32),
                 rho=np.full(d + 1, 1e-3, np.float32), steps=20, pair_weight=1.0, pop_mu=3.0, pop_sd=0.9, n0=3.0,
                 resid=0.8, avg_w=w.copy(), avg_b=0.0, ft_lr=0.02, ft_rho=0.1, base_names=[],
                 base_w=np.zeros((0, d), np.float32), base_b=np.zeros(0, np.float32),
                 info={"default_method": "residual_auto", "residual_lambda": 300.0, "head_names": ["aesthetic"]})


def test_category_liking_drives_cross_category_choices_and_pairs_mix_within_and_across():
    cat, emb, generic, attrs, _ = _photos()
    cfg = ContentRaterConfig(generic_w=0.1, content_low=2.0, content_high=2.0, style_high=0.0, idio_weight=0.0,
                             temperature=0.05)
    pop = ContentPopulation(generic, attrs, cat, emb, cfg)
    rng = np.random.default_rng(1)
    r = pop.raters(1, seed=5)[0]
    pr = pop.pairs(400, rng)
    same = pop.cat[pr[:, 0]] == pop.cat[pr[:, 1]]
    assert len(pr) == 400 and (pr[:, 0] != pr[:, 1]).all()
    assert abs(same.mean() - cfg.within) < 0.02
    win, lose = pop.answers(r, 400, rng)
    across = pop.cat[win] != pop.cat[lose]
    liked = r.content[pop.cat[win[across]]] > r.content[pop.cat[lose[across]]]
    assert liked.mean() > 0.9  # the preferred category wins almost every comparison across categories
    # another rater (another draw) likes the categories in another order
    others = pop.raters(6, seed=6)
    assert len({tuple(np.argsort(o.content)) for o in others}) > 1
    # the same seed draws the same raters and answers
    a = ContentPopulation(generic, attrs, cat, emb, cfg)
    np.testing.assert_array_equal(a.raters(1, seed=5)[0].content, r.content)


def test_mild_raters_follow_the_generic_score_more_than_strong_ones():
    cat, emb, generic, attrs, _ = _photos()
    acc = {}
    for name, cfg in (("strong", ContentRaterConfig()), ("mild", MILD)):
        pop = ContentPopulation(generic, attrs, cat, emb, cfg)
        rng = np.random.default_rng(2)
        hits = []
        for r in pop.raters(20, seed=3):
            w, l_ = pop.answers(r, 300, rng)
            hits.append(np.mean(pop.generic[w] > pop.generic[l_]))
        acc[name] = float(np.mean(hits))
    assert acc["mild"] > acc["strong"] + 0.03


def _accuracy(prior, phi, pop, raters, rng, n_train=50, n_pairs=300, temperature=None):
    gen, pers = [], []
    for r in raters:
        w, l_ = pop.answers(r, n_pairs, rng)
        tr, ev = slice(0, n_train), slice(n_train, None)
        d_ev = phi[w[ev]] - phi[l_[ev]]
        gen.append(np.mean(d_ev @ prior.avg_w > 0))
        if temperature is None:
            h = personal_head(prior, np.zeros((0, prior.dim)), np.zeros(0), phi[w[tr]], phi[l_[tr]])
            pers.append(np.mean(d_ev @ h.w > 0))
        else:
            th0 = np.append(np.asarray(prior.avg_w, np.float64), 0.0)
            th, _ = adapt.fit_residual_auto(th0, np.zeros((0, prior.dim)), np.zeros(0), 300.0,
                                            adapt.taste_blocks(prior), phi[w[tr]], phi[l_[tr]],
                                            pair_temperature=temperature)
            pers.append(np.mean(d_ev @ th[:-1] > 0))
    return float(np.mean(gen)), float(np.mean(pers))


def test_fifty_pairs_of_a_user_with_a_strong_content_preference_beat_the_generic_score():
    cat, emb, generic, attrs, sig = _photos()
    prior = _prior(emb, sig, generic)
    phi = prior.transform(emb, sig).astype(np.float64)
    # strong content preferences (the defaults), no taste the features cannot see
    pop = ContentPopulation(generic, attrs, cat, emb, ContentRaterConfig(style_high=0.0, idio_weight=0.0))
    raters = pop.raters(8, seed=11)
    gen, pers = _accuracy(prior, phi, pop, raters, np.random.default_rng(12))
    assert pers > gen + 0.02, (gen, pers)
    # the app's default is residual_auto with the pair temperature
    gt, pt = _accuracy(prior, phi, pop, raters, np.random.default_rng(12), temperature=PAIR_TEMPERATURE)
    assert (gt, pt) == (gen, pers)


def test_generic_raters_keep_the_generic_accuracy():
    """Answers that follow the generic score (no personal taste) do not pull the head away from it."""
    cat, emb, generic, attrs, sig = _photos(seed=3)
    prior = _prior(emb, sig, generic)
    phi = prior.transform(emb, sig).astype(np.float64)
    cfg = ContentRaterConfig(generic_w=1.0, content_low=0.0, content_high=0.0, style_high=0.0, idio_weight=0.0)
    pop = ContentPopulation(generic, attrs, cat, emb, cfg)
    gen, pers = _accuracy(prior, phi, pop, pop.raters(8, seed=13), np.random.default_rng(14))
    assert pers > gen - 0.02, (gen, pers)


def test_content_directions_span_the_differences_between_labels():
    from piaa_desktop.training.content_directions import directions

    cat, emb, _generic, _attrs, sig = _photos(n=900, seed=4)
    tf = FeatureTransform.fit(emb, sig, k=8)
    x = tf(emb, sig).astype(np.float64)
    u = directions(x, cat, k=8)
    assert u.shape == (x.shape[1], 2)  # 3 labels: 2 directions
    np.testing.assert_allclose(u.T @ u, np.eye(2), atol=1e-9)
    means = np.stack([x[cat == c].mean(0) for c in range(3)])
    diffs = means - means.mean(0)
    # the labels' mean differences lie in the directions' span (almost all of their length)
    kept = np.linalg.norm(diffs @ u, axis=1) / np.linalg.norm(diffs, axis=1)
    assert kept.min() > 0.95, kept


def test_turning_the_rest_block_changes_nothing_at_an_equal_penalty():
    rng = np.random.default_rng(5)
    d = 9
    blocks = np.array([0, 0] + [1] * (d - 2))
    u = np.linalg.qr(rng.normal(size=(d - 2, 3)))[0]
    r, nb = adapt._content_rotation(blocks, u)
    np.testing.assert_allclose(r.T @ r, np.eye(d), atol=1e-10)
    assert (nb == 2).sum() == 3 and (nb[:2] == 0).all()
    np.testing.assert_allclose(np.abs(r[2:, 2:5].T @ u), np.eye(3), atol=1e-10)  # the content coordinates
    x, xw, xl = rng.normal(size=(20, d)), rng.normal(size=(15, d)), rng.normal(size=(15, d))
    z = rng.normal(size=20)
    th0 = np.append(rng.normal(size=d), 0.2)
    reg = adapt._penalty(blocks, 5.0, 2.0, 1.0)
    plain = adapt._fit_penalised(th0, *adapt._design(d + 1, x, z, xw, xl), reg, 1.0, iters=30, tol=1e-12)
    t0 = np.append(r.T @ th0[:-1], th0[-1])
    turned = adapt._fit_penalised(t0, *adapt._design(d + 1, x @ r, z, xw @ r, xl @ r),
                                  adapt._penalty(nb, 5.0, 2.0, 1.0, 2.0), 1.0, iters=30, tol=1e-12)
    np.testing.assert_allclose(np.append(r @ turned[:-1], turned[-1]), plain, atol=1e-8)


def test_content_directions_let_fifty_pairs_learn_a_liking_of_a_kind_of_content():
    from piaa_desktop.training.content_directions import directions

    cat, emb, generic, attrs, sig = _photos(seed=6)
    prior = _prior(emb, sig, generic)
    phi = prior.transform(emb, sig).astype(np.float64)
    blocks = adapt.taste_blocks(prior)
    rest = np.flatnonzero(blocks == 1)
    u = directions(phi[:, rest], cat)
    pop = ContentPopulation(generic, attrs, cat, emb, ContentRaterConfig(style_high=0.0, idio_weight=0.0))
    rng = np.random.default_rng(7)
    th0 = np.append(np.asarray(prior.avg_w, np.float64), 0.0)
    acc = {"generic": [], "without": [], "with": []}
    chosen = []
    for r in pop.raters(10, seed=8):
        w, l_ = pop.answers(r, 300, rng)
        d_ev = phi[w[50:]] - phi[l_[50:]]
        acc["generic"].append(np.mean(d_ev @ prior.avg_w > 0))
        for name, c in (("without", None), ("with", u)):
            th, info = adapt.fit_residual_auto(th0, np.zeros((0, prior.dim)), np.zeros(0), 300.0, blocks,
                                               phi[w[:50]], phi[l_[:50]], pair_temperature=PAIR_TEMPERATURE,
                                               content=c)
            acc[name].append(np.mean(d_ev @ th[:-1] > 0))
            if c is not None:
                chosen.append(info["lam_content"])
    m = {k: float(np.mean(v)) for k, v in acc.items()}
    assert m["with"] > m["without"] + 0.015 and m["with"] > m["generic"] + 0.035, m
    assert min(chosen) == adapt.CONTENT_LAMBDA  # the evidence asked for the content penalty


def test_content_directions_belong_to_their_prior(shipped_prior):
    from tests.test_taste import make_prior

    assert adapt.content_directions(make_prior()) is None  # another prior: not used
    u = adapt.content_directions(shipped_prior)
    assert u is not None and u.shape[0] == int((adapt.taste_blocks(shipped_prior) == 1).sum())
    np.testing.assert_allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-5)


def test_save_for_writes_the_directions_of_its_prior_from_train_sessions_only(tmp_path):
    from types import SimpleNamespace

    from piaa_desktop.training.content_directions import save_for

    cat, emb, generic, _attrs, sig = _photos(n=600, seed=9)
    prior = _prior(emb, sig, generic)
    prior.info["trained_at"] = "2026-01-01 00:00:00"
    phi = prior.transform(emb, sig)
    split = np.array(["train", "val", "test"])[np.arange(600) % 3]
    wrong = cat.copy()
    wrong[split == "test"] = (wrong[split == "test"] + 1) % 3  # test labels must never be read
    got = []
    for i, labels in enumerate((cat, wrong)):
        para = SimpleNamespace(has_attr=np.ones(600, bool), semantic=labels)
        entry = save_for(prior, phi, para, split, tmp_path / f"c{i}.npz")
        assert entry["train_photos"] == 200 and entry["val_accuracy"] > 0.6  # 3 labels: chance is 0.33
        with np.load(tmp_path / f"c{i}.npz") as f:
            assert str(f["prior_trained_at"]) == "2026-01-01 00:00:00" and int(f["prior_dim"]) == prior.dim
            np.testing.assert_array_equal(f["columns"], np.flatnonzero(adapt.taste_blocks(prior) == 1))
            assert f["directions"].shape == (len(f["columns"]), 2)
            got.append(np.array(f["directions"]))
    np.testing.assert_array_equal(got[0], got[1])
