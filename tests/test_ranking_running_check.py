"""The ranking's running check (core.personal.confidence.predict_each / running_check / describe_running,
core.personal.operations.running_check): each pairwise answer is predicted by the model fitted on the
answers given BEFORE it, so the count it shows is held out by construction. A synthetic user with a known
taste is guessed well above chance; a user answering at random stays near a coin toss (the figure does not
flatter); nothing is claimed below MIN_ANSWERS predicted answers; a new answer costs one fit."""
from __future__ import annotations

import numpy as np
import pytest

from piaa_desktop.core.personal import confidence as C


class _Head:
    def __init__(self, w):
        self.w = np.asarray(w, np.float64)

    def z(self, x):
        return np.asarray(x, np.float64) @ self.w


def test_predict_each_never_trains_on_the_answer_it_predicts():
    rng = np.random.default_rng(1)
    d = 4
    r_feats, stars, r_ids = rng.standard_normal((5, d)), np.array([1, 2, 3, 4, 5.0]), [10, 11, 12, 13, 14]
    w_ids, l_ids = np.array([10, 20, 12, 21]), np.array([11, 22, 23, 14])
    w_feats, l_feats = rng.standard_normal((4, d)), rng.standard_normal((4, d))
    seen = {}

    def fit(f, y, wf, lf):
        seen[len(seen)] = (np.array(f), np.array(y), np.array(wf), np.array(lf))
        return _Head(np.ones(d))

    out = C.predict_each(fit, _Head(-np.ones(d)), r_feats, stars, r_ids, w_feats, l_feats, w_ids, l_ids, range(4))
    assert sorted(out) == [0, 1, 2, 3]
    for i in range(4):
        f, y, wf, lf = seen[i]
        # the pairs answered before i, and only those
        assert np.array_equal(wf, w_feats[:i]) and np.array_equal(lf, l_feats[:i])
        # the ratings of every photo but the two of pair i
        keep = [k for k, pid in enumerate(r_ids) if pid not in (w_ids[i], l_ids[i])]
        assert np.array_equal(f, r_feats[keep]) and np.array_equal(y, stars[keep])
        margin = float((w_feats[i] - l_feats[i]).sum())
        assert out[i][0] == pytest.approx(margin) and out[i][1] == pytest.approx(-margin)
    assert len(seen[0][1]) == 3 and len(seen[1][1]) == 5  # pair 0 holds out photos 10 and 11's stars


def _synthetic_user(prior, seed: int, taste: bool, n: int = 80, noise: float = 0.05):
    """Photos with correlated attribute columns (as the generic heads are) and a user who prefers colour and
    light and dislikes shallow depth of field (``taste``), or who answers by coin toss."""
    rng = np.random.default_rng(seed)
    d = prior.dim
    feats = rng.standard_normal((300, d))
    feats[:, :9] = 0.6 * rng.standard_normal((300, 1)) + 0.8 * feats[:, :9]
    u = np.zeros(d)
    u[3], u[4], u[5] = 1.0, -1.0, 0.7  # colour, depth of field, light
    a = rng.integers(0, 300, n)
    b = (a + 1 + rng.integers(0, 299, n)) % 300
    pick_a = (((feats[a] - feats[b]) @ u > 0) ^ (rng.random(n) < noise)) if taste else rng.random(n) < 0.5
    w, l = np.where(pick_a, a, b), np.where(pick_a, b, a)
    return feats[w], feats[l], w, l


def _running(prior, seed, taste, idx=range(50, 80)):
    from piaa_desktop.core.personal.operations import fit_head

    wf, lf, w, l = _synthetic_user(prior, seed, taste)
    out = C.predict_each(lambda f, y, W, L: fit_head(prior, f, y, W, L)[0], prior.generic_head(),
                         np.zeros((0, prior.dim)), np.zeros(0), [], wf, lf, w, l, idx)
    return C.running_check([out[i][0] for i in idx], [out[i][1] for i in idx])


