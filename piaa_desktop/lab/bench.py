"""Few-shot personalisation benchmark (``piaa bench personalize``).

For every user of a ratings table and every shot count (0 = zero-shot), repeatedly sample that many
rated photos for adaptation, score the user's other rated photos and measure SROCC, PLCC and pairwise
accuracy of:

* ``generic``      the generic (population) model, no adaptation (``avg_rater`` is the same head);
* ``prior``        the meta-learned initialisation, no adaptation;
* ``ridge``        ridge regression on the standardised embeddings (penalty chosen by leave-one-out);
* ``residual``     the generic head plus a ridge fit of the user's residuals (MAP, shrinkage chosen on
                   simulated raters);
* ``residual_auto`` the same MAP head with the shrinkage chosen per user from their own answers (exact
                   leave-one-out / k-fold; separate penalties for the named heads' columns and the rest);
* ``avg_finetune`` the generic head fine-tuned with the same loss (tuned uniform step/pull);
* ``meta``         the prior adapted with meta-learned steps and pulls;
* ``meta+tv:NAME`` the prior plus one base head (task vector) with a coefficient fitted to the
                   user's rankings, then adapted; ``meta+tv:mix`` mixes all base heads;
* ``base:NAME``    a base head alone (no user data), for reference.

With pairwise answers instead of ratings (``--pairs``), each user's answered pairs are split into k
training pairs and the rest; every method adapts to the training pairs and is scored by its accuracy
on the other pairs. The rows of the method the app ships (recorded in the prior) carry ``"default": true``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from piaa_desktop.core.personal.adapt import METHODS as APP_METHODS
from piaa_desktop.core.personal.adapt import adapt, personal_head
from piaa_desktop.core.personal.heads import Prior
from piaa_desktop.core.personal.taskvec import fit_mixture, mixed_init


# ---------------------------------------------------------------- metrics
from piaa_desktop.core.personal.metrics import margin_accuracy, pair_accuracy, plcc, rankdata, srocc  # noqa: E402,F401


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
    names = ["generic", "ridge", "residual", "residual_auto", "avg_finetune", "meta"]
    if prior.base_names:
        names.append("meta+tv:mix")
    return names


def default_method(prior: Prior) -> str:
    from piaa_desktop.core.personal.adapt import default_method as app_default

    return app_default(prior)


def _zero(prior: Prior) -> np.ndarray:
    return np.zeros((0, prior.dim))


def predict(method: str, prior: Prior, u: UserData, sup: np.ndarray, ev: np.ndarray) -> np.ndarray:
    f_s, f_e, y_s = u.feats[sup], u.feats[ev], u.stars[sup]
    if method == "prior":
        return f_e @ prior.w0 + prior.b0
    if method in ("avg_rater", "generic"):
        return f_e @ prior.avg_w + prior.avg_b
    if method.startswith("base:"):
        k = prior.base_names.index(method[5:])
        return f_e @ prior.base_w[k]
    if method == "ridge":
        if len(sup) < 2:
            return np.zeros(len(ev))
        w, b = ridge_loo(u.emb[sup], y_s)
        return u.emb[ev] @ w + b
    if method in APP_METHODS:
        return personal_head(prior, f_s, y_s, method=method).z(f_e)
    if method.startswith("meta+tv:"):
        name = method[8:]
        heads = None if name == "mix" else [prior.base_names.index(name)]
        lam = fit_mixture(prior, f_s, y_s, heads=heads)
        return adapt(prior, f_s, y_s, init=mixed_init(prior, lam)).z(f_e)
    raise ValueError(f"unknown method {method!r}")


def _aggregate(acc: dict, shots: Sequence[int], methods: Sequence[str], default: str, ref_name: str = "meta") -> list[dict]:
    out = []
    for k in shots:
        ref = acc.get((ref_name, k))
        for m in methods:
            a = acc.get((m, k))
            if not a:
                continue
            extra = {}
            if ref is not None and m != ref_name and a["srocc"] and ref["srocc"]:
                # every method saw the same support sets in the same order: paired differences
                diff = np.asarray(a["srocc"]) - np.asarray(ref["srocc"])
                extra = {"srocc_minus_meta_mean": float(diff.mean()),
                         "srocc_minus_meta_sem": float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0}
            row = {
                "method": m, "shots": int(k),
                "srocc_mean": float(np.mean(a["srocc"])) if a["srocc"] else None,
                "srocc_std": float(np.std(a["srocc"])) if a["srocc"] else None,
                "plcc_mean": float(np.mean(a["plcc"])) if a["plcc"] else None,
                "plcc_std": float(np.std(a["plcc"])) if a["plcc"] else None,
                "pair_acc_mean": float(np.mean(a["pair"])), "pair_acc_std": float(np.std(a["pair"])),
                "n_users": len(a["users"]), "n_runs": len(a["pair"]), **extra,
            }
            if m == default:
                row["default"] = True
            out.append(row)
    return out


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
    methods = list(methods or method_names(prior))
    acc: dict[tuple[str, int], dict[str, list]] = {}
    for u, k, sup, ev in _splits(users, lambda u: len(u.stars), shots, repeats, seed, min_eval, progress, cancel):
        for m in methods:
            p = predict(m, prior, u, sup, ev)
            a = acc.setdefault((m, k), {"srocc": [], "plcc": [], "pair": [], "users": set()})
            a["srocc"].append(srocc(p, u.stars[ev]))
            a["plcc"].append(plcc(p, u.stars[ev]))
            a["pair"].append(pair_accuracy(p, u.stars[ev]))
            a["users"].add(u.user)
    return _aggregate(acc, shots, methods, default_method(prior))


def _splits(users, size, shots, repeats, seed, min_eval, progress, cancel):
    """(user, k, support indices, evaluation indices) for every user and k: ``repeats`` random splits of the
    user's ``size(u)`` items (one for k = 0: zero-shot has nothing to resample); users with fewer than
    ``k + min_eval`` items are passed over. One seeded generator, so every method sees the same splits."""
    from piaa_desktop.core.jobs import ensure

    progress, cancel = ensure(progress, cancel)
    rng = np.random.default_rng(seed)
    total = len(users) * len(shots)
    done = 0
    for u in users:
        for k in shots:
            done += 1
            n = size(u)
            if n < k + min_eval:
                continue
            for _ in range(repeats if k > 0 else 1):
                cancel.raise_if_cancelled()
                perm = rng.permutation(n)
                yield u, k, perm[:k], perm[k:]
            progress(done, total, "benchmark")


@dataclass
class PairUserData:
    """One user's answered pairs: features of the chosen and of the rejected photo of each pair."""

    user: str
    win: np.ndarray  # (P, d) prior features
    lose: np.ndarray  # (P, d)
    win_emb: np.ndarray  # (P, E) standardised embeddings
    lose_emb: np.ndarray


