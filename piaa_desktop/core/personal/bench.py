"""Few-shot personalisation benchmark (``piaa bench personalize``).

For every user of a ratings table and every shot count, repeatedly sample that many rated photos for
adaptation, score the user's other rated photos and measure SROCC, PLCC and pairwise accuracy of:

* ``prior``        the meta-learned prior, no adaptation;
* ``avg_rater``    the average-rater model (plain regression on mean scores), no adaptation;
* ``ridge``        ridge regression on the standardised embeddings (penalty chosen by leave-one-out);
* ``avg_finetune`` the average-rater head fine-tuned with the same loss (tuned uniform step/pull);
* ``meta``         the meta-learned prior adapted (meta-learned init, steps and pulls);
* ``meta+tv:NAME`` the prior plus one base head (task vector) with a coefficient fitted to the
                   user's rankings, then adapted; ``meta+tv:mix`` mixes all base heads;
* ``base:NAME``    a base head alone (no user data), for reference.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from piaa_desktop.core.personal.adapt import adapt
from piaa_desktop.core.personal.heads import Prior
from piaa_desktop.core.personal.taskvec import fit_mixture, mixed_init


# ---------------------------------------------------------------- metrics
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


# ---------------------------------------------------------------- baselines
def ridge_loo(x: np.ndarray, y: np.ndarray, lambdas: Sequence[float] = (0.1, 1, 10, 100, 1000, 1e4)) -> tuple[np.ndarray, float]:
    """Ridge regression in dual form with the penalty picked by exact leave-one-out error."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    xm, ym = x.mean(0), y.mean()
    xc, yc = x - xm, y - ym
    k = xc @ xc.T
    best = None
    n = len(y)
    for lam in lambdas:
        if n < 3:
            break
        hat = k @ np.linalg.inv(k + lam * np.eye(n))
        res = (yc - hat @ yc) / np.maximum(1 - np.diag(hat), 1e-6)
        err = float((res**2).mean())
        if best is None or err < best[0]:
            best = (err, lam)
    lam = best[1] if best else 100.0
    alpha = np.linalg.solve(k + lam * np.eye(n), yc)
    w = xc.T @ alpha
    return w, float(ym - xm @ w)


@dataclass
class UserData:
    user: str
    feats: np.ndarray  # (n, d) prior features
    emb: np.ndarray  # (n, E) standardised embeddings (for ridge)
    stars: np.ndarray  # (n,)


def method_names(prior: Prior) -> list[str]:
    names = ["prior", "avg_rater", "ridge", "avg_finetune", "meta"]
    names += [f"meta+tv:{n}" for n in prior.base_names]
    if prior.base_names:
        names.append("meta+tv:mix")
    return names


def predict(method: str, prior: Prior, u: UserData, sup: np.ndarray, ev: np.ndarray) -> np.ndarray:
    f_s, f_e, y_s = u.feats[sup], u.feats[ev], u.stars[sup]
    if method == "prior":
        return f_e @ prior.w0 + prior.b0
    if method == "avg_rater":
        return f_e @ prior.avg_w + prior.avg_b
    if method.startswith("base:"):
        k = prior.base_names.index(method[5:])
        return f_e @ prior.base_w[k]
    if method == "ridge":
        w, b = ridge_loo(u.emb[sup], y_s)
        return u.emb[ev] @ w + b
    if method == "avg_finetune":
        h = adapt(prior, f_s, y_s, init=(prior.avg_w, prior.avg_b), lr=prior.ft_lr, rho=prior.ft_rho)
        return h.z(f_e)
    if method == "meta":
        return adapt(prior, f_s, y_s).z(f_e)
    if method.startswith("meta+tv:"):
        name = method[8:]
        heads = None if name == "mix" else [prior.base_names.index(name)]
        lam = fit_mixture(prior, f_s, y_s, heads=heads)
        return adapt(prior, f_s, y_s, init=mixed_init(prior, lam)).z(f_e)
    raise ValueError(f"unknown method {method!r}")


def evaluate(
    prior: Prior,
    users: Sequence[UserData],
    shots: Sequence[int] = (10, 100),
    repeats: int = 20,
    seed: int = 0,
    methods: Optional[Sequence[str]] = None,
    min_eval: int = 10,
    progress=None,
    cancel=None,
) -> list[dict]:
    """Aggregated results: one dict per (method, shots)."""
    from piaa_desktop.core.jobs import ensure

    progress, cancel = ensure(progress, cancel)
    methods = list(methods or method_names(prior))
    rng = np.random.default_rng(seed)
    acc: dict[tuple[str, int], dict[str, list]] = {}
    total = len(users) * len(shots)
    done = 0
    for u in users:
        for k in shots:
            done += 1
            if len(u.stars) < k + min_eval:
                continue
            for _ in range(repeats):
                cancel.raise_if_cancelled()
                perm = rng.permutation(len(u.stars))
                sup, ev = perm[:k], perm[k:]
                for m in methods:
                    p = predict(m, prior, u, sup, ev)
                    a = acc.setdefault((m, k), {"srocc": [], "plcc": [], "pair": [], "users": set()})
                    a["srocc"].append(srocc(p, u.stars[ev]))
                    a["plcc"].append(plcc(p, u.stars[ev]))
                    a["pair"].append(pair_accuracy(p, u.stars[ev]))
                    a["users"].add(u.user)
            progress(done, total, "benchmark")
    out = []
    for k in shots:
        ref = acc.get(("meta", k))
        for m in methods:
            a = acc.get((m, k))
            if not a:
                continue
            extra = {}
            if ref is not None and m != "meta":
                # every method saw the same support sets in the same order: paired differences
                diff = np.asarray(a["srocc"]) - np.asarray(ref["srocc"])
                extra = {"srocc_minus_meta_mean": float(diff.mean()),
                         "srocc_minus_meta_sem": float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0}
            out.append({
                "method": m, "shots": int(k),
                "srocc_mean": float(np.mean(a["srocc"])), "srocc_std": float(np.std(a["srocc"])),
                "plcc_mean": float(np.mean(a["plcc"])), "plcc_std": float(np.std(a["plcc"])),
                "pair_acc_mean": float(np.mean(a["pair"])), "pair_acc_std": float(np.std(a["pair"])),
                "n_users": len(a["users"]), "n_runs": len(a["srocc"]), **extra,
            })
    return out