def test_running_check_rises_above_chance_for_a_consistent_taste(shipped_prior):
    checks = [_running(shipped_prior, seed, taste=True) for seed in range(3)]
    agree = [c["cv_pair_agreement"] for c in checks]
    # answers 51-80, each predicted by the model fitted on the answers before it
    assert min(agree) >= 0.65 and np.mean(agree) >= 0.75, agree
    # the generic score does not know this taste (it is not what people in general like)
    assert np.mean([c["cv_generic_agreement"] for c in checks]) < 0.62
    words = C.describe_running(checks[0])
    assert f"It guessed {checks[0]['guessed']} of your last 30 choices before you made them" in words


def test_running_check_stays_near_a_coin_toss_for_a_random_user(shipped_prior):
    checks = [_running(shipped_prior, 100 + seed, taste=False) for seed in range(4)]
    guessed = sum(c["guessed"] for c in checks)
    assert abs(guessed / 120 - 0.5) <= 0.13, guessed  # 120 held-out answers: 0.5 +- 0.046 by chance alone
    for c in checks:
        assert C.assess(c)[0] != "well"  # never "knows your taste well" for answers that carry no taste


def test_nothing_is_claimed_below_the_evidence_threshold():
    rng = np.random.default_rng(0)
    for n in range(C.MIN_ANSWERS):
        check = C.running_check(rng.standard_normal(n) + 3, rng.standard_normal(n))  # all "guessed"
        assert check["cv_pair_agreement"] is None
        words = C.describe_running(check)
        more = C.MIN_ANSWERS - n
        assert words.startswith(f"Answer {more} more pair") and "guessed" not in words
        assert "%" not in words and "taste well" not in words
    assert C.describe_running(None).startswith(f"Answer {C.MIN_ANSWERS} more pairs")
    check = C.running_check(np.r_[np.ones(8), -np.ones(2)], np.r_[np.ones(5), -np.ones(5)])
    assert check["cv_pair_agreement"] == 0.8 and check["guessed"] == 8 and check["generic_guessed"] == 5
    assert check["last"] is False and C.describe_last(check) == "your last choice surprised it"
    words = C.describe_running(check)
    assert words.startswith("It guessed 8 of your last 10 choices before you made them (the generic score 5). ")
    assert C.describe_latest(2, 3) == "Before you gave them, it had guessed 2 of these 3."
    assert C.describe_latest(0, 1) == "It had not guessed this one." and C.describe_latest(0, 0) == ""
    assert C.describe_latest(1, 1) == "It had guessed this one before you gave it."
    # the verdict is the Info panel's (describe) for the same level and comparison
    level, versus = C.assess(check)
    assert words.endswith(f". {C.describe(check).split(':')[0]}.")


@pytest.fixture
def library(app_paths, imported_library):
    """A catalog of 12 imported photos with their embeddings (small_library as the window imported it)."""
    from piaa_desktop.core.catalog import open_catalog

    cat = open_catalog(app_paths)
    if len(cat.embeddings()[0]) != 12:
        cat.close()
        pytest.skip("no backbone model to embed photos")
    yield cat
    cat.close()


