"""Few-shot adaptation of a linear taste head from the meta-learned prior (numpy, no torch).

The inner loop is exactly the one the prior was meta-trained with (core.personal.meta mirrors it in
torch): starting from the initialisation theta0 = (w0, b0), ``steps`` preconditioned gradient steps
on

    L(theta) = mean_i (phi_i . theta - z_i)^2                           (star ratings, standardised)
             + pair_weight * mean_(w,l) softplus(-(phi_w - phi_l) . theta)   (preferences: w beat l)
             + sum_j rho_j (theta_j - theta0_j)^2                        (pull toward the prior)

with meta-learned per-parameter learning rates ``lr`` and pulls ``rho``. The user's rating scale is
handled before the loop: stars are standardised with the user's own mean and spread, both shrunk
toward the population's with ``n0`` pseudo-ratings; the head predicts z and maps it back to stars.
Each step is scaled down when the largest curvature (power iteration) would make it unstable, so
1 rating or 1,000 ratings never diverge. 100 ratings take a few milliseconds.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from piaa_desktop.core.personal.heads import Head, Prior

_POWER_ITERS = 20
_STABLE = 1.5  # largest allowed (lr-preconditioned curvature x step); < 2 keeps GD stable


def calibrate(stars: np.ndarray, pop_mu: float, pop_sd: float, n0: float) -> tuple[float, float]:
    """The user's mean stars and stars per unit z, shrunk toward the population's."""
    y = np.asarray(stars, dtype=np.float64)
    n = len(y)
    if n == 0:
        return float(pop_mu), float(pop_sd)
    mu = (y.sum() + n0 * pop_mu) / (n + n0)
    var = (((y - mu) ** 2).sum() + n0 * pop_sd**2) / (n + n0)
    return float(mu), float(max(np.sqrt(var), 0.15))


def _augment(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)


def _power_max(h: np.ndarray, iters: int = _POWER_ITERS) -> float:
    v = np.ones(h.shape[0]) / np.sqrt(h.shape[0])
    lam = 0.0
    for _ in range(iters):
        u = h @ v
        lam = float(np.linalg.norm(u))
        if lam <= 0:
            return 0.0
        v = u / lam
    return lam


def inner_loop(
    theta0: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    xw: np.ndarray,
    xl: np.ndarray,
    lr: np.ndarray,
    rho: np.ndarray,
    steps: int,
    pair_weight: float,
    cancel=None,
) -> np.ndarray:
    """Run the adaptation loop; features are *without* the bias column (added here)."""
    theta0 = np.asarray(theta0, dtype=np.float64)
    xa = _augment(np.asarray(x, np.float64)) if len(x) else np.zeros((0, len(theta0)))
    # preference differences (the bias cancels)
    da = _augment(np.asarray(xw, np.float64)) - _augment(np.asarray(xl, np.float64)) if len(xw) else np.zeros((0, len(theta0)))
    z = np.asarray(z, np.float64)
    n, p = max(len(xa), 1), max(len(da), 1)
    lr = np.asarray(lr, np.float64)
    rho = np.asarray(rho, np.float64)
    # curvature bound of the whole objective, preconditioned by lr
    h = 2.0 / n * xa.T @ xa + pair_weight * 0.25 / p * da.T @ da + np.diag(2.0 * rho)
    sq = np.sqrt(lr)
    lam = _power_max(sq[:, None] * h * sq[None, :])
    scale = min(1.0, _STABLE / max(lam, 1e-12))
    step = scale * lr
    theta = theta0.copy()
    for _ in range(int(steps)):
        if cancel is not None:
            cancel.raise_if_cancelled()
        g = 2.0 * rho * (theta - theta0)
        if len(xa):
            g += 2.0 / n * (xa.T @ (xa @ theta - z))
        if len(da):
            m = da @ theta
            g += pair_weight / p * (da.T @ (-1.0 / (1.0 + np.exp(np.clip(m, -30, 30)))))
        theta = theta - step * g
    return theta


def adapt(
    prior: Prior,
    feats: np.ndarray,
    stars: np.ndarray,
    win_feats: Optional[np.ndarray] = None,
    lose_feats: Optional[np.ndarray] = None,
    init: Optional[tuple[np.ndarray, float]] = None,
    lr: Optional[np.ndarray | float] = None,
    rho: Optional[np.ndarray | float] = None,
    steps: Optional[int] = None,
    cancel=None,
) -> Head:
    """A personal head adapted from the prior on star ratings and/or pairwise preferences.

    ``feats`` (n,d) and ``stars`` (n,) are the rated photos; ``win_feats``/``lose_feats`` (p,d) the
    preferred and rejected photo of each preference. ``init``/``lr``/``rho``/``steps`` override the
    meta-learned values (used by the baselines and by the task-vector mixture).
    """
    d = prior.dim
    feats = np.asarray(feats, np.float64).reshape(-1, d)
    stars = np.asarray(stars, np.float64).reshape(-1)
    if len(feats) != len(stars):
        raise ValueError("feats and stars differ in length")
    wf = np.zeros((0, d)) if win_feats is None else np.asarray(win_feats, np.float64).reshape(-1, d)
    lf = np.zeros((0, d)) if lose_feats is None else np.asarray(lose_feats, np.float64).reshape(-1, d)
    mu, sd = calibrate(stars, prior.pop_mu, prior.pop_sd, prior.n0)
    z = (stars - mu) / sd
    w0, b0 = init if init is not None else (prior.w0, prior.b0)
    theta0 = np.concatenate([np.asarray(w0, np.float64), [float(b0)]])
    lr_v = prior.lr if lr is None else np.broadcast_to(np.asarray(lr, np.float64), theta0.shape)
    rho_v = prior.rho if rho is None else np.broadcast_to(np.asarray(rho, np.float64), theta0.shape)
    theta = inner_loop(theta0, feats, z, wf, lf, lr_v, rho_v, steps or prior.steps, prior.pair_weight, cancel)
    return _head(prior, theta, mu, sd, len(stars), len(wf))


def _head(prior: Prior, theta: np.ndarray, mu: float, sd: float, n_ratings: int, n_preferences: int) -> Head:
    """The personal head of parameters ``theta`` (weights + bias, z units) on the user's star scale."""
    # predictive sd of z shrinks a little with evidence, from the prior's residual
    n_ev = n_ratings + 0.5 * n_preferences
    resid = float(prior.resid * np.sqrt(1.0 + 1.0 / (1.0 + n_ev)))
    return Head(theta[:-1].astype(np.float32), float(theta[-1]), mu, sd, resid,
                {"n_ratings": int(n_ratings), "n_preferences": int(n_preferences)})


