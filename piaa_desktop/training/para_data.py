"""PARA (Yang et al., CVPR 2022) as arrays, and the fixed session split used for every PARA model.

``load_para(data)`` reads ``para/scores.csv`` (8,000 photos: session, aesthetic mean, quality mean, rater
count) and ``para/attributes.csv`` (2,790 of them: the 9-bin histogram of aesthetic scores and the
means of the human attribute ratings) into arrays aligned with scores.csv. ``session_split`` assigns each
*session* (a set of related shots) to train / val / test with a fixed seed and keeps the assignment in
``para_split.json`` next to this file, so every model and benchmark uses the same split: near-duplicates
never cross it, and the test portion is never used to choose anything.

PARA is for research and learning use only (no commercial use); a model trained on it inherits that.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLIT_FILE = Path(__file__).with_name("para_split.json")
SPLIT_SEED = 20261127
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
PARA_TERMS = "PARA (Yang et al., CVPR 2022): research and learning use only, no commercial use"

# attribute columns of attributes.csv (means on 1-5; object emphasis 0-1; difficulty -1..1)
ATTRIBUTES = (
    ("composition", "compositionScore_mean"),
    ("colour", "colorScore_mean"),
    ("depth of field", "dofScore_mean"),
    ("light", "lightScore_mean"),
    ("content", "contentScore_mean"),
    ("content preference", "contentPreference_mean"),
    ("willingness to share", "willingnessToShare_mean"),
)
SEMANTICS = ("portrait", "scene", "animal", "food", "stilllife", "building", "nightScene", "indoor", "plant")
HIST9 = [f"aestheticScore_{v:.1f}" for v in np.arange(1.0, 5.01, 0.5)]


def rebin9to5(h9: np.ndarray) -> np.ndarray:
    """9 bins (1.0, 1.5, ..., 5.0) -> 5 bins (1..5): a half-point score is split evenly between its two
    neighbouring stars. Rows are normalised to sum to 1 (rows without votes stay 0)."""
    h9 = np.asarray(h9, np.float64)
    h5 = np.zeros(h9.shape[:-1] + (5,))
    for k in range(9):
        if k % 2 == 0:
            h5[..., k // 2] += h9[..., k]
        else:
            h5[..., k // 2] += 0.5 * h9[..., k]
            h5[..., k // 2 + 1] += 0.5 * h9[..., k]
    s = h5.sum(-1, keepdims=True)
    return np.where(s > 0, h5 / np.where(s > 0, s, 1), 0.0)


@dataclass
class Para:
    names: list
    sessions: np.ndarray  # (N,) str
    aesthetic: np.ndarray  # (N,) mean of raters (outliers removed), 1-5
    quality: np.ndarray  # (N,)
    raters: np.ndarray  # (N,)
    has_attr: np.ndarray  # (N,) bool
    hist9: np.ndarray  # (N,9) vote counts (0 where unknown)
    hist5: np.ndarray  # (N,5) probabilities (0 where unknown)
    attrs: np.ndarray  # (N, len(ATTRIBUTES)) attribute means (nan where unknown)
    aes_std: np.ndarray  # (N,) sd of the aesthetic votes (nan where unknown)
    semantic: np.ndarray  # (N,) int index into SEMANTICS, -1 unknown/other

    def __len__(self) -> int:
        return len(self.names)


def load_para(data: Path) -> Para:
    para = Path(data) / "para"
    with open(para / "scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [r["image"] for r in rows]
    idx = {n: i for i, n in enumerate(names)}
    n = len(rows)
    hist9 = np.zeros((n, 9))
    attrs = np.full((n, len(ATTRIBUTES)), np.nan)
    aes_std = np.full(n, np.nan)
    sem = np.full(n, -1)
    has = np.zeros(n, bool)
    with open(para / "attributes.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            i = idx.get(r["imageName"])
            if i is None:
                continue
            has[i] = True
            hist9[i] = [float(r[c]) for c in HIST9]
            attrs[i] = [float(r[c]) for _, c in ATTRIBUTES]
            aes_std[i] = float(r["aestheticScore_std"])
            sem[i] = SEMANTICS.index(r["semantic"]) if r["semantic"] in SEMANTICS else -1
    return Para(
        names=names, sessions=np.array([r["session"] for r in rows]),
        aesthetic=np.array([float(r["aesthetic_mean"]) for r in rows]),
        quality=np.array([float(r["quality_mean"]) for r in rows]),
        raters=np.array([float(r["raters"]) for r in rows]),
        has_attr=has, hist9=hist9, hist5=rebin9to5(hist9), attrs=attrs, aes_std=aes_std, semantic=sem,
    )


def session_split(sessions, path: Path = SPLIT_FILE) -> np.ndarray:
    """(N,) array of 'train' / 'val' / 'test' by session, from ``path`` (created once, seeded)."""
    sessions = [str(s) for s in sessions]
    if path.exists():
        assign = json.loads(path.read_text())["sessions"]
    else:
        uniq = sorted(set(sessions))
        perm = np.random.default_rng(SPLIT_SEED).permutation(len(uniq))
        n_tr = int(round(SPLIT_FRACTIONS[0] * len(uniq)))
        n_va = int(round(SPLIT_FRACTIONS[1] * len(uniq)))
        assign = {}
        for rank, k in enumerate(perm):
            assign[uniq[k]] = "train" if rank < n_tr else ("val" if rank < n_tr + n_va else "test")
        path.write_text(json.dumps({
            "about": "PARA train/val/test split by session (seeded permutation of the sorted session ids). "
                     "Models are fitted on train, every choice is made on val, test is only reported.",
            "seed": SPLIT_SEED, "fractions": list(SPLIT_FRACTIONS), "sessions": dict(sorted(assign.items())),
        }, indent=1) + "\n")
    missing = sorted(set(sessions) - set(assign))
    if missing:
        raise ValueError(f"{len(missing)} sessions are not in {path} (e.g. {missing[0]})")
    return np.array([assign[s] for s in sessions])
