"""The enhancer benchmark behind ``piaa bench enhance``: several methods on held-out retouch pairs.

Methods: identity, auto-contrast, the user's mean parameters, direct regression of parameters from
features, the DRL policy (pre-trained, personalised, starting from neutral) and the hybrid (policy
starting from the regression's prediction). Metrics on the held-out pairs at their stored size:
mean PSNR (dB, RGB in [0,1]) and mean CIEDE2000.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from piaa_desktop.core import develop
from piaa_desktop.core.enhance import env as E
from piaa_desktop.core.enhance.state import STATE_SIDE
from piaa_desktop.core.jobs import CancelToken, ProgressCallback, ensure

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")


def find_pairs(root: Path) -> list[tuple[Path, Path]]:
    """``root/input/NAME`` with ``root/<target folder>/NAME`` (the one non-input folder holding the most matches)."""
    root = Path(root)
    inp = root / "input"
    if not inp.is_dir():
        raise FileNotFoundError(f"{root} has no input/ folder")
    names = {p.name for p in inp.iterdir() if p.suffix.lower() in IMAGE_EXT}
    best, best_n = None, 0
    for d in sorted(root.iterdir()):
        if d.is_dir() and d.name != "input":
            n = len(names & {p.name for p in d.iterdir()})
            if n > best_n:
                best, best_n = d, n
    if best is None:
        raise FileNotFoundError(f"{root} has no target folder with the same file names as input/")
    return [(inp / n, best / n) for n in sorted(names) if (best / n).exists()]


def _load_srgb(path: Path, side: int = 0) -> np.ndarray:
    """An image as sRGB floats: an embedded ICC profile (e.g. FiveK a4576's ProPhoto input) is converted
    to sRGB first, so input and target are compared in the same colour space."""
    from PIL import Image

    from piaa_desktop.core.imageio import load_rgb, pil_open

    with pil_open(path) as im:
        icc = im.info.get("icc_profile")
        if icc:
            import io

            from PIL import ImageCms

            try:
                rgb = ImageCms.profileToProfile(
                    im.convert("RGB"), ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
                    outputMode="RGB",
                )
            except (ImageCms.PyCMSError, OSError, ValueError):
                rgb = None
            if rgb is not None:
                if side and max(rgb.size) > side:
                    rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
                return develop.to_float(rgb)
    return develop.to_float(load_rgb(path, max_size=side or None))


def load_pair(src: Path, dst: Path, side: int = 0) -> tuple[np.ndarray, np.ndarray]:
    a = _load_srgb(src, side)
    b = _load_srgb(dst, side)
    if a.shape != b.shape:
        from PIL import Image

        b = develop.to_float(Image.fromarray((b * 255 + 0.5).astype(np.uint8)).resize((a.shape[1], a.shape[0]), Image.Resampling.LANCZOS))
    return a, b


def evaluate_split(
    train: Sequence[tuple[np.ndarray, np.ndarray]],
    test: Sequence[tuple[np.ndarray, np.ndarray]],
    init_weights: Optional[dict],
    shipped=None,
    rounds: int = 10,
    seed: int = 0,
    cancel: Optional[CancelToken] = None,
    log: Optional[Callable[[str], None]] = None,
    targets_z: Optional[np.ndarray] = None,
) -> dict[str, list[tuple[float, float]]]:
    """Per-method list of (psnr, de2000) over ``test`` after learning from ``train`` (``targets_z``: the
    parameters fitted to the training pairs, when already known; else they are fitted here)."""
    from piaa_desktop.core.enhance.model import EnhancerModel, train_from_pairs

    model, _net = train_from_pairs(train, init_weights=init_weights, rounds=rounds, seed=seed, cancel=cancel, log=log,
                                   targets_z=targets_z)
    start = model.start
    res: dict[str, list] = {}

    def add(name, out, tgt):
        res.setdefault(name, []).append((develop.psnr(out, tgt), develop.delta_e2000(out, tgt)))

    for src, tgt in test:
        small = develop.proxy(src, STATE_SIDE)
        add("identity", src, tgt)
        add("auto_contrast", develop.auto_contrast(src), tgt)
        add("mean_params", develop.render(src, E.z_to_params(start.mean_z)), tgt)
        add("regression", develop.render(src, E.z_to_params(start.predict(small))), tgt)
        if shipped is not None:
            add("drl_pretrained", develop.render(src, shipped.enhance(src, use_start=False)), tgt)
        add("drl", develop.render(src, model.enhance(src, use_start=False)), tgt)
        add("drl_hybrid", develop.render(src, model.enhance(src, use_start=True)), tgt)
        # what the gate-validated refinement gives (auto-enhance applies it only if REFINE_ENABLED)
        validated = EnhancerModel(model.policy, model.start, None,
                                  dict(model.meta, refine=bool(model.meta.get("refine_validated", model.meta.get("refine")))))
        add("drl_hybrid_validated", develop.render(src, validated.enhance(src, use_start=True)), tgt)
        if not model.meta.get("refine", True):  # what the ungated refinement would have given
            ungated = EnhancerModel(model.policy, model.start, None, {})
            add("drl_hybrid_ungated", develop.render(src, ungated.enhance(src, use_start=True)), tgt)
        else:
            add("drl_hybrid_ungated", develop.render(src, model.enhance(src, use_start=True)), tgt)
    return res


def run_bench(
    pairs_dir: Optional[Path] = None,
    train_n: int = 15,
    repeats: int = 1,
    train_dir: Optional[Path] = None,
    test_dir: Optional[Path] = None,
    rounds: int = 10,
    seed: int = 0,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    log: Optional[Callable[[str], None]] = None,
    folds: int = 0,
) -> list[dict]:
    """Rows of {method, train, test, repeats, psnr_mean, de2000_mean, ...} (means over all held-out photos)."""
    progress, cancel = ensure(progress, cancel)
    from piaa_desktop.core.enhance.model import EnhancerError, load_shipped

    try:
        shipped = load_shipped()
        init = shipped.weights
    except EnhancerError:
        shipped, init = None, None
    splits = []
    if train_dir is not None:
        tr = [load_pair(*p) for p in find_pairs(train_dir)]
        te = [load_pair(*p) for p in find_pairs(test_dir)]
        splits.append((tr, te))
        n_train = len(tr)
    else:
        allp = [load_pair(*p) for p in find_pairs(pairs_dir)]
        if train_n >= len(allp) or train_n < 1:
            raise ValueError(f"--train must be between 1 and {len(allp) - 1} for {len(allp)} pairs")
        n_train = train_n
        rng = np.random.default_rng(seed)
        if folds:
            # disjoint test sets: every pair is tested exactly once (train on the other folds)
            order = rng.permutation(len(allp))
            parts = np.array_split(order, folds)
            n_train = len(allp) - len(parts[0])
            for part in parts:
                test_set = set(int(i) for i in part)
                splits.append(([allp[i] for i in order if int(i) not in test_set], [allp[i] for i in part]))
        for r in range(0 if folds else repeats):
            order = rng.permutation(len(allp))
            splits.append(([allp[i] for i in order[:train_n]], [allp[i] for i in order[train_n:]]))
    # the develop parameters of each training retouch are fitted once (the same fit every split would redo)
    from piaa_desktop.core.enhance.model import PAIR_SIDE
    from piaa_desktop.core.enhance.regress import fit_targets

    fitted: dict[int, np.ndarray] = {}
    need = {id(p): p for tr, _te in splits for p in tr}
    t_fit = time.time()
    Zs = fit_targets([(develop.proxy(a, PAIR_SIDE), develop.proxy(b, PAIR_SIDE)) for a, b in need.values()], cancel=cancel)
    fitted = {k: Zs[i] for i, k in enumerate(need)}
    if log:
        log(f"fitted the develop parameters of {len(need)} training retouches in {time.time() - t_fit:.0f} s")
    agg: dict[str, list] = {}
    per_split: dict[str, list] = {}
    seconds: list[float] = []
    t0 = time.time()
    for k, (tr, te) in enumerate(splits):
        cancel.raise_if_cancelled()
        progress(k, len(splits), f"split {k + 1}/{len(splits)}")
        t1 = time.time()
        res = evaluate_split(tr, te, init, shipped, rounds=rounds, seed=seed + k, cancel=cancel, log=log,
                             targets_z=np.stack([fitted[id(p)] for p in tr]))
        seconds.append(time.time() - t1)
        for m, v in res.items():
            agg.setdefault(m, []).extend(v)
            per_split.setdefault(m, []).append(round(float(np.mean([x[0] for x in v])), 2))
        if log:
            log(f"split {k + 1}/{len(splits)} done in {time.time() - t0:.0f}s: "
                + ", ".join(f"{m} {np.mean([x[0] for x in v]):.2f}" for m, v in res.items()))
    progress(len(splits), len(splits), "done")
    rows = []
    for m, v in agg.items():
        a = np.asarray(v)
        rows.append({
            "method": m,
            "train": n_train,
            "test": int(len(a) / max(1, len(splits))),
            "repeats": len(splits),
            "psnr_mean": round(float(a[:, 0].mean()), 3),
            "psnr_std": round(float(a[:, 0].std()), 3),
            "de2000_mean": round(float(a[:, 1].mean()), 3),
            "psnr_per_split": per_split[m],
            "seconds_per_split": [round(x, 1) for x in seconds],
        })
    return rows
