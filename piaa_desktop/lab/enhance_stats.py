"""Stats-space targets for the enhancer: the experiment of issue 11 (retouch2), kept so it can be re-run.

The idea under test: an expert aims at properties of the *result* (brightness level, tonal spread,
white balance, colourfulness), not at slider values, so (1) predict the statistics of the user's retouch
from the input photo (ridge, as the parameter regression), then (2) steer the develop sliders from the
parameter regression's start until the render has those statistics (the job a DRL policy would learn,
with "decrease of the statistics distance" as its reward). Here step (2) is done by an exact
least-squares controller, an upper bound for what a learned policy steering to the same target could
reach: if the exact controller loses to the regression, a policy trained to approximate it loses too.

Public pieces: :func:`render_stats` (9 statistics in CIELAB), :class:`StatsTarget` (ridge predicting
the retouch's statistics), :func:`steer` (sliders that give a render the wanted statistics), and
:func:`evaluate` (methods on held-out pairs, per split). ``benchmarks/enhance_stats_bench.py`` runs it
on FiveK Expert C and writes its section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from piaa_desktop.core import develop
from piaa_desktop.core.enhance import env as E
from piaa_desktop.core.enhance.regress import StartModel
from piaa_desktop.core.enhance.state import STATE_SIDE, image_features

STATS = ("L5", "L25", "L50", "L75", "L95", "L_sd", "a_mean", "b_mean", "chroma")
LUMINANCE = tuple(range(6))
COLOUR_CAST = (STATS.index("a_mean"), STATS.index("b_mean"))
WHITE_BALANCE = tuple(E.NAMES.index(k) for k in ("temperature", "tint"))
EVAL_SIDE = 64  # inner (training-pair) evaluations run on proxies of this size, as the product's gate


def render_stats(rgb: np.ndarray) -> np.ndarray:
    """(9,) statistics of an sRGB image in [0,1]: CIE L* percentiles 5/25/50/75/95 and spread, mean a*
    and b* (colour cast) and mean chroma, all divided by 100."""
    lab = develop.rgb_to_lab(np.asarray(rgb, np.float32)).reshape(-1, 3).astype(np.float64) / 100.0
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    return np.concatenate([np.percentile(L, (5, 25, 50, 75, 95)), [L.std(), a.mean(), b.mean(), np.hypot(a, b).mean()]])


def _ridge(X: np.ndarray, Y: np.ndarray, lam: float):
    mu = X.mean(0)
    sd = X.std(0) + 1e-3
    Xs = (X - mu) / sd
    ym = Y.mean(0)
    W = np.linalg.solve(Xs.T @ Xs + lam * np.eye(X.shape[1]), Xs.T @ (Y - ym))
    return mu, sd, ym, W


@dataclass
class StatsTarget:
    """Ridge from image features to the change of statistics the user's retouch makes (target stats
    minus input stats; with few pairs it shrinks towards the user's average change)."""

    mu: np.ndarray
    sd: np.ndarray
    mean_delta: np.ndarray
    W: np.ndarray
    spread: np.ndarray  # std of the retouches' statistics: the units the steering distance uses

    @classmethod
    def fit(cls, feats: np.ndarray, s_in: np.ndarray, s_tgt: np.ndarray, lam: float = 100.0) -> "StatsTarget":
        mu, sd, ym, W = _ridge(np.asarray(feats, np.float64), np.asarray(s_tgt) - np.asarray(s_in), lam)
        return cls(mu, sd, ym, W, np.asarray(s_tgt).std(0))

    def predict(self, feat: np.ndarray, s_in: np.ndarray) -> np.ndarray:
        return np.asarray(s_in) + self.mean_delta + ((np.asarray(feat, np.float64) - self.mu) / self.sd) @ self.W

    def weights(self, which: Optional[Sequence[int]] = None) -> np.ndarray:
        w = 1.0 / (self.spread + 0.01)
        if which is not None:
            keep = np.zeros_like(w)
            keep[list(which)] = w[list(which)]
            w = keep
        return w


def steer(
    src_small: np.ndarray,
    z0: np.ndarray,
    goal: np.ndarray,
    weights: np.ndarray,
    prox: float = 0.3,
    free: Optional[Sequence[int]] = None,
    max_nfev: int = 60,
) -> np.ndarray:
    """Normalised sliders near ``z0`` whose render of ``src_small`` has statistics ``goal``: least squares
    on ``weights * (stats - goal)`` plus ``prox * (z - z0)`` (only the sliders in ``free`` move)."""
    from scipy.optimize import least_squares

    z0 = np.asarray(z0, np.float64)
    free = np.arange(E.N_PARAMS) if free is None else np.asarray(free)

    def resid(zf):
        z = z0.copy()
        z[free] = zf
        return np.concatenate([(render_stats(develop.render(src_small, E.z_to_params(z))) - goal) * weights, prox * (zf - z0[free])])

    lo, hi = E.LO[free], E.HI[free]
    x0 = np.clip(z0[free], lo, hi)
    # forward differences of a fixed size: the render rounds sliders to 3 decimals
    res = least_squares(resid, x0, jac=develop.forward_jacobian(resid, hi, 1e-2), bounds=(lo, hi), max_nfev=max_nfev)
    z = z0.copy()
    z[free] = res.x
    return z