def _pairwise_logistic(dx: np.ndarray, l2: float = 1.0, iters: int = 20) -> np.ndarray:
    n, d = dx.shape
    w = np.zeros(d)
    for _ in range(iters):
        m = dx @ w
        s = 1.0 / (1.0 + np.exp(np.clip(m, -30, 30)))
        g = -(dx.T @ s) + 2 * l2 * w
        h = (dx * (s * (1 - s))[:, None]).T @ dx + 2 * l2 * np.eye(d)
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def predict_pairs(method: str, prior: Prior, u: PairUserData, tr: np.ndarray, ev: np.ndarray) -> np.ndarray:
    """Score margins (chosen minus rejected) of the evaluation pairs after adapting to the training pairs."""
    d_ev = u.win[ev] - u.lose[ev]
    if method == "prior":
        return d_ev @ prior.w0
    if method in ("avg_rater", "generic"):
        return d_ev @ prior.avg_w
    if method.startswith("base:"):
        return d_ev @ prior.base_w[prior.base_names.index(method[5:])]
    if method == "ridge":  # L2 pairwise logistic regression from scratch (no prior) on the same features
        if len(tr) == 0:
            return np.zeros(len(ev))
        return d_ev @ _pairwise_logistic(u.win[tr] - u.lose[tr], l2=1.0)
    empty = np.zeros(0)
    if method in APP_METHODS:
        h = personal_head(prior, _zero(prior), empty, u.win[tr], u.lose[tr], method=method)
        return h.z(u.win[ev]) - h.z(u.lose[ev])
    if method.startswith("meta+tv:"):
        name = method[8:]
        heads = None if name == "mix" else [prior.base_names.index(name)]
        lam = fit_mixture(prior, _zero(prior), empty, u.win[tr], u.lose[tr], heads=heads)
        h = adapt(prior, _zero(prior), empty, u.win[tr], u.lose[tr], init=mixed_init(prior, lam))
        return d_ev @ h.w
    raise ValueError(f"unknown method {method!r}")


def evaluate_pairs(
    prior: Prior,
    users: Sequence[PairUserData],
    shots: Sequence[int] = (10, 50),
    repeats: int = 20,
    seed: int = 0,
    methods: Optional[Sequence[str]] = None,
    min_eval: int = 10,
    progress=None,
    cancel=None,
) -> list[dict]:
    """Pairwise accuracy on each user's other pairs after k training pairs; one dict per (method, shots)."""
    methods = list(methods or method_names(prior))
    acc: dict[tuple[str, int], dict[str, list]] = {}
    for u, k, tr, ev in _splits(users, lambda u: len(u.win), shots, repeats, seed, min_eval, progress, cancel):
        for m in methods:
            margin = predict_pairs(m, prior, u, tr, ev)
            a = acc.setdefault((m, k), {"srocc": [], "plcc": [], "pair": [], "users": set()})
            a["pair"].append(margin_accuracy(margin))
            a["users"].add(u.user)
    return _aggregate(acc, shots, methods, default_method(prior))


