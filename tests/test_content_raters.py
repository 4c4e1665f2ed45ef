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