# ------------------------------------------------------------------------------------------ evaluation
# The methods' settings were fixed before the held-out runs; see benchmarks/RESULTS.md for how.
STEER_ALL = {"lam": 100.0, "prox": 0.3}  # the idea as briefed: every statistic, every slider
STEER_WB = {"lam": 100.0, "prox": 1.0}  # colour cast only, moved by temperature and tint


@dataclass
class Pair:
    src: np.ndarray  # stored size (evaluation)
    tgt: np.ndarray
    z: np.ndarray  # fitted sliders of the retouch (normalised)

    def __post_init__(self):
        self.small = develop.proxy(develop.proxy(self.src, 256), STATE_SIDE)
        self.feat = image_features(self.small)
        self.s_in = render_stats(self.small)
        self.s_tgt = render_stats(develop.proxy(develop.proxy(self.tgt, 256), STATE_SIDE))
        self.ev = (develop.proxy(self.src, EVAL_SIDE), develop.proxy(self.tgt, EVAL_SIDE))

    def psnr(self, z: np.ndarray, full: bool = True) -> float:
        s, t = (self.src, self.tgt) if full else self.ev
        return develop.psnr(develop.render(s, E.z_to_params(z)), t)


def _fit(pairs: Sequence[Pair], idx: Sequence[int], lam: Optional[float] = None):
    F = np.stack([pairs[i].feat for i in idx])
    Z = np.stack([pairs[i].z for i in idx])
    if lam is None:
        start, lam, _ = StartModel.fit_cv(F, Z, [pairs[i].ev[0] for i in idx], [pairs[i].ev[1] for i in idx])
    else:
        start = StartModel.fit(F, Z, lam=lam)
    s_in = np.stack([pairs[i].s_in for i in idx])
    s_tgt = np.stack([pairs[i].s_tgt for i in idx])
    stats = {k: StatsTarget.fit(F, s_in, s_tgt, lam=cfg["lam"]) for k, cfg in (("all", STEER_ALL), ("wb", STEER_WB))}
    return start, lam, stats


def _wb(p: Pair, z0: np.ndarray, st: StatsTarget) -> np.ndarray:
    return steer(p.small, z0, st.predict(p.feat, p.s_in), st.weights(COLOUR_CAST), STEER_WB["prox"], WHITE_BALANCE)


def gate_wb(pairs: Sequence[Pair], idx: Sequence[int], lam: float) -> tuple[bool, float, float]:
    """The honest gate: leave-one-out over the training pairs only. Steering is kept when the lower
    confidence bound (mean - 2 s.e.) of its gain over the regression is positive. Returns (on, mean, lcb)."""
    gains = []
    for j in idx:
        rest = [k for k in idx if k != j]
        start, _lam, stats = _fit(pairs, rest, lam)
        z0 = start.predict_features(pairs[j].feat)
        gains.append(pairs[j].psnr(_wb(pairs[j], z0, stats["wb"]), full=False) - pairs[j].psnr(z0, full=False))
    g = np.asarray(gains)
    lcb = float(g.mean() - 2 * g.std(ddof=1) / np.sqrt(len(g)))
    return lcb > 0.0, float(g.mean()), lcb


def evaluate(
    pairs: Sequence[Pair],
    splits: Sequence[tuple[Sequence[int], Sequence[int]]],
    log: Optional[Callable[[str], None]] = None,
) -> dict:
    """Per method, the held-out PSNR of every test pair of every split, in split order, plus the gate's
    decisions. Everything fitted on a split's training pairs only."""
    out: dict[str, list] = {}
    gates = []
    for k, (tr, te) in enumerate(splits):
        start, lam, stats = _fit(pairs, tr)
        on, g_mean, g_lcb = gate_wb(pairs, tr, lam)
        gates.append({"on": on, "inner_gain_db": round(g_mean, 3), "inner_gain_lcb_db": round(g_lcb, 3), "ridge_lambda": lam})
        for i in te:
            p = pairs[i]
            z0 = start.predict_features(p.feat)
            z_wb = _wb(p, z0, stats["wb"])
            st = stats["all"]
            z_all = steer(p.small, z0, st.predict(p.feat, p.s_in), st.weights(), STEER_ALL["prox"])
            z_true = steer(p.small, z0, p.s_tgt, st.weights(), STEER_ALL["prox"])
            for name, z in (("regression", z0), ("steer_all_stats", z_all), ("steer_colour_cast", z_wb),
                            ("steer_colour_cast_gated", z_wb if on else z0), ("ceiling: steer to the true stats", z_true),
                            ("ceiling: fitted sliders (oracle)", p.z)):
                out.setdefault(name, []).append(p.psnr(z))
        if log:
            log(f"split {k + 1}/{len(splits)}: lambda {lam:g}, gate {'on' if on else 'off'} (inner gain {g_mean:+.2f}, "
                f"lcb {g_lcb:+.2f} dB); " + ", ".join(f"{m} {np.mean(v[-len(te):]):.2f}" for m, v in out.items()))
    return {"psnr": out, "gates": gates}