def _design(p: int, x, z, xw, xl) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rated photos' features with a bias column, their targets, and the preference differences
    (chosen minus rejected, bias column included) for a head of ``p`` parameters."""
    xa = _augment(np.asarray(x, np.float64).reshape(-1, p - 1)) if len(x) else np.zeros((0, p))
    da = np.zeros((0, p))
    if xw is not None and len(xw):
        da = _augment(np.asarray(xw, np.float64).reshape(-1, p - 1)) - _augment(np.asarray(xl, np.float64).reshape(-1, p - 1))
    return xa, np.asarray(z, np.float64).reshape(-1), da


def fit_residual(
    theta0: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    lam: float,
    xw: Optional[np.ndarray] = None,
    xl: Optional[np.ndarray] = None,
    pair_weight: float = 1.0,
    iters: int = 12,
) -> np.ndarray:
    """The MAP head around the prior: minimise

        sum_i (phi_i . theta - z_i)^2 + pair_weight * sum_(w,l) softplus(-(phi_w - phi_l) . theta)
        + lam * |theta - theta0|^2

    (Newton's method; exact in one step without preferences). Unlike the mean losses of
    :func:`inner_loop`, evidence is summed, so 10 answers move the head little and 1,000 move it much:
    a shrinkage toward the generic head whose strength ``lam`` is chosen on simulated raters.
    """
    theta0 = np.asarray(theta0, np.float64)
    p = len(theta0)
    xa, z, da = _design(p, x, z, xw, xl)
    reg = np.full(p, float(lam))
    reg[-1] = float(lam) * 0.1  # the user's own mean is free-er than the taste directions
    return _fit_penalised(theta0, xa, z, da, reg, pair_weight, iters=iters, tol=1e-8)


# ---------------------------------------------------------------- per-user shrinkage (evidence-driven)
LAMBDA_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 1e5)  # 1e5: that block does not move
MIN_AUTO_ANSWERS = 8  # fewer answers: the global shrinkage, nothing is chosen from them
PAIR_FOLDS = 5
EVIDENCE_MARGIN = 2.0  # log-evidence (nats) within which a candidate "agrees with the best" (ratio e^2 ~ 7)
SE_MULT = 1.0  # criterion "cv": standard errors of held-out loss within which a candidate agrees with the best
# Choice temperature of a "which do you prefer?" answer, in units of the user's standardised stars (z): the pair
# likelihood of ``residual_auto`` is sigmoid((z_w - z_l) / PAIR_TEMPERATURE) (Bradley-Terry). At 1.0 (before)
# a half-sd difference of taste was a 62 % choice; at 0.5 it is 73 %, so answers that agree with the generic score
# cost little and those that contradict it move the head more. Chosen on *train* simulated raters of five families
# (benchmarks/pairs_bench.py: at 50 pairs 0.5 gained on every family, 0.35 and 0.25 lost on the realistic ones)
# and reported on val raters (benchmarks/RESULTS.md, "Learning from 'which do you prefer?' answers").
PAIR_TEMPERATURE = 0.5
# The weaker penalty that ``residual_auto`` may give the content directions (models/content_directions.npz: the few
# directions of the non-head features in which PARA's 9 content labels differ), when the user's answers favour it:
# a liking of a kind of content is then learned from tens of answers (benchmarks/RESULTS.md, "Learning from 'which
# do you prefer?' answers"; 30 was chosen on train raters among fixed penalties 30 / 10 / 3).
CONTENT_LAMBDA = 30.0


def taste_blocks(prior: Prior) -> np.ndarray:
    """Block of each feature (without the bias): 0 for the generic heads' columns (aesthetic, quality and the
    human attributes: a few named taste directions), 1 for the rest (PCA of the embedding, pixel signals).
    A prior without named head columns is one block."""
    h = len(prior.info.get("head_names", []) or [])
    blocks = np.ones(prior.dim, np.int64)
    blocks[: min(h, prior.dim)] = 0
    return blocks


def _penalty(blocks: np.ndarray, lam_heads: float, lam_rest: float, lam_bias: float,
             lam_content: Optional[float] = None) -> np.ndarray:
    """Diagonal penalty: ``lam_heads`` on block 0, ``lam_rest`` on block 1, ``lam_content`` (default
    ``lam_rest``) on block 2 (content directions), ``lam_bias`` on the bias."""
    lc = lam_rest if lam_content is None else lam_content
    return np.append(np.select([blocks == 0, blocks == 2], [lam_heads, lc], lam_rest), lam_bias).astype(np.float64)


def _loo_ratings(xa: np.ndarray, r: np.ndarray, reg: np.ndarray, gram: Optional[np.ndarray] = None) -> np.ndarray:
    """Exact leave-one-out squared errors of the ridge fit of ``r`` around 0 with diagonal penalty ``reg``
    (objective |xa d - r|^2 + sum reg_j d_j^2); ``gram`` = xa'xa when already computed."""
    g = xa.T @ xa if gram is None else gram
    ainv = np.linalg.inv(g + np.diag(reg))
    xai = xa @ ainv
    h = (xai * xa).sum(1)
    return ((r - xai @ (xa.T @ r)) / np.maximum(1.0 - h, 1e-6)) ** 2