def format_table(results: list[dict]) -> str:
    lines = [f"{'method':<24} {'shots':>5} {'SROCC':>14} {'PLCC':>7} {'pair acc':>8} {'users':>5} {'vs meta (paired)':>18}"]
    for r in results:
        vs = (f"{r['srocc_minus_meta_mean']:+.3f} ±{r['srocc_minus_meta_sem']:.3f}"
              if "srocc_minus_meta_mean" in r else "")
        sr = f"{r['srocc_mean']:>7.3f} ±{r['srocc_std']:.3f}" if r["srocc_mean"] is not None else f"{'-':>14}"
        pl = f"{r['plcc_mean']:>7.3f}" if r["plcc_mean"] is not None else f"{'-':>7}"
        name = r["method"] + (" *" if r.get("default") else "")
        lines.append(f"{name:<24} {r['shots']:>5} {sr} {pl} {r['pair_acc_mean']:>8.3f} {r['n_users']:>5} {vs:>18}")
    return "\n".join(lines)


# ---------------------------------------------------------------- features of a folder
def image_features(paths: Sequence[os.PathLike | str], progress=None, cancel=None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Embeddings, signals and the indices of decodable files, computed like the scanner does (512 px)."""
    from piaa_desktop.core.catalog import SIGNAL_COLUMNS
    from piaa_desktop.core.embeddings import EMBED_DIM, Backbone
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
    e = np.concatenate(embs) if embs else np.zeros((0, EMBED_DIM), np.float32)
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


# ---------------------------------------------------------------- pairwise answers
@dataclass
class PairRow:
    user: str
    left: str
    right: str
    winner: str
    category: str = ""


def load_pairs(path: os.PathLike | str) -> list[PairRow]:
    """``user,image_left,image_right,winner[,category]`` rows (other columns ignored). ``winner`` repeats
    one of the two paths; rows where it does not, or with a missing field, are skipped (counted)."""
    import csv

    from piaa_desktop.core.personal.datasets import RatingsError

    path = Path(path)
    if not path.is_file():
        raise RatingsError(f"pairs file not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            need = {"user", "image_left", "image_right", "winner"}
            if not need <= set(header):
                raise RatingsError(f"{path}: a pairs file needs the columns user,image_left,image_right,winner "
                                   f"(found {reader.fieldnames})")
            rows = []
            for r in reader:
                r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
                if not all(r.get(c) for c in need) or r["winner"] not in (r["image_left"], r["image_right"]):
                    continue
                rows.append(PairRow(r["user"], r["image_left"], r["image_right"], r["winner"], r.get("category", "")))
    except UnicodeDecodeError as exc:
        raise RatingsError(f"{path} is not a text CSV file: {exc}") from exc
    if not rows:
        raise RatingsError(f"{path}: no usable pair (user, image_left, image_right, winner equal to one of them)")
    return rows


def run_pairs_benchmark(
    images_dir: Path,
    pairs_csv: Path,
    shots: Sequence[int] = (0, 10, 50),
    repeats: int = 20,
    seed: int = 0,
    prior: Optional[Prior] = None,
    methods: Optional[Sequence[str]] = None,
    progress=None,
    cancel=None,
    log: Callable[[str], None] = lambda s: None,
) -> list[dict]:
    from piaa_desktop.core.personal.heads import load_prior

    prior = prior or load_prior()
    rows = load_pairs(pairs_csv)
    names = sorted({n for r in rows for n in (r.left, r.right)})
    found = resolve_images(images_dir, names)
    if not found:
        raise FileNotFoundError(f"none of the {len(names)} compared images was found under {images_dir}")
    if len(found) < len(names):
        log(f"{len(names) - len(found)} of {len(names)} compared images are not under {images_dir}; their pairs are skipped")
    keys = sorted(found)
    emb, sig, ok = image_features([found[k] for k in keys], progress=progress, cancel=cancel)
    keys = [keys[i] for i in ok]
    index = {k: i for i, k in enumerate(keys)}
    feats = prior.features(emb, sig)
    ez = (emb - emb.mean(0)) / (emb.std(0) + 1e-6) if len(emb) else emb
    by_user: dict[str, list[tuple[int, int]]] = {}
    for r in rows:
        if r.left in index and r.right in index:
            loser = r.right if r.winner == r.left else r.left
            by_user.setdefault(r.user, []).append((index[r.winner], index[loser]))
    users = []
    for user, pairs in sorted(by_user.items()):
        w = np.array([a for a, _ in pairs])
        l_ = np.array([b for _, b in pairs])
        users.append(PairUserData(user, feats[w], feats[l_], ez[w], ez[l_]))
    log(f"{len(users)} users, {sum(len(u.win) for u in users)} pairs over {len(keys)} photos")
    return evaluate_pairs(prior, users, shots, repeats, seed, methods, progress=progress, cancel=cancel)
