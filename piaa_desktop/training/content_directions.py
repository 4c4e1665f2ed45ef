"""Content directions of the personal prior's features, from PARA's human content labels (train sessions only).

    python -m piaa_desktop.training.content_directions --data ../shared/data --cache /work/cache/taste3

PARA labels each photo with one of 9 contents (portrait, scene, animal, food, still life, building, night scene,
indoor, plant). A ridge read-out of those labels from the prior's *non-head* features (whitened PCA of the
embedding and pixel signals: core.personal.adapt.taste_blocks == 1), fitted on the train sessions' labelled
photos, spans the few directions in which contents differ; its top ``k`` singular directions (orthonormal) are
saved in ``models/content_directions.npz`` with the prior they belong to. ``residual_auto`` gives these
directions a penalty of their own, so a user's liking of a kind of content (flowers over houses) can be learned
from a few dozen answers without freeing the other 50 directions (benchmarks/RESULTS.md, "Learning from
'which do you prefer?' answers"). PARA terms: research and learning use only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

MODEL = "content_directions"


def directions(feats: np.ndarray, labels: np.ndarray, k: int = 8, ridge: float = 10.0) -> np.ndarray:
    """(d, k) orthonormal directions of ``feats`` (n, d) that best separate the integer ``labels`` (n,)."""
    x = np.asarray(feats, np.float64)
    x = x - x.mean(0)
    classes = np.unique(labels)
    y = (np.asarray(labels)[:, None] == classes[None, :]).astype(np.float64)
    y = y - y.mean(0)
    b = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    u, s, _ = np.linalg.svd(b, full_matrices=False)
    return u[:, : min(k, len(classes) - 1, u.shape[1])]


def save_for(prior, phi: np.ndarray, para, split: np.ndarray, out: Path, k: int = 8) -> dict:
    """Fit the content directions of ``prior`` (``phi``: its features of every PARA photo; ``para``: labels,
    ``split``: sessions' split) on the train sessions, write them to ``out`` and return a manifest entry (without
    its command)."""
    from piaa_desktop.core.fsutil import atomic_write
    from piaa_desktop.core.personal.adapt import taste_blocks

    rest = np.flatnonzero(taste_blocks(prior) == 1)
    phi = np.asarray(phi, np.float64)
    tr = (split == "train") & para.has_attr & (para.semantic >= 0)
    u = directions(phi[tr][:, rest], para.semantic[tr], k)
    # how well the directions carry the labels: nearest class mean in their span, on the val sessions
    va = (split == "val") & para.has_attr & (para.semantic >= 0)
    ptr, pva = phi[tr][:, rest] @ u, phi[va][:, rest] @ u
    classes = np.unique(para.semantic[tr])
    means = np.stack([ptr[para.semantic[tr] == c].mean(0) for c in classes])
    acc = float((classes[np.argmin(((pva[:, None, :] - means[None]) ** 2).sum(-1), 1)] == para.semantic[va]).mean()) \
        if va.any() else float("nan")
    with atomic_write(out, "wb") as fh:
        np.savez(fh, directions=u.astype(np.float32), columns=rest.astype(np.int32),
                 prior_trained_at=np.array(str(prior.info.get("trained_at", ""))), prior_dim=np.int32(prior.dim))
    return {
        "file": Path(out).name,
        "kind": f"{u.shape[1]} content directions of the personal prior's non-head features (numpy), used by "
                "residual_auto to learn a liking of kinds of content",
        "data": "PARA content labels of the train sessions' labelled photos (piaa_desktop/training/para_split.json)",
        "license": "trained here; inherits the PARA terms: research and learning use only, no commercial use",
        "metric": f"PARA val sessions: content label ({len(classes)} classes) by nearest class mean in the directions' "
                  f"span {acc:.3f} ({int(va.sum())} photos)",
        "train_photos": int(tr.sum()), "val_accuracy": acc,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--cache", type=Path, required=True, help="the PARA feature cache of train-prior")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--no-manifest", action="store_true")
    args = ap.parse_args(argv)

    from piaa_desktop.core.models import update_manifest_entry
    from piaa_desktop.core.paths import models_dir
    from piaa_desktop.core.personal.heads import load_prior
    from piaa_desktop.training.para_data import load_para, session_split
    from piaa_desktop.training.train_para_prior import load_features

    prior = load_prior()
    para = load_para(args.data)
    f = load_features(args.cache, args.data, log=lambda s: print(s, file=sys.stderr))
    out = models_dir() / f"{MODEL}.npz"
    entry = save_for(prior, prior.transform(f["emb"], f["sig"]), para, session_split(para.sessions), out, args.k)
    print(f"{out}: {entry['kind']}; {entry['metric']}")
    if not args.no_manifest:
        entry = {k: v for k, v in entry.items() if k not in ("train_photos", "val_accuracy")}
        entry["trained"] = (f"python -m piaa_desktop.training.content_directions --data ../shared/data --cache {args.cache}"
                            f" (for the prior trained {prior.info.get('trained_at')}; piaa train-prior remakes it)")
        update_manifest_entry(MODEL, entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
