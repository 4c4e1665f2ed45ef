"""Calibrate the embedding distance that makes two photos "the same shot" (core/stacks.py max_dist).

Near-duplicates are simulated from real BSDS500 photos the way burst frames differ: the framing shifts
(crops moved by 3-8 % of the frame), the exposure moves (+-0.3 EV), the camera tilts (2 degrees), a frame
is slightly soft. Distinct photos are all pairs of different BSDS photos. We report the cosine distance
(1 - cos) distributions of the shipped backbone's embeddings and how a threshold splits them.

    nice -n 10 .venv/bin/python benchmarks/calibrate_stacks.py [--n 120] [--write]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from piaa_desktop.core.embeddings import Backbone  # noqa: E402
from piaa_desktop.core.stacks import DEFAULT_MAX_DIST, content_vectors, cosine_distances  # noqa: E402

BSDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "bsds500"


def burst_variants(im: Image.Image, rng) -> list[Image.Image]:
    w, h = im.size
    out = []
    for frac in (0.03, 0.05, 0.08):
        dx, dy = int(w * frac * rng.choice([-1, 1])), int(h * frac * rng.choice([-1, 1]))
        box = (max(0, dx), max(0, dy), w + min(0, dx), h + min(0, dy))
        out.append(im.crop(box).resize((w, h), Image.Resampling.BILINEAR))
    out.append(ImageEnhance.Brightness(im).enhance(1.23))
    out.append(ImageEnhance.Brightness(im).enhance(0.81))
    out.append(im.rotate(2, resample=Image.Resampling.BILINEAR, expand=False).crop(
        (int(w * 0.03), int(h * 0.03), int(w * 0.97), int(h * 0.97))).resize((w, h)))
    out.append(im.filter(ImageFilter.GaussianBlur(1.2)))
    return out


VARIANT_NAMES = ["shift 3%", "shift 5%", "shift 8%", "+0.3 EV", "-0.3 EV", "tilt 2 deg", "soft (blur 1.2)"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    files = sorted(BSDS.glob("*.jpg"))[: args.n]
    if len(files) < 2:
        print(f"no photos in {BSDS}", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    bb = Backbone.shared()
    originals = [Image.open(f).convert("RGB") for f in files]
    emb = content_vectors(bb.embed(originals))  # what core.stacks compares
    dup_d: list[list[float]] = []
    for k, im in enumerate(originals):
        ve = content_vectors(bb.embed(burst_variants(im, rng)))
        dup_d.append(cosine_distances(emb[k : k + 1], ve)[0].tolist())
    dup = np.array(dup_d)  # (n, variants)
    dist = cosine_distances(emb, emb)
    iu = np.triu_indices(len(files), 1)
    other = dist[iu]
    lines = [
        f"{len(files)} BSDS500 photos, the backbone's head features (`core.stacks.content_vectors`, what stacks compare), cosine distance 1 - cos.",
        "",
        "| pairs | p5 | p50 | p95 | max |",
        "|---|---|---|---|---|",
    ]
    for j, name in enumerate(VARIANT_NAMES):
        d = dup[:, j]
        lines.append(f"| same photo, {name} | {np.percentile(d, 5):.3f} | {np.median(d):.3f} | "
                     f"{np.percentile(d, 95):.3f} | {d.max():.3f} |")
    lines.append(f"| different photos ({len(other)} pairs) | {np.percentile(other, 5):.3f} | {np.median(other):.3f} "
                 f"| {np.percentile(other, 95):.3f} | min {other.min():.4f} |")
    lines += ["", "| max_dist | near-duplicates joined | different photos joined |", "|---|---|---|"]
    for t in sorted({0.05, 0.08, 0.10, 0.12, 0.15, 0.18, 0.20, DEFAULT_MAX_DIST}):
        lines.append(f"| {t:.2f}{' (default)' if t == DEFAULT_MAX_DIST else ''} | {100 * (dup <= t).mean():.1f}% | "
                     f"{100 * (other <= t).mean():.2f}% |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        from _results import write_section

        write_section("Stacks: embedding distance calibration",
                      "nice -n 10 .venv/bin/python benchmarks/calibrate_stacks.py " + " ".join(sys.argv[1:]), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
