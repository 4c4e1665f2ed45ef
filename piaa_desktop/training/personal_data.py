"""Cache of backbone embeddings, ImageNet logits and pixel signals for the personal-model training.

Computed once over ``shared/data`` and saved to one ``.npz`` (default
``/tmp/piaa-personal-cache/features.npz``) so meta-training and base-head training run in minutes:

* ``orig_*``: every photo of bsds500 (and the FiveK inputs/retouches) as is;
* ``deg_*``: RankIQA-style degraded versions of bsds500 photos (blur, noise, JPEG, under/over exposure,
  colour cast, low contrast; two strengths) with the index of their original;
* ``crop_*``: poor crops of bsds500 photos (off-centre tight crops, thin strips) with their original;
* ``fk_*``: FiveK Expert C retouches and their unedited inputs, plus paired random crops/flips.

    python -m piaa_desktop.training.personal_data --data ../shared/data --out /tmp/piaa-personal-cache/features.npz
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

DEFAULT_CACHE = Path(os.environ.get("PIAA_PERSONAL_CACHE", "/tmp/piaa-personal-cache")) / "features.npz"
DEGRADATIONS = ("blur", "noise", "jpeg", "dark", "bright", "cast", "flat")


def degrade(im: Image.Image, kind: str, level: int, rng: np.random.Generator) -> Image.Image:
    """One degradation of strength level 1 (mild) or 2 (strong)."""
    if kind == "blur":
        return im.filter(ImageFilter.GaussianBlur(radius=(1.5, 3.5)[level - 1]))
    if kind == "noise":
        a = np.asarray(im, dtype=np.float32)
        a = a + rng.normal(0, (10.0, 28.0)[level - 1], a.shape)
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if kind == "jpeg":
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=(12, 4)[level - 1])
        buf.seek(0)
        return Image.open(buf, formats=("JPEG",)).convert("RGB")
    if kind == "dark":
        return ImageEnhance.Brightness(im).enhance((0.5, 0.25)[level - 1])
    if kind == "bright":
        return ImageEnhance.Brightness(im).enhance((1.7, 2.6)[level - 1])
    if kind == "cast":
        a = np.asarray(im, dtype=np.float32)
        shift = rng.normal(0, 1, 3)
        shift = shift / (np.linalg.norm(shift) + 1e-6) * (30.0, 60.0)[level - 1]
        return Image.fromarray(np.clip(a + shift, 0, 255).astype(np.uint8))
    if kind == "flat":
        return ImageEnhance.Contrast(im).enhance((0.45, 0.2)[level - 1])
    raise ValueError(kind)


def poor_crop(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A badly framed crop: a tight off-centre window or a thin strip cutting the scene."""
    w, h = im.size
    if rng.random() < 0.5:
        f = rng.uniform(0.35, 0.5)
        cw, ch = int(w * f), int(h * f)
        # hug a border or a corner
        x = int(rng.choice([0, w - cw, rng.integers(0, w - cw + 1)]))
        y = int(rng.choice([0, h - ch]))
    else:
        if rng.random() < 0.5:
            cw, ch = w, int(h * rng.uniform(0.2, 0.3))
        else:
            cw, ch = int(w * rng.uniform(0.2, 0.3)), h
        x = int(rng.integers(0, w - cw + 1))
        y = int(rng.integers(0, h - ch + 1))
    return im.crop((x, y, x + cw, y + ch))


def paired_aug(a: Image.Image, b: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Image.Image]:
    """The same random crop (70-95 % side) and flip applied to both images of a pair."""
    w, h = a.size
    b = b.resize((w, h))
    f = rng.uniform(0.7, 0.95)
    cw, ch = int(w * f), int(h * f)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    a, b = a.crop((x, y, x + cw, y + ch)), b.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        a, b = a.transpose(Image.Transpose.FLIP_LEFT_RIGHT), b.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return a, b


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


def build_cache(data: Path, out: Path, n_deg_train: int = 200, n_deg_test: int = 60, seed: int = 0) -> dict:
    from piaa_desktop.core.imageio import load_rgb
    from piaa_desktop.lab.simulate import image_split

    rng = np.random.default_rng(seed)
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

    split = np.array([image_split(n) for n in names])
    train_idx = rng.permutation(np.flatnonzero(split == "train"))[:n_deg_train]
    test_idx = rng.permutation(np.flatnonzero(split == "test"))[:n_deg_test]
    deg_ims, deg_parent, deg_kind, deg_level = [], [], [], []
    crop_ims, crop_parent = [], []
    for i in np.concatenate([train_idx, test_idx]):
        for k, kind in enumerate(DEGRADATIONS):
            lv = int(rng.integers(1, 3))
            deg_ims.append(degrade(ims[i], kind, lv, rng))
            deg_parent.append(i)
            deg_kind.append(k)
            deg_level.append(lv)
        for _ in range(2):
            crop_ims.append(poor_crop(ims[i], rng))
            crop_parent.append(i)
    e, l, s = emb(deg_ims)
    out_d.update(deg_emb=e, deg_sig=s, deg_parent=np.array(deg_parent), deg_kind=np.array(deg_kind),
                 deg_level=np.array(deg_level))
    print(f"degradations: {len(deg_ims)} in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    e, l, s = emb(crop_ims)
    out_d.update(crop_emb=e, crop_sig=s, crop_parent=np.array(crop_parent))
    print(f"crops: {len(crop_ims)} in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)

    fk_in, fk_ex, fk_pair = [], [], []
    fdir = data / "fivek_expert_c"
    fk_files = sorted((fdir / "input").glob("*.png")) if fdir.exists() else []
    for k, p in enumerate(fk_files):
        q = fdir / "expert_c" / p.name
        if not q.exists():
            continue
        a, b = load_rgb(p, max_size=512), load_rgb(q, max_size=512)
        fk_in.append(a)
        fk_ex.append(b.resize(a.size))
        fk_pair.append(k)
        for _ in range(6):
            x, y = paired_aug(a, b, rng)
            fk_in.append(x)
            fk_ex.append(y)
            fk_pair.append(k)
    if fk_in:
        e1, _, s1 = emb(fk_in)
        e2, _, s2 = emb(fk_ex)
        out_d.update(fk_in_emb=e1, fk_in_sig=s1, fk_ex_emb=e2, fk_ex_sig=s2, fk_pair=np.array(fk_pair))
    print(f"fivek pairs: {len(fk_in)} in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
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
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    build_cache(args.data, args.out, seed=args.seed)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
