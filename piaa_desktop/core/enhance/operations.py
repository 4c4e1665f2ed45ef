"""Catalog-level enhancer jobs (plain functions with progress and cancel, run by the background worker)."""
from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np

from piaa_desktop.core import develop
from piaa_desktop.core.enhance import env as E
from piaa_desktop.core.enhance.model import (
    PAIR_SIDE,
    EnhancerError,
    EnhancerModel,
    RankFn,
    load_enhancer,
    load_shipped,
    save_personal,
    train_from_pairs,
)
from piaa_desktop.core.jobs import CancelToken, ProgressCallback, ensure

MIN_PAIRS = 2
PROXY_SIDE = 512  # auto-enhance decodes photos at this size (JPEG draft mode: fast even for 24 MP)


def _load_proxy(path: str, side: int) -> np.ndarray:
    from piaa_desktop.core.imageio import load_rgb

    return develop.proxy(load_rgb(path, max_size=side), side)


def train_enhancer_from_catalog(
    catalog,
    paths,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    rounds: int = 10,
    seed: int = 0,
    max_steps: int = 6,
) -> dict:
    """Fine-tune the enhancer on the photos the user edited (edits with source 'user').

    Targets are the photos rendered with the user's parameters (``develop.render``). The personal
    model is saved atomically under ``paths.personal_models``; a cancelled run leaves the previous one.
    Returns a summary dict (n_pairs, seconds, path, skipped).
    """
    from piaa_desktop.core.imageio import ImageError

    progress, cancel = ensure(progress, cancel)
    t0 = time.time()
    edits = catalog.edits(source="user")
    pairs, zs, skipped = [], [], []
    for pid, params in sorted(edits.items()):
        cancel.raise_if_cancelled()
        ph = catalog.photo(pid)
        if ph is None or ph.missing:
            continue
        try:
            # only the sliders the enhancer learns (a crop or a rotation is not a retouching style)
            p = E.z_to_params(E.params_to_z(params))
            if develop.is_identity(p):
                continue
            src = _load_proxy(ph.path, PAIR_SIDE)
        except (ImageError, OSError, ValueError) as exc:
            skipped.append(f"{ph.path}: {exc}")
            continue
        pairs.append((src, develop.render(src, p)))
        zs.append(E.params_to_z(p))
    if len(pairs) < MIN_PAIRS:
        raise EnhancerError(
            f"the enhancer needs at least {MIN_PAIRS} photos you edited yourself to learn from; found {len(pairs)}"
        )
    job = catalog.job_started("train_enhancer", {"n_pairs": len(pairs)})
    try:
        try:
            init = load_shipped().weights
        except EnhancerError:
            init = None
        try:
            model, net = train_from_pairs(
                pairs, init_weights=init, rounds=rounds, seed=seed, progress=progress, cancel=cancel,
                targets_z=np.stack(zs), max_steps=max_steps,
            )
        except ImportError as exc:  # torch missing or broken: an install problem the user can fix
            raise EnhancerError(
                f"learning a retouching style needs {exc.name or 'torch'}, which is not installed ({exc}). "
                "What to do: reinstall PIAA Desktop with its dependencies (pip install -e .), then learn again."
            ) from exc
        model.meta.update({"n_pairs": len(pairs), "trained_seconds": round(time.time() - t0, 1)})
        path = save_personal(model, net, paths)
    except BaseException as exc:
        catalog.job_finished(job, "cancelled" if type(exc).__name__ == "Cancelled" else "failed", str(exc)[:500])
        raise
    catalog.job_finished(job, "done", f"{len(pairs)} pairs")
    return {"n_pairs": len(pairs), "seconds": round(time.time() - t0, 1), "path": str(path), "skipped": skipped}


def auto_enhance_photos(
    catalog,
    photo_ids: Sequence[int],
    paths,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    model: Optional[EnhancerModel] = None,
    rank_fn: Optional[RankFn] = None,
):
    """Auto-enhance photos and store the parameters with source 'auto'; returns the undoable Change.

    Photos that cannot be read are left untouched (their previous edit is kept). Parameters are
    stored per photo (each photo gets its own), in one catalog transaction per photo batch.
    """
    from piaa_desktop.core.catalog import Change
    from piaa_desktop.core.imageio import ImageError

    progress, cancel = ensure(progress, cancel)
    model = model or load_enhancer(paths)
    results: dict[int, dict] = {}
    ids = list(dict.fromkeys(int(i) for i in photo_ids))
    for k, pid in enumerate(ids):
        cancel.raise_if_cancelled()
        ph = catalog.photo(pid)
        if ph is None or ph.missing:
            continue
        try:
            rgb = _load_proxy(ph.path, PROXY_SIDE)
        except (ImageError, OSError):
            continue
        results[pid] = E.merge_params(catalog.get_edit(pid), model.enhance(rgb, rank_fn=rank_fn))
        progress(k + 1, len(ids), f"auto-enhance {k + 1}/{len(ids)}")
    if not results:
        return Change("edit", "params", [])
    # one Change for the whole selection: group photos and merge the per-photo results
    merged = Change("edit", "params", [], {}, {})
    for pid, params in results.items():
        ch = catalog.set_edit([pid], params, source="auto")
        merged.photo_ids.extend(ch.photo_ids)
        merged.before.update(ch.before)
        merged.after.update(ch.after)
    return merged
