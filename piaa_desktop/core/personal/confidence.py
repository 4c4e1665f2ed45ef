"""How well the app knows the user's taste, measured honestly and said in words.

:func:`cross_validate` refits the personal model on 4/5 of the user's own ratings and pairwise answers
and checks it on the fifth it did not see (5 folds): the share of held-out *pairs of rated photos*
(photos with different stars) that it orders the user's way, and the share of held-out answered
pairs it predicts. The generic score (what people in general like) is checked on the same held-out
answers, so the words can say whether the personal model beats it. :func:`describe` turns that into
a sentence a photographer understands (the Info panel and ``piaa personalize`` both print it);
:func:`assess` is the level behind the words. Nothing is claimed before there are enough answers to
check, and "knows your taste" is said only when the personal model does better than the generic score.

The ranking view's running check (:func:`predict_each`, :func:`running_check`, :func:`describe_running`)
predicts each pairwise answer with the model fitted on the answers given before it, and says how many of
the last ones it guessed, with the same verdict words.
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


# Agreement on unseen answers (share of pairs ordered the user's way; 0.5 is a coin toss) and the words
# for it. The words follow the agreement AND its comparison with the generic score on the same answers:
# "knows your taste" is said only of a personal model that does better than the generic score.
WELL, FAIRLY, ROUGHLY = 0.75, 0.65, 0.57
LEVELS = ("well", "fairly", "roughly", "not")
#: a paired difference in held-out agreement smaller than this (3 points) is "about the same" ...
MARGIN = 0.03
#: ... and so is one within the noise of a few answers: ratings drawn at random (no taste to learn) on 80
#: generated photos gave held-out agreements of 0.49 +- 0.20 / 0.50 +- 0.09 / 0.50 +- 0.07 with 15 / 40 / 80
#: answers (16 draws each), about NOISE / sqrt(answers)
NOISE = 0.6
#: fewer checked answers than this: the words say it is a first impression
EARLY = 30
VERSUS = ("better", "same", "worse", "unknown")


def margin(n_answers: int) -> float:
    """How much better (or worse) than the generic score the personal model must do on ``n_answers``
    held-out answers before the words say so: :data:`MARGIN`, or the noise of that few answers."""
    return max(MARGIN, NOISE / max(int(n_answers), 1) ** 0.5)


def _level(agree: float) -> str:
    t = int(round(agree * 1000))  # metrics are stored to 3 decimals: compare in thousandths, no float edge
    if t >= round(WELL * 1000):
        return "well"
    if t >= round(FAIRLY * 1000):
        return "fairly"
    if t >= round(ROUGHLY * 1000):
        return "roughly"
    return "not"


def assess(metrics: Optional[dict]) -> tuple[str, str]:
    """(level, versus) behind :func:`describe`: ``level`` is ``"none"`` (no personal model),
    ``"unchecked"`` (too few answers to check) or one of :data:`LEVELS`: the personal model's held-out
    agreement, or the generic score's where the two are about the same (within :func:`margin`); ``versus`` is one of :data:`VERSUS`: how it compares with the generic score on the same
    held-out answers (``"unknown"`` for a model stored before the generic score was checked)."""
    if not metrics:
        return "none", "unknown"
    agree = metrics.get("cv_pair_agreement")
    if agree is None:
        return "unchecked", "unknown"
    gen = metrics.get("cv_generic_agreement")
    if gen is None:
        return _level(agree), "unknown"
    d = int(round(agree * 1000)) - int(round(gen * 1000))
    m = int(round(margin(metrics.get("cv_answers") or 0) * 1000))
    if -m < d < m:  # about the same: the words speak of the generic score (what the user already has)
        return _level(gen), "same"
    return _level(agree), "better" if d >= m else "worse"


_PERSONAL = {"well": "It knows your taste well", "fairly": "It knows your taste fairly well",
             "roughly": "It has a rough idea of your taste", "not": "It does not know your taste yet"}
_SAME = {"well": "The generic score already matches your taste well",
         "fairly": "The generic score already matches your taste fairly well",
         "roughly": "The generic score matches your taste only roughly",
         "not": "Neither score knows your taste yet"}


def _verdict(level: str, versus: str) -> str:
    """The verdict of :func:`assess`'s (level, versus) in words, shared by :func:`describe` (the Info panel,
    ``piaa personalize``) and :func:`describe_running` (the ranking view)."""
    if versus == "same":
        return _SAME[level]
    if versus == "worse":
        return "Your personal model does worse than the generic score so far"
    return _PERSONAL[level]


def _pct(x: float) -> str:
    return f"{int(round(x * 100))} %"


def describe(metrics: Optional[dict]) -> str:
    """One to three sentences for the Info panel and ``piaa personalize``: how well the personal score
    knows this user's taste, checked on answers it did not see, next to the generic score."""
    level, versus = assess(metrics)
    if level == "none":
        return ("No personal model yet: scores show what people in general like. Rate photos or answer "
                "'which do you prefer?' pairs, then train it.")
    n = metrics.get("cv_answers") or 0
    if level == "unchecked":
        return (f"Learned from {n} answers: too few to check how well it knows your taste yet "
                f"(it needs at least {MIN_ANSWERS} ratings or pairs).")
    agree, gen = metrics["cv_pair_agreement"], metrics.get("cv_generic_agreement")
    checked = (f"(checked on only {n} of your answers: a first impression)" if n < EARLY
               else f"(checked on {n} of your answers)")
    if versus == "same":
        head = _verdict(level, versus)
        body = (f"on photos your personal model had not seen, it picked the one you preferred in {_pct(agree)} "
                f"of pairs, the generic score in {_pct(gen)} {checked}.")
        tail = (" Your personal model adds little yet: more answers will show where your taste differs."
                if level != "not" else " Both are close to a coin toss: more answers will help.")
    elif versus == "worse":
        head = _verdict(level, versus)
        body = (f"on photos it had not seen, it picked the one you preferred in {_pct(agree)} of pairs, the "
                f"generic score in {_pct(gen)} {checked}.")
        tail = " More answers will help, or reset to the generic score."
    else:
        head = _verdict(level, versus)
        body = f"on photos it had not seen, it picked the one you preferred in {_pct(agree)} of pairs {checked}."
        tail = f" The generic score manages {_pct(gen)}." if versus == "better" else ""
        if level in ("roughly", "not"):
            tail += " More answers will help."
    return f"{head}: {body}{tail}"