def test_catalog_running_check_costs_one_fit_per_new_answer(library, shipped_prior):
    from piaa_desktop.core.personal.operations import running_check

    cat = library
    ids = [p.id for p in cat.photos()]
    empty = running_check(cat, prior=shipped_prior)
    assert empty.n_answers == 0 and empty.fits == 0 and empty.words.startswith("Answer 10 more pairs")
    for k in range(3):
        cat.add_preference(ids[k], ids[k + 5], source="ranking")
    first = running_check(cat, prior=shipped_prior)
    assert first.n_answers == 3 and first.fits == 3 and first.check["cv_answers"] == 3
    assert first.words.startswith("Answer 7 more pairs") and first.last_words
    again = running_check(cat, first.margins, prior=shipped_prior)
    assert again.fits == 0 and again.margins == first.margins
    cat.add_preference(ids[9], ids[3], source="ranking")
    cat.set_rating([ids[0]], 5)  # a rating given since: the earlier predictions stand (they were held out)
    more = running_check(cat, again.margins, prior=shipped_prior)
    assert more.n_answers == 4 and more.fits == 1 and more.check["cv_answers"] == 4
    assert {k: v for k, v in more.margins.items() if k[0] < 3} == first.margins  # earlier predictions kept
    # the newest answers (a drag-to-order's): guessed before they were learned from
    newest = [more.margins[k][0] for k in sorted(more.margins)]
    assert more.latest(2) == (sum(m > 0 for m in newest[-2:]), 2) and more.latest(9) == (sum(m > 0 for m in newest), 4)
    assert more.latest(0) == (0, 0)
    # only the last ``window`` answers are counted (and kept)
    short = running_check(cat, more.margins, window=2, prior=shipped_prior)
    assert sorted(k[0] for k in short.margins) == [2, 3] and short.fits == 0 and short.check["cv_answers"] == 2


def test_preferences_and_their_count_leave_out_missing_photos(catalog, app_paths, small_library):
    """catalog.preferences() (EXISTS by primary key, no scan of every photo) and preference_count() (the
    ranking view's counter) keep the answers whose two photos are present, in the order given."""
    from piaa_desktop.core.scanner import scan_folder

    scan_folder(catalog, small_library, app_paths.thumbnails)
    ids = [p.id for p in catalog.photos()]
    pairs = [(ids[3], ids[1]), (ids[0], ids[2]), (ids[2], ids[5]), (ids[4], ids[0])]
    for a, b in pairs:
        catalog.add_preference(a, b, source="ranking")
    assert catalog.preferences() == pairs and catalog.preference_count() == 4
    catalog.conn.execute("UPDATE photos SET missing=1 WHERE id=?", (ids[5],))
    catalog.conn.commit()
    assert catalog.preferences() == [pairs[0], pairs[1], pairs[3]] and catalog.preference_count() == 3
    catalog.conn.execute("UPDATE photos SET missing=1 WHERE id=?", (ids[0],))
    catalog.conn.commit()
    assert catalog.preferences() == [pairs[0]] and catalog.preference_count() == 1


def test_the_fit_from_rating_statistics_is_the_map_of_the_answers():
    """_fit_penalised uses the ratings' sufficient statistics (xa'xa, xa'z: one pass per fit, not per Newton
    step): its result still zeroes the gradient of the objective written out over every rating and pair,
    and the Laplace evidence equals the one computed from the rows."""
    from piaa_desktop.core.personal.adapt import _fit_penalised, _log_evidence_laplace

    rng = np.random.default_rng(3)
    p = 8
    xa = np.c_[rng.standard_normal((500, p - 1)), np.ones(500)]
    z = xa @ rng.standard_normal(p) + 0.3 * rng.standard_normal(500)
    da = np.c_[rng.standard_normal((40, p - 1)), np.zeros(40)]
    theta0, reg = np.zeros(p), np.full(p, 3.0)
    th = _fit_penalised(theta0, xa, z, da, reg, 1.0, iters=50, tol=1e-12)
    s = 1.0 / (1.0 + np.exp(da @ th))
    grad = 2 * reg * (th - theta0) + 2 * xa.T @ (xa @ th - z) - da.T @ s
    assert np.abs(grad).max() < 1e-8
    m = da @ th
    w = s * (1 - s)
    h = np.diag(2 * reg) + 2 * xa.T @ xa + (da * w[:, None]).T @ da
    obj = (reg * th * th).sum() + ((xa @ th - z) ** 2).sum() + np.logaddexp(0, -m).sum()
    expect = -obj + 0.5 * np.log(2 * reg).sum() - 0.5 * np.linalg.slogdet(h)[1]
    assert _log_evidence_laplace(th, theta0, xa, z, da, reg, 1.0) == pytest.approx(expect, rel=1e-10)
