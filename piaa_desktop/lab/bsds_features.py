"""Cache of backbone embeddings, ImageNet logits and pixel signals of the bsds500 photos (``orig_*``).

Computed once over ``shared/data`` and saved to one ``.npz`` (default
``/tmp/piaa-personal-cache/features.npz``); benchmarks/personal_bench.py times adaptation on these real
features when the cache exists. (It was the retired bsds500 prior trainer's feature cache; the shipped
prior is trained on PARA by training/train_para_prior.py from training/para_features.py's features.)

    python -m piaa_desktop.lab.bsds_features --data ../shared/data --out /tmp/piaa-personal-cache/features.npz
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_CACHE = Path(os.environ.get("PIAA_PERSONAL_CACHE", "/tmp/piaa-personal-cache")) / "features.npz"


class _Embedder:
    def __init__(self):
        from piaa_desktop.core.embeddings import Backbone

        self.bb = Backbone.shared()

    def __call__(self, ims: list[Image.Image]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from piaa_desktop.core.catalog import SIGNAL_COLUMNS
        from piaa_desktop.core.embeddings import preprocess
        from piaa_desktop.core.signals import compute_signals

        embs, logits, sigs = [], [], []
        for i in range(0, len(ims), 32):
            chunk = ims[i : i + 32]
            e, l = self.bb.run(preprocess(chunk))
            embs.append(e)
            logits.append(l.astype(np.float16))
            for im in chunk:
                s = compute_signals(np.asarray(im.convert("RGB")))
                sigs.append([s[c] for c in SIGNAL_COLUMNS])
        return np.concatenate(embs), np.concatenate(logits), np.asarray(sigs, np.float32)


def build_cache(data: Path, out: Path) -> dict:
    from piaa_desktop.core.imageio import load_rgb

    t0 = time.time()
    emb = _Embedder()
    files = sorted((data / "bsds500").glob("*.jpg"))
    if not files:
        raise SystemExit(f"no photos in {data / 'bsds500'}")
    ims = [load_rgb(p, max_size=512) for p in files]
    names = [p.name for p in files]
    e, l, s = emb(ims)
    out_d: dict[str, np.ndarray] = {"orig_names": np.array(names), "orig_emb": e, "orig_logits": l, "orig_sig": s}
    print(f"originals: {len(names)} in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.npz")
    np.savez_compressed(tmp, **out_d)
    os.replace(tmp, out)
    return out_d


def load_cache(path: Path = DEFAULT_CACHE) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args(argv)
    build_cache(args.data, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
