"""Base heads as task vectors, mixed per user with coefficients learned from their rankings.

Each base head is a linear head over the prior's features for one thing people rated in PARA besides the
overall aesthetics (quality, composition, colour, depth of field, light, content, ...; trained by
training.train_para_prior, ``Prior.base_names``). Each is stored as a direction ``tau_k``: that head's
column of the features, in the generic head's units.

A user's starting head is ``theta0 + sum_k lambda_k tau_k``: the task-vector arithmetic of
Ilharco et al. with the mixing coefficients ``lambda`` fitted to the user's rankings by a pairwise
logistic (rank) loss with an L2 pull to 0 (so with no feedback the prior is unchanged). The
adaptation of core.personal.adapt then starts from that head.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from piaa_desktop.core.personal.heads import Prior


def rating_pairs(stars: np.ndarray, max_pairs: int = 4000, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """(P,2) index pairs (better, worse) among rated photos with different stars."""
    stars = np.asarray(stars)
    i, j = np.nonzero(stars[:, None] > stars[None, :])
    pairs = np.stack([i, j], axis=1)
    if len(pairs) > max_pairs:
        rng = rng or np.random.default_rng(0)
        pairs = pairs[rng.choice(len(pairs), max_pairs, replace=False)]
    return pairs


def fit_mixture(
    prior: Prior,
    feats: np.ndarray,
    stars: np.ndarray,
    win_feats: Optional[np.ndarray] = None,
    lose_feats: Optional[np.ndarray] = None,
    heads: Optional[Sequence[int]] = None,
    l2: float = 20.0,
    iters: int = 15,
) -> np.ndarray:
    """Mixing coefficients (m,) of the base heads (zeros for heads not in ``heads``)."""
    m = len(prior.base_names)
    lam = np.zeros(m)
    use = list(range(m)) if heads is None else list(heads)
    if not use:
        return lam
    d = prior.dim
    feats = np.asarray(feats, np.float64).reshape(-1, d)
    pairs = rating_pairs(np.asarray(stars))
    dx = [feats[pairs[:, 0]] - feats[pairs[:, 1]]] if len(pairs) else []
    if win_feats is not None and len(win_feats):
        dx.append(np.asarray(win_feats, np.float64).reshape(-1, d) - np.asarray(lose_feats, np.float64).reshape(-1, d))
    if not dx:
        return lam
    dx = np.concatenate(dx)
    base = dx @ prior.w0  # prior's margin
    t = dx @ prior.base_w[use].T  # (P, u) margins of each task vector
    n = len(dx)
    x = np.zeros(len(use))
    for _ in range(iters):  # Newton on mean softplus(-(base + t x)) + l2/n_eff * |x|^2
        marg = base + t @ x
        s = 1.0 / (1.0 + np.exp(np.clip(marg, -30, 30)))  # sigmoid(-marg)
        reg = l2 / np.sqrt(n)
        g = -(t * s[:, None]).mean(0) + 2 * reg * x
        h = (t * (s * (1 - s))[:, None]).T @ t / n + 2 * reg * np.eye(len(use))
        x = x - np.linalg.solve(h, g)
        x = np.clip(x, -3.0, 3.0)
    lam[use] = x
    return lam


def mixed_init(prior: Prior, lam: np.ndarray) -> tuple[np.ndarray, float]:
    """theta0 + sum_k lam_k tau_k as (w, b)."""
    lam = np.asarray(lam, np.float64)
    w = prior.w0.astype(np.float64) + lam @ prior.base_w.astype(np.float64)
    b = prior.b0 + float(lam @ prior.base_b)
    return w.astype(np.float32), b
