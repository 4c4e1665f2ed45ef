"""How well the app knows the user's taste, measured honestly and said in words.

:func:`cross_validate` refits the personal model on 4/5 of the user's own ratings and pairwise answers
and checks it on the fifth it did not see (5 folds): the share of held-out *pairs of rated photos*
(photos with different stars) that it orders the user's way, and the share of held-out answered
pairs it predicts. The generic score (what people in general like) is checked on the same held-out
answers, so the words can say whether the personal model beats it. :func:`describe` turns that into
a sentence a photographer understands; nothing is claimed before there are enough answers to check.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from piaa_desktop.core.personal.metrics import margin_accuracy, pair_accuracy

MIN_ANSWERS = 10  # fewer held-out answers than this cannot say anything useful


def cross_validate(fit: Callable, generic, feats: np.ndarray, stars: np.ndarray, win: np.ndarray,
                   lose: np.ndarray, folds: int = 5, seed: int = 0) -> dict:
    """``fit(feats, stars, win_feats, lose_feats) -> head``; returns agreement on unseen answers:
    ``cv_pair_agreement`` (personal), ``cv_generic_agreement`` (generic head) and ``cv_answers``."""
    n_r, n_p = len(stars), len(win)
    out = {"cv_answers": int(n_r + n_p), "cv_pair_agreement": None, "cv_generic_agreement": None}
    if n_r + n_p < MIN_ANSWERS:
        return out
    rng = np.random.default_rng(seed)
    fr = np.array_split(rng.permutation(n_r), folds) if n_r else [np.zeros(0, int)] * folds
    fp = np.array_split(rng.permutation(n_p), folds) if n_p else [np.zeros(0, int)] * folds
    pers, gen, weights = [], [], []
    for k in range(folds):
        tr_r = np.setdiff1d(np.arange(n_r), fr[k])
        tr_p = np.setdiff1d(np.arange(n_p), fp[k])
        head = fit(feats[tr_r], stars[tr_r], win[tr_p], lose[tr_p])
        if len(fr[k]) >= 2 and np.ptp(stars[fr[k]]) > 0:
            y = stars[fr[k]]
            m = int((y[:, None] > y[None, :]).sum())
            pers.append(pair_accuracy(head.z(feats[fr[k]]), y))
            gen.append(pair_accuracy(generic.z(feats[fr[k]]), y))
            weights.append(m)
        if len(fp[k]):
            pers.append(margin_accuracy(head.z(win[fp[k]]) - head.z(lose[fp[k]])))
            gen.append(margin_accuracy(generic.z(win[fp[k]]) - generic.z(lose[fp[k]])))
            weights.append(len(fp[k]))
    if weights:
        w = np.asarray(weights, np.float64)
        out["cv_pair_agreement"] = round(float(np.dot(pers, w) / w.sum()), 3)
        out["cv_generic_agreement"] = round(float(np.dot(gen, w) / w.sum()), 3)
    return out


def describe(metrics: Optional[dict]) -> str:
    """One or two sentences for the Info panel: how well the personal score knows this user's taste."""
    if not metrics:
        return ("No personal model yet: scores show what people in general like. Rate photos or answer "
                "'which do you prefer?' pairs, then train it.")
    n = metrics.get("cv_answers") or 0
    agree = metrics.get("cv_pair_agreement")
    if agree is None:
        return (f"Learned from {n} answers: too few to check how well it knows your taste yet "
                f"(it needs at least {MIN_ANSWERS} ratings or pairs).")
    tenths = int(round(agree * 10))
    gen = metrics.get("cv_generic_agreement")
    if agree >= 0.75:
        level = "It knows your taste well"
    elif agree >= 0.65:
        level = "It knows your taste fairly well"
    elif agree >= 0.57:
        level = "It has a rough idea of your taste"
    else:
        level = "It does not know your taste yet"
    early = "First impression, from few answers: " if n < 30 else ""
    if early:
        level = level[0].lower() + level[1:]
    text = (f"{early}{level}: on photos it had not seen, it picked the one you preferred in {tenths} of 10 "
            f"pairs (checked on {n} of your answers).")
    if gen is not None:
        diff = agree - gen
        if diff >= 0.02:
            text += f" The generic score manages {int(round(gen * 10))} of 10."
        elif diff <= -0.02:
            text += (f" The generic score does better ({int(round(gen * 10))} of 10): more answers will help, "
                     "or reset to it.")
        else:
            text += " That is about what the generic score does: more answers will help."
    return text
