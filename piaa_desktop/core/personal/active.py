"""Active learning for the ranking mode: which two photos to show next.

The personal head is treated as a Bayesian linear model (Laplace approximation around the adapted
head): the prior variance of each parameter follows the meta-learned step sizes (a parameter the
inner loop moves readily is one the prior is unsure about), each rating adds ``phi phi^T / resid^2``
and each preference ``p(1-p) dphi dphi^T`` to the precision. For a candidate pair (a, b) the
predicted preference is ``p = sigmoid(m / sqrt(1 + pi v / 8))`` with mean margin m and margin variance
v; the pair's value is the expected model change ``p (1 - p) sqrt(v)``: large where the model is
unsure which photo wins *and* the answer would move the parameters most. Pairs are picked greedily
without repeating a photo, and pairs already answered are skipped.
"""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from piaa_desktop.core.personal.heads import Head, Prior


def posterior_cov(prior: Prior, rated_feats: np.ndarray, win_feats: np.ndarray, lose_feats: np.ndarray,
                  head: Optional[Head] = None) -> np.ndarray:
    """(d,d) approximate posterior covariance of the head weights (bias excluded)."""
    d = prior.dim
    v0 = np.maximum(2.0 * prior.steps * prior.lr[:d].astype(np.float64), 1e-6)
    a = np.diag(1.0 / v0)
    s2 = max(prior.resid, 0.2) ** 2
    x = np.asarray(rated_feats, np.float64).reshape(-1, d)
    if len(x):
        a += x.T @ x / s2
    dx = np.asarray(win_feats, np.float64).reshape(-1, d) - np.asarray(lose_feats, np.float64).reshape(-1, d)
    if len(dx):
        w = head.w if head is not None else prior.w0
        p = 1.0 / (1.0 + np.exp(-np.clip(dx @ w, -30, 30)))
        a += (dx * (p * (1 - p))[:, None]).T @ dx
    return np.linalg.inv(a)


def select_pairs(
    feats: np.ndarray,
    ids: np.ndarray,
    w: np.ndarray,
    cov: np.ndarray,
    n: int = 1,
    answered: Iterable[tuple[int, int]] = (),
    pool: int = 200,
    rng: Optional[np.random.Generator] = None,
    avoid: Iterable[int] = (),
) -> list[tuple[int, int]]:
    """Up to ``n`` (id_a, id_b) pairs with the largest expected model change."""
    rng = rng or np.random.default_rng()
    ids = np.asarray(ids)
    avoid_set = {int(i) for i in avoid}
    keep = np.array([int(i) not in avoid_set for i in ids], dtype=bool)
    cand = np.flatnonzero(keep)
    if len(cand) < 2:
        return []
    if len(cand) > pool:
        cand = rng.choice(cand, pool, replace=False)
    f = np.asarray(feats, np.float64)[cand]
    mu = f @ np.asarray(w, np.float64)
    fc = f @ cov
    c = fc @ f.T
    q = np.diag(c)
    v = np.maximum(q[:, None] + q[None, :] - 2 * c, 0.0)
    m = mu[:, None] - mu[None, :]
    p = 1.0 / (1.0 + np.exp(-m / np.sqrt(1.0 + np.pi * v / 8.0)))
    value = p * (1 - p) * np.sqrt(v)
    value[np.tril_indices(len(cand))] = -1.0  # each unordered pair once, no self-pairs
    done = {frozenset((int(a), int(b))) for a, b in answered}
    cid = ids[cand]
    out: list[tuple[int, int]] = []
    used: set[int] = set()
    order = np.argsort(value, axis=None)[::-1]
    for flat in order:
        if len(out) >= n:
            break
        i, j = divmod(int(flat), len(cand))
        if value[i, j] < 0:
            break
        a, b = int(cid[i]), int(cid[j])
        if a in used or b in used or frozenset((a, b)) in done:
            continue
        # show the pair in random left/right order
        out.append((a, b) if rng.random() < 0.5 else (b, a))
        used.update((a, b))
    return out
