"""Pre-training by distort-and-recover: real photos, a random plausible edit, a policy that undoes it.

Reproduce the shipped policy (bsds500 only, so the FiveK pairs stay held out)::

    python -m piaa_desktop.lab.enhance_pretrain --photos ../shared/data/bsds500 --out models/enhancer_policy.onnx

It writes ``enhancer_policy.onnx`` and ``enhancer_policy.npz`` (the same weights for fine-tuning) and,
with ``--manifest``, their entries in ``models/manifest.json``.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from piaa_desktop.core import develop
from piaa_desktop.core.enhance import env as E
from piaa_desktop.core.enhance.state import STATE_SIDE
from piaa_desktop.core.jobs import CancelToken, ProgressCallback


def load_photos(folder: Path, limit: int = 0, side: int = 128) -> list[np.ndarray]:
    from piaa_desktop.core.imageio import ImageError, load_rgb

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff"))
    if limit:
        files = files[:limit]
    out = []
    for f in files:
        try:
            out.append(develop.proxy(load_rgb(f, max_size=side * 2), side))
        except (ImageError, OSError, TypeError):
            continue
    return out


def pretrain(
    photos: Sequence[np.ndarray],
    rounds: int = 40,
    episodes_per_round: int = 8,
    seed: int = 0,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    log: Optional[Callable[[str], None]] = None,
):
    """Train a Q-network to undo random edits of ``photos``; returns the torch network."""
    from piaa_desktop.core.enhance.policy import train_q

    if not photos:
        raise ValueError("no photos to pre-train on")

    def make_episode(rng: np.random.Generator) -> E.Episode:
        orig = photos[int(rng.integers(len(photos)))]
        distorted = develop.render(orig, E.random_distortion(rng))
        return E.Episode.make(distorted, orig)

    return train_q(make_episode, rounds=rounds, episodes_per_round=episodes_per_round, seed=seed,
                   progress=progress, cancel=cancel, log=log)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", default=str(Path(__file__).resolve().parents[4] / "shared" / "data" / "bsds500"))
    ap.add_argument("--out", default="models/enhancer_policy.onnx")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--episodes", type=int, default=8, help="episodes per round")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--manifest", action="store_true", help="write the models/manifest.json entries")
    args = ap.parse_args(argv)

    from piaa_desktop.core.enhance.policy import export_onnx, state_dict_numpy
    from piaa_desktop.core.fsutil import atomic_write

    t0 = time.time()
    photos = load_photos(Path(args.photos), args.limit)
    print(f"{len(photos)} photos from {args.photos}", file=sys.stderr)
    net = pretrain(photos, rounds=args.rounds, episodes_per_round=args.episodes, seed=args.seed,
                   log=lambda m: print(m, file=sys.stderr, flush=True))
    out = Path(args.out)
    export_onnx(net, out)
    buf = io.BytesIO()
    np.savez(buf, **state_dict_numpy(net))
    with atomic_write(out.with_suffix(".npz")) as fh:
        fh.write(buf.getvalue())
    minutes = (time.time() - t0) / 60
    # quick check on held-in photos: mean CIEDE2000 before/after recovering fresh distortions
    from piaa_desktop.core.enhance.policy import OnnxPolicy, run_policy

    pol = OnnxPolicy(out)
    rng = np.random.default_rng(12345)
    before, after = [], []
    for orig in photos[-40:]:
        dist = develop.render(orig, E.random_distortion(rng))
        z = run_policy(pol, develop.proxy(dist, STATE_SIDE))
        before.append(develop.delta_e2000(dist, orig))
        after.append(develop.delta_e2000(develop.render(dist, E.z_to_params(z)), orig))
    metric = (
        f"distort-and-recover on 40 bsds500 photos (seed 12345): mean CIEDE2000 {np.mean(before):.2f} "
        f"distorted -> {np.mean(after):.2f} after the policy"
    )
    print(metric, f"({minutes:.1f} min)", file=sys.stderr)
    if args.manifest:
        from piaa_desktop.core.models import update_manifest_entry

        cmd = "python -m piaa_desktop.lab.enhance_pretrain " + " ".join(argv if argv is not None else sys.argv[1:])
        common = {
            "data": "bsds500 (500 real photos, shared/data/bsds500); FiveK held out",
            "license": "trained here (project licence)",
            "trained": cmd,
            "metric": metric,
        }
        update_manifest_entry(
            "enhancer_policy",
            dict(common, file=out.name,
                 kind="enhancer Q-network (ONNX, input state[N,%d], output q[N,%d])" % (E.STATE_DIM, E.N_ACTIONS)),
            out.parent,
        )
        update_manifest_entry(
            "enhancer_policy_weights",
            dict(common, file=out.with_suffix(".npz").name, kind="numpy weights of enhancer_policy (start of personal fine-tuning)"),
            out.parent,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