def format_table(results: list[dict]) -> str:
    lines = [f"{'method':<24} {'shots':>5} {'SROCC':>14} {'PLCC':>7} {'pair acc':>8} {'users':>5} {'vs meta (paired)':>18}"]
    for r in results:
        vs = (f"{r['srocc_minus_meta_mean']:+.3f} ±{r['srocc_minus_meta_sem']:.3f}"
              if "srocc_minus_meta_mean" in r else "")
        lines.append(
            f"{r['method']:<24} {r['shots']:>5} {r['srocc_mean']:>7.3f} ±{r['srocc_std']:.3f} "
            f"{r['plcc_mean']:>7.3f} {r['pair_acc_mean']:>8.3f} {r['n_users']:>5} {vs:>18}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- features of a folder
def image_features(paths: Sequence[os.PathLike | str], progress=None, cancel=None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Embeddings, signals and the indices of decodable files, computed like the scanner does (512 px)."""
    from piaa_desktop.core.catalog import SIGNAL_COLUMNS
    from piaa_desktop.core.embeddings import Backbone
    from piaa_desktop.core.imageio import ImageError, load_rgb
    from piaa_desktop.core.jobs import ensure
    from piaa_desktop.core.signals import compute_signals

    progress, cancel = ensure(progress, cancel)
    bb = Backbone.shared()
    embs, sigs, ok = [], [], []
    for i in range(0, len(paths), 32):
        cancel.raise_if_cancelled()
        ims = []
        for j, p in enumerate(paths[i : i + 32]):
            try:
                im = load_rgb(p, max_size=512)
            except (ImageError, OSError):
                continue
            ims.append(im)
            s = compute_signals(np.asarray(im))
            sigs.append([s[c] for c in SIGNAL_COLUMNS])
            ok.append(i + j)
        if ims:
            embs.append(bb.embed(ims))
        progress(min(i + 32, len(paths)), len(paths), "embedding photos")
    e = np.concatenate(embs) if embs else np.zeros((0, 1280), np.float32)
    return e, np.asarray(sigs, np.float32).reshape(-1, len(SIGNAL_COLUMNS)), ok


def resolve_images(images_dir: Path, names: Sequence[str]) -> dict[str, Path]:
    """Map the image names of a ratings table to files under ``images_dir`` (relative path, then base name)."""
    images_dir = Path(images_dir)
    by_base: dict[str, Path] = {}
    for p in images_dir.rglob("*"):
        if p.is_file():
            by_base.setdefault(p.name, p)
    out = {}
    for n in names:
        cand = images_dir / n
        if cand.is_file():
            out[n] = cand
        elif os.path.basename(n) in by_base:
            out[n] = by_base[os.path.basename(n)]
    return out


def run_benchmark(
    images_dir: Path,
    ratings_csv: Path,
    shots: Sequence[int] = (10, 100),
    repeats: int = 20,
    seed: int = 0,
    prior: Optional[Prior] = None,
    methods: Optional[Sequence[str]] = None,
    fmt: str = "auto",
    progress=None,
    cancel=None,
    log: Callable[[str], None] = lambda s: None,
) -> list[dict]:
    from piaa_desktop.core.personal.datasets import load_ratings
    from piaa_desktop.core.personal.heads import load_prior

    prior = prior or load_prior()
    table = load_ratings(ratings_csv, fmt=fmt)
    names = sorted({r.image for r in table.rows})
    found = resolve_images(images_dir, names)
    missing = len(names) - len(found)
    if not found:
        raise FileNotFoundError(f"none of the {len(names)} rated images was found under {images_dir}")
    if missing:
        log(f"{missing} of {len(names)} rated images are not under {images_dir}; they are skipped")
    keys = sorted(found)
    emb, sig, ok = image_features([found[k] for k in keys], progress=progress, cancel=cancel)
    keys = [keys[i] for i in ok]
    index = {k: i for i, k in enumerate(keys)}
    feats = prior.features(emb, sig)
    ez = (emb - emb.mean(0)) / (emb.std(0) + 1e-6)
    users = []
    for user, items in sorted(table.by_user().items()):
        idx = [(index[n], s) for n, s in items.items() if n in index]
        if not idx:
            continue
        ii = np.array([a for a, _ in idx])
        users.append(UserData(user, feats[ii], ez[ii], np.array([s for _, s in idx], np.float64)))
    log(f"{len(users)} users, {len(keys)} photos")
    return evaluate(prior, users, shots, repeats, seed, methods, progress=progress, cancel=cancel)