def _rating_stats(xa: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(xa'xa, xa'z, z'z): all the ratings' squared loss needs, computed once per fit instead of once per
    Newton step and candidate: a fit from 15,000 ratings and 100 pairs 1,046 -> 31 ms, the ranking's check
    after one answer at 100,000 photos 1.7 -> 0.16 s (benchmarks/RESULTS.md, "Ranking"); same heads (1e-16)."""
    return xa.T @ xa, xa.T @ z, float(z @ z)


def _penalised_objective(theta, theta0, reg, da, pair_weight, stats) -> float:
    """The objective :func:`_fit_penalised` minimises (squared loss of the ratings from ``stats``)."""
    t = theta - theta0
    f = float((reg * t * t).sum())
    if stats is not None:
        gram, xz, zz = stats
        f += float(theta @ gram @ theta - 2.0 * theta @ xz + zz)
    if len(da):
        f += pair_weight * float(np.logaddexp(0.0, -(da @ theta)).sum())
    return f


def _fit_penalised(theta0, xa, z, da, reg, pair_weight, iters: int = 12, start=None, tol: float = 1e-6,
                   stats=None) -> np.ndarray:
    """:func:`fit_residual` with a per-parameter (diagonal) penalty, Newton from ``start`` (default: the
    prior); features already augmented; ``stats``: :func:`_rating_stats` of ``xa``, ``z`` when known.
    With pairs each Newton step is halved until the objective does not rise (the objective is convex, so the
    damped steps converge): plain Newton steps overshot on nearly separable answers with a weak penalty (a
    consistent taste over 50 pairs: held-out accuracy 0.43 and a log evidence of -14,000 at 1/4 of the penalty)."""
    theta = (theta0 if start is None or not len(da) else start).copy()
    if len(xa) and stats is None:
        stats = _rating_stats(xa, z)
    f_now = _penalised_objective(theta, theta0, reg, da, pair_weight, stats) if len(da) else 0.0
    for _ in range(iters if len(da) else 1):
        g = 2.0 * reg * (theta - theta0)
        h = np.diag(2.0 * reg)
        if len(xa):
            gram, xz, _zz = stats
            g += 2.0 * (gram @ theta - xz)
            h += 2.0 * gram
        if len(da):
            m = da @ theta
            s = 1.0 / (1.0 + np.exp(np.clip(m, -30, 30)))
            g += pair_weight * (da.T @ -s)
            h += pair_weight * (da * (s * (1 - s))[:, None]).T @ da
        step = np.linalg.solve(h, g)
        if len(da):
            t = 1.0
            while True:
                f_new = _penalised_objective(theta - t * step, theta0, reg, da, pair_weight, stats)
                if f_new <= f_now + 1e-12 * max(1.0, abs(f_now)) or t < 1e-3 or not np.isfinite(f_new):
                    break
                t *= 0.5
            step = t * step
            f_now = f_new
        theta = theta - step
        if np.abs(step).max() < tol:
            break
    return theta


def _answer_losses(theta, xa, z, da) -> np.ndarray:
    """Per-answer held-out losses: squared error of each rating (z units), log loss of each pair."""
    out = []
    if len(xa):
        out.append((xa @ theta - z) ** 2)
    if len(da):
        out.append(np.logaddexp(0.0, -(da @ theta)))
    return np.concatenate(out) if out else np.zeros(0)


def _log_evidence_ratings(gram: np.ndarray, xr: np.ndarray, rr: float, n: int, reg: np.ndarray) -> float:
    """Log marginal likelihood (up to a constant) of residuals r = xa d + noise under d_j ~ N(0, s2 / reg_j),
    noise ~ N(0, s2), with the noise variance s2 at its maximum: the evidence of the penalty ``reg``
    (gram = xa'xa, xr = xa'r, rr = r'r)."""
    m = gram + np.diag(reg)
    q = max(rr - float(xr @ np.linalg.solve(m, xr)), 1e-12)
    return float(-0.5 * n * np.log(q / n) - 0.5 * (np.linalg.slogdet(m)[1] - np.log(reg).sum()))


def _log_evidence_laplace(theta, theta0, xa, z, da, reg, pair_weight, stats=None) -> float:
    """Laplace approximation of the log evidence of the penalty ``reg`` at the MAP head ``theta`` of
    :func:`_fit_penalised` (squared loss as a Gaussian log likelihood, pairs as logistic)."""
    t = theta - theta0
    obj = float((reg * t * t).sum())
    h = np.diag(2.0 * reg)
    if len(xa):
        gram, xz, zz = stats if stats is not None else _rating_stats(xa, z)
        obj += max(float(theta @ gram @ theta - 2.0 * theta @ xz + zz), 0.0)  # |xa theta - z|^2
        h += 2.0 * gram
    if len(da):
        m = da @ theta
        obj += pair_weight * float(np.logaddexp(0.0, -m).sum())
        s = 1.0 / (1.0 + np.exp(np.clip(m, -30, 30)))
        h += pair_weight * (da * (s * (1 - s))[:, None]).T @ da
    return float(-obj + 0.5 * np.log(2.0 * reg).sum() - 0.5 * np.linalg.slogdet(h)[1])


def _content_rotation(blocks: np.ndarray, content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, new blocks): an orthonormal turn of the rest block's coordinates (``blocks == 1``) whose first k new
    coordinates are the ``content`` directions (len(rest), k), marked block 2. A penalty equal on blocks 1 and 2 is
    the same penalty as before the turn."""
    rest = np.flatnonzero(blocks == 1)
    u = np.asarray(content, np.float64).reshape(len(rest), -1)
    q, _ = np.linalg.qr(np.concatenate([u, np.eye(len(rest))], axis=1))
    r = np.eye(len(blocks))
    r[np.ix_(rest, rest)] = q
    nb = np.asarray(blocks).copy()
    nb[rest[: u.shape[1]]] = 2
    return r, nb


def fit_residual_auto(theta0, x, z, lam_global, blocks=None, xw=None, xl=None, pair_weight: float = 1.0,
                      grid: tuple = LAMBDA_GRID, criterion: str = "evidence", cancel=None,
                      pair_temperature: float = 1.0, content: Optional[np.ndarray] = None) -> tuple[np.ndarray, dict]:
    """:func:`_fit_residual_auto`; with ``content`` (the rest block's content directions, (n_rest, k): see
    :func:`content_directions`) the rest block is turned so that those directions are coordinates of their own
    (block 2), offered :data:`CONTENT_LAMBDA` as a further candidate beside the rest block's penalty; the head is
    turned back before it is returned."""
    if content is None:
        return _fit_residual_auto(theta0, x, z, lam_global, blocks, xw, xl, pair_weight, grid, criterion, cancel,
                                  pair_temperature)
    theta0 = np.asarray(theta0, np.float64)
    d = len(theta0) - 1
    blocks = np.ones(d, np.int64) if blocks is None else np.asarray(blocks).reshape(-1)
    r, nb = _content_rotation(blocks, content)
    turn = (lambda a: None if a is None else np.asarray(a, np.float64).reshape(-1, d) @ r)  # noqa: E731
    th0 = np.append(r.T @ theta0[:-1], theta0[-1])
    th, info = _fit_residual_auto(th0, turn(x), z, lam_global, nb, turn(xw), turn(xl), pair_weight, grid, criterion,
                                  cancel, pair_temperature)
    return np.append(r @ th[:-1], th[-1]), info


_CONTENT: dict = {}


def content_directions(prior: Prior) -> Optional[np.ndarray]:
    """The shipped content directions (models/content_directions.npz) when they were made for this prior (same
    training time and columns), else None (the adaptation then runs without them)."""
    key = (id(prior), str(prior.info.get("trained_at", "")))
    if key not in _CONTENT:
        u = None
        try:
            from piaa_desktop.core.models import ModelError, model_path

            try:
                with np.load(model_path("content_directions"), allow_pickle=False) as f:
                    if (str(f["prior_trained_at"]) == key[1] and int(f["prior_dim"]) == prior.dim
                            and np.array_equal(f["columns"], np.flatnonzero(taste_blocks(prior) == 1))):
                        u = np.asarray(f["directions"], np.float64)
            except (ModelError, OSError, KeyError, ValueError):
                u = None
        finally:
            if len(_CONTENT) > 16:
                _CONTENT.clear()
            _CONTENT[key] = u
    return _CONTENT[key]


def _fit_residual_auto(
    theta0: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    lam_global: float,
    blocks: Optional[np.ndarray] = None,
    xw: Optional[np.ndarray] = None,
    xl: Optional[np.ndarray] = None,
    pair_weight: float = 1.0,
    grid: tuple = LAMBDA_GRID,
    criterion: str = "evidence",
    cancel=None,
    pair_temperature: float = 1.0,
) -> tuple[np.ndarray, dict]:
    """The MAP head around the prior (:func:`fit_residual`) with the shrinkage chosen from the user's own
    answers: one penalty for the named taste directions (``blocks == 0``: the generic heads' columns) and one
    for the remaining directions, each from ``grid`` (plus the global ``lam_global``).

    ``criterion="evidence"`` (the app's): the marginal likelihood of the user's answers under each penalty
    (exact for star ratings alone, with the noise variance at its maximum; Laplace's approximation when there
    are pairs), an empirical-Bayes estimate of how far this user's taste departs from the generic one. The
    global penalty is the belief before the answers: of the candidates within :data:`EVIDENCE_MARGIN` nats
    of the best, the one nearest the global penalty (log scale) is used, so noise-like answers keep the global
    shrinkage and a clear taste moves it only as far as the evidence demands.
    ``criterion="cv"``: exact leave-one-out squared error (ratings only) or a 5-fold split of all answers,
    candidates within one standard error of the best (kept for the benchmark's comparison).
    ``pair_temperature``: each pair's likelihood is sigmoid((z_w - z_l) / pair_temperature) (Bradley-Terry; the
    app passes :data:`PAIR_TEMPERATURE`).
    With fewer than :data:`MIN_AUTO_ANSWERS` answers nothing is chosen. Returns
    the head and the choice.
    """
    theta0 = np.asarray(theta0, np.float64)
    p = len(theta0)
    blocks = np.ones(p - 1, np.int64) if blocks is None else np.asarray(blocks).reshape(-1)
    xa, z, da = _design(p, x, z, xw, xl)
    if len(da) and pair_temperature != 1.0:
        da = da / float(pair_temperature)  # the bias column cancels in da: scaling it is exact
    lam_b = 0.1 * float(lam_global)
    base = (float(lam_global), float(lam_global), float(lam_global))
    n_ans = len(xa) + len(da)
    info = {"lam_heads": base[0], "lam_rest": base[1], "chosen_by": "global"}
    stats = _rating_stats(xa, z) if len(xa) else None
    if n_ans < MIN_AUTO_ANSWERS:
        return _fit_penalised(theta0, xa, z, da, _penalty(blocks, *base[:2], lam_b), pair_weight, stats=stats), info
    two = bool((blocks == 0).any() and (blocks == 1).any())
    cands = [base] + [(a, b, b) for a in grid for b in (grid if two else (a,))]
    if len(da):  # Newton fits: every other grid value
        sub = tuple(grid[::2]) + tuple(grid[-1:])
        cands = [base] + [c for c in cands[1:] if c[0] in sub and c[1] in sub]
    if (blocks == 2).any():  # content directions: their own, weaker penalty as a further candidate
        cands += [(a, b, CONTENT_LAMBDA) for a, b, _ in cands if CONTENT_LAMBDA < b]
    fits: dict = {}
    if criterion == "evidence":
        score = {}
        if not len(da):
            r = z - xa @ theta0
            gram, xr = xa.T @ xa, xa.T @ r
            for c in cands:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                score[c] = _log_evidence_ratings(gram, xr, float(r @ r), len(r), _penalty(blocks, c[0], c[1], lam_b, c[2]))
            how = "evidence"
        else:
            warm = theta0
            for c in cands:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                reg = _penalty(blocks, c[0], c[1], lam_b, c[2])
                th = warm = fits[c] = _fit_penalised(theta0, xa, z, da, reg, pair_weight, start=warm, stats=stats)
                score[c] = _log_evidence_laplace(th, theta0, xa, z, da, reg, pair_weight, stats)
            how = "evidence (Laplace)"
        finite = [v for v in score.values() if np.isfinite(v)]
        top = max(finite) if finite else float("nan")
        ok = [c for c in cands if np.isfinite(score[c]) and score[c] >= top - EVIDENCE_MARGIN]
    elif criterion == "cv":
        losses = {}
        if not len(da):  # ratings only: exact leave-one-out
            r = z - xa @ theta0
            gram = xa.T @ xa
            for c in cands:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                losses[c] = _loo_ratings(xa, r, _penalty(blocks, c[0], c[1], lam_b, c[2]), gram)
            how = "leave-one-out"
        else:  # each fold's fit warm-started from the last candidate's
            rng = np.random.default_rng(0)
            n_r = len(xa)
            folds = np.array_split(rng.permutation(n_ans), min(PAIR_FOLDS, n_ans))
            warm = [theta0] * len(folds)
            for c in cands:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                reg = _penalty(blocks, c[0], c[1], lam_b, c[2])
                loss = np.zeros(n_ans)
                for i, f in enumerate(folds):
                    fr, fp = f[f < n_r], f[f >= n_r] - n_r
                    tr = np.setdiff1d(np.arange(n_ans), f)
                    tr_r, tr_p = tr[tr < n_r], tr[tr >= n_r] - n_r
                    th = warm[i] = _fit_penalised(theta0, xa[tr_r], z[tr_r], da[tr_p], reg, pair_weight, start=warm[i])
                    loss[np.concatenate([fr, fp + n_r])] = _answer_losses(th, xa[fr], z[fr], da[fp])
                losses[c] = loss
            how = f"{len(folds)}-fold"
        best = min(cands, key=lambda c: float(losses[c].mean()))

        def close_to_best(c) -> bool:  # within SE_MULT standard errors of the paired per-answer difference
            diff = losses[c] - losses[best]
            return float(diff.mean()) <= SE_MULT * float(diff.std(ddof=1) / np.sqrt(len(diff)))

        ok = [c for c in cands if np.isfinite(losses[c]).all() and close_to_best(c)]
    else:
        raise ValueError(f"unknown criterion {criterion!r}")
    # the global shrinkage is the belief before the user's answers: move only as far as they demand
    lg = np.log(float(lam_global))
    if not ok:  # the answers' evidence is not a number (corrupt features): keep the belief before them;
        ok = [base]  # the fit below is then not finite either, and the caller rejects the model
    lam = min(ok, key=lambda c: (sum(abs(np.log(v) - lg) for v in c), -c[0] - c[1] - c[2]))
    info = {"lam_heads": lam[0], "lam_rest": lam[1],
            "chosen_by": how if lam != base else f"global ({how} agrees)"}
    if (blocks == 2).any():
        info["lam_content"] = lam[2]
    theta = fits.get(lam)
    if theta is None:
        theta = _fit_penalised(theta0, xa, z, da, _penalty(blocks, lam[0], lam[1], lam_b, lam[2]), pair_weight,
                               stats=stats)
    return theta, info


METHODS = ("meta", "meta+tv:mix", "residual", "residual_auto", "avg_finetune")
# A prior trained before ``residual_auto`` existed chose ``residual`` (the same MAP head with one global
# shrinkage); its successor keeps that shrinkage below MIN_AUTO_ANSWERS answers and wherever the user's own
# answers do not show better, and measured no worse on held-out simulated raters of both simulators
# (benchmarks/RESULTS.md, "Personal adaptation: per-user shrinkage ...").
SUCCESSORS = {"residual": "residual_auto"}


def default_method(prior: Prior) -> str:
    """The method the app uses when none is asked for: the prior's recorded choice, or its successor."""
    m = str(prior.info.get("default_method", "meta"))
    return SUCCESSORS.get(m, m)


def personal_head(
    prior: Prior,
    feats: np.ndarray,
    stars: np.ndarray,
    win_feats: Optional[np.ndarray] = None,
    lose_feats: Optional[np.ndarray] = None,
    method: Optional[str] = None,
    cancel=None,
) -> Head:
    """The app's personal head from ratings and preferences with one of :data:`METHODS`
    (default: :func:`default_method`, the method recorded in the prior, chosen on held-out simulated raters)."""
    method = method or default_method(prior)
    d = prior.dim
    wf = np.zeros((0, d)) if win_feats is None else np.asarray(win_feats, np.float64).reshape(-1, d)
    lf = np.zeros((0, d)) if lose_feats is None else np.asarray(lose_feats, np.float64).reshape(-1, d)
    if method == "meta":
        head = adapt(prior, feats, stars, wf, lf, cancel=cancel)
    elif method == "meta+tv:mix":
        from piaa_desktop.core.personal.taskvec import fit_mixture, mixed_init

        lam = fit_mixture(prior, feats, stars, wf, lf)
        head = adapt(prior, feats, stars, wf, lf, init=mixed_init(prior, lam), cancel=cancel)
        head.meta["task_vectors"] = {n: round(float(v), 4) for n, v in zip(prior.base_names, lam)}
    elif method == "avg_finetune":
        head = adapt(prior, feats, stars, wf, lf, init=(prior.avg_w, prior.avg_b), lr=prior.ft_lr, rho=prior.ft_rho,
                     cancel=cancel)
    elif method in ("residual", "residual_auto"):
        feats = np.asarray(feats, np.float64).reshape(-1, d)
        stars = np.asarray(stars, np.float64).reshape(-1)
        mu, sd = calibrate(stars, prior.pop_mu, prior.pop_sd, prior.n0)
        theta0 = np.concatenate([np.asarray(prior.avg_w, np.float64), [float(prior.avg_b)]])
        lam_global = float(prior.info.get("residual_lambda", 30.0))
        chosen = {}
        if method == "residual":
            theta = fit_residual(theta0, feats, (stars - mu) / sd, lam_global, wf, lf, prior.pair_weight)
        else:
            theta, chosen = fit_residual_auto(theta0, feats, (stars - mu) / sd, lam_global, taste_blocks(prior),
                                              wf, lf, prior.pair_weight, cancel=cancel,
                                              pair_temperature=PAIR_TEMPERATURE, content=content_directions(prior))
        head = _head(prior, theta, mu, sd, len(stars), len(wf))
        if chosen:
            head.meta["shrinkage"] = chosen
    else:
        raise ValueError(f"unknown personalisation method {method!r}; choose one of {', '.join(METHODS)}")
    head.meta["method"] = method
    return head
