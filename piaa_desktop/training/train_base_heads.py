"""Base aesthetic heads trained without human labels (the task vectors of core.personal.taskvec).

Three sources of judgement, each a pairwise ranking problem over the prior's features phi:

* ``rankiqa``: an original photo ranks above its degraded versions (Gaussian blur, noise, JPEG
  artefacts, under/over exposure, colour cast, flattened contrast; RankIQA, Liu et al. 2017);
* ``composition``: an original ranks above poor crops of itself (tight off-centre windows and thin
  strips; the view-finding idea of Chen et al. 2017);
* ``fivek_retouch``: a FiveK Expert C retouch ranks above its unedited input (with paired crops/flips).

Each head is a linear direction fitted by L2-regularised pairwise logistic regression (Newton's
method), evaluated on held-out pairs (held-out bsds500 images; leave-pairs-out folds for FiveK) and
scaled to unit score spread over the training photos.
"""
from __future__ import annotations

import numpy as np

BASE_NAMES = ("rankiqa", "composition", "fivek_retouch")


def fit_pairwise(dx: np.ndarray, l2: float = 1.0, iters: int = 30) -> np.ndarray:
    """w minimising mean softplus(-dx @ w) + l2/len(dx) * |w|^2 (dx = good - bad features)."""
    n, d = dx.shape
    w = np.zeros(d)
    reg = l2 / n
    for _ in range(iters):
        m = dx @ w
        s = 1.0 / (1.0 + np.exp(np.clip(m, -30, 30)))
        g = -(dx * s[:, None]).mean(0) + 2 * reg * w
        h = (dx * (s * (1 - s))[:, None]).T @ dx / n + 2 * reg * np.eye(d)
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def pair_acc(dx: np.ndarray, w: np.ndarray) -> float:
    return float(((dx @ w) > 0).mean()) if len(dx) else float("nan")


def train_base_heads(cache: dict, transform, train_mask: np.ndarray, l2: float = 10.0, log=print) -> dict:
    """Fit the three heads; returns names, W (m,d), B (m,), metrics."""
    phi_o = transform(cache["orig_emb"], cache["orig_sig"])
    heads, metrics = [], {}

    # RankIQA degradations
    par = cache["deg_parent"]
    dx = phi_o[par] - transform(cache["deg_emb"], cache["deg_sig"])
    tr = train_mask[par]
    w = fit_pairwise(dx[tr], l2)
    acc = pair_acc(dx[~tr], w)
    per_kind = {}
    from piaa_desktop.training.personal_data import DEGRADATIONS

    for k, name in enumerate(DEGRADATIONS):
        sel = (~tr) & (cache["deg_kind"] == k)
        per_kind[name] = round(pair_acc(dx[sel], w), 3)
    metrics["rankiqa"] = {"held_out_pair_acc": round(acc, 3), "per_degradation": per_kind,
                          "train_pairs": int(tr.sum()), "test_pairs": int((~tr).sum())}
    heads.append(w)
    log(f"rankiqa: held-out pair accuracy {acc:.3f} {per_kind}")

    # Composition: originals above poor crops
    par = cache["crop_parent"]
    dx = phi_o[par] - transform(cache["crop_emb"], cache["crop_sig"])
    tr = train_mask[par]
    w = fit_pairwise(dx[tr], l2)
    acc = pair_acc(dx[~tr], w)
    metrics["composition"] = {"held_out_pair_acc": round(acc, 3), "train_pairs": int(tr.sum()),
                              "test_pairs": int((~tr).sum())}
    heads.append(w)
    log(f"composition: held-out pair accuracy {acc:.3f}")

    # FiveK: expert retouch above input; 5 folds over the 20 photos
    if "fk_pair" in cache:
        dx = transform(cache["fk_ex_emb"], cache["fk_ex_sig"]) - transform(cache["fk_in_emb"], cache["fk_in_sig"])
        grp = cache["fk_pair"]
        ids = np.unique(grp)
        folds = np.array_split(np.random.default_rng(0).permutation(ids), 5)
        correct = []
        for f in folds:
            te = np.isin(grp, f)
            wf = fit_pairwise(dx[~te], l2)
            correct.extend(((dx[te] @ wf) > 0).tolist())
        w = fit_pairwise(dx, l2)
        acc = float(np.mean(correct))
        metrics["fivek_retouch"] = {"cv_pair_acc": round(acc, 3), "pairs": int(len(dx)), "photos": int(len(ids))}
        heads.append(w)
        log(f"fivek_retouch: 5-fold (by photo) pair accuracy {acc:.3f}")
    names = list(BASE_NAMES[: len(heads)])
    W = np.stack(heads)
    # unit score spread over the training photos
    sd = (phi_o[train_mask] @ W.T).std(0)
    W = W / sd[:, None]
    B = -(phi_o[train_mask] @ W.T).mean(0)
    return {"names": names, "W": W.astype(np.float32), "B": B.astype(np.float32), "metrics": metrics}