# ---------------------------------------------------------------------------------------------------------
# The ranking's running check: every "which do you prefer?" answer is predicted BEFORE it is learned from
# (prequential: the model fitted on the answers given before it), so the count of answers it guessed is
# held out by construction, updated after each answer, and readable without statistics.

#: the last answers the running check counts (the older ones were predicted by a model that has learnt since)
RUNNING_WINDOW = EARLY
#: shown in the ranking view's tooltip: what the running count means, and why it is a hard test
RUNNING_EXPLAINED = (
    "Before the app learns from an answer, the model that has not seen it predicts which photo you will "
    "pick; this counts how often it was right over your last answers, next to the generic score (what "
    "people in general like) on the same pairs. The pairs shown are those it is least sure about, so "
    "this is a hard test: it is usually right more often on photos in general.")


def predict_each(fit: Callable, generic, r_feats: np.ndarray, stars: np.ndarray, r_ids, w_feats: np.ndarray,
                 l_feats: np.ndarray, w_ids, l_ids, indices, cancel=None) -> dict[int, tuple[float, float]]:
    """For each answered pair ``i`` in ``indices`` (answers in the order given): ``(personal margin, generic
    margin)`` of the photo the user picked over the other. The personal model is ``fit(feats, stars, win_feats,
    lose_feats)`` on the pairs answered *before* ``i`` and the ratings of every *other* photo: it never saw
    answer ``i`` nor the stars of its two photos, so a margin above 0 is a held-out correct guess."""
    r_feats = np.asarray(r_feats, np.float64)
    stars = np.asarray(stars, np.float64)
    r_ids = np.asarray(r_ids, np.int64).reshape(-1)
    w_ids = np.asarray(w_ids, np.int64).reshape(-1)
    l_ids = np.asarray(l_ids, np.int64).reshape(-1)
    out: dict[int, tuple[float, float]] = {}
    for i in indices:
        if cancel is not None:
            cancel.raise_if_cancelled()
        i = int(i)
        keep = (r_ids != w_ids[i]) & (r_ids != l_ids[i])
        head = fit(r_feats[keep], stars[keep], w_feats[:i], l_feats[:i])
        xw, xl = w_feats[i:i + 1], l_feats[i:i + 1]
        out[i] = (float((head.z(xw) - head.z(xl))[0]), float((generic.z(xw) - generic.z(xl))[0]))
    return out


def running_check(personal_margins, generic_margins) -> dict:
    """The running check over these held-out margins (oldest first; :func:`predict_each`): the same keys as
    :func:`cross_validate` (so :func:`assess` reads it), plus ``guessed`` / ``generic_guessed`` (answers
    predicted right) and ``last`` (whether the newest answer was guessed; None without one)."""
    p = np.asarray(personal_margins, np.float64).reshape(-1)
    g = np.asarray(generic_margins, np.float64).reshape(-1)
    n = len(p)
    out = {"cv_answers": n, "cv_pair_agreement": None, "cv_generic_agreement": None,
           "guessed": int((p > 0).sum()), "generic_guessed": int((g > 0).sum()),
           "last": bool(p[-1] > 0) if n else None}
    if n >= MIN_ANSWERS:
        out["cv_pair_agreement"] = round(margin_accuracy(p), 3)
        out["cv_generic_agreement"] = round(margin_accuracy(g), 3)
    return out


def describe_running(check: Optional[dict]) -> str:
    """The ranking view's words for :func:`running_check`: nothing is claimed before :data:`MIN_ANSWERS`
    answers were predicted (it says how many more are needed), then "it guessed k of your last n choices
    before you made them" with the generic score's count and :func:`describe`'s verdict."""
    n = int((check or {}).get("cv_answers") or 0)
    if n < MIN_ANSWERS:
        more = MIN_ANSWERS - n
        return f"Answer {more} more pair{'s' if more != 1 else ''} to see how well it knows your taste."
    level, versus = assess(check)
    verdict = _verdict(level, versus)
    return (f"It guessed {check['guessed']} of your last {n} choices before you made them "
            f"(the generic score {check['generic_guessed']}). {verdict}.")


def describe_last(check: Optional[dict]) -> str:
    """A few words on the newest answer: whether the model that had not seen it guessed it ("" without one)."""
    last = (check or {}).get("last")
    if last is None:
        return ""
    return "it guessed your last choice" if last else "your last choice surprised it"


def describe_latest(guessed: int, n: int) -> str:
    """Words on the last ``n`` answers given at once (a drag-to-order: each neighbour pair is an answer),
    each predicted before it was learned from ("" without any)."""
    if n <= 0:
        return ""
    if n == 1:
        return "It had guessed this one before you gave it." if guessed else "It had not guessed this one."
    return f"Before you gave them, it had guessed {guessed} of these {n}."
