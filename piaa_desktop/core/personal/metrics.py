"""Rank agreement measures used by the app (cross-validated confidence) and by the benchmarks."""
from __future__ import annotations

import numpy as np


def rankdata(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), like scipy.stats.rankdata."""
    x = np.asarray(x, np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1, dtype=np.float64)
    _, inv, counts = np.unique(xs, return_inverse=True, return_counts=True)
    if (counts > 1).any():
        sums = np.bincount(inv, weights=np.arange(1, len(x) + 1, dtype=np.float64))
        ranks[order] = (sums / counts)[inv]
    return ranks


def plcc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or a.std() < 1e-12 or b.std() < 1e-12:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def srocc(a: np.ndarray, b: np.ndarray) -> float:
    return plcc(rankdata(a), rankdata(b))


def pair_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of pairs with different true scores that the prediction orders the same way (ties 0.5)."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    dt = np.sign(truth[:, None] - truth[None, :])
    dp = np.sign(pred[:, None] - pred[None, :])
    m = dt > 0
    if not m.any():
        return 0.5
    return float(((dp[m] > 0) + 0.5 * (dp[m] == 0)).mean())


def margin_accuracy(margins: np.ndarray) -> float:
    """Fraction of answered pairs (winner minus loser score margins) the model orders right (ties 0.5)."""
    m = np.asarray(margins, np.float64)
    if len(m) == 0:
        return 0.5
    return float(((m > 0) + 0.5 * (m == 0)).mean())
