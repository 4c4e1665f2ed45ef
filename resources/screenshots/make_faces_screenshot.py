"""Make the README's faces screenshot with the real app, offscreen, at 1280x800:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_faces_screenshot.py --data-dir /tmp/piaa-faces

``faces.png``: the grid after the background faces pass, with the "eyes closed" and "soft face" badges, and the
Info panel listing the current photo's faces. The library is a copy of resources/sample_library plus two edits of
its public-domain astronaut.jpg made here: her eyes closed (:func:`close_eyes`: the lids in her own skin tone,
feathered, and a lash line where closed lids meet, below the open eye's middle; the shipped analyzer scores it
about 0.59, well above BLINK_THRESHOLD 0.41, which tests/test_ux_walkthrough.py checks) and a blurred copy.
The window set-up is offscreen.py's, shared by every screenshot script here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from offscreen import open_window  # noqa: E402  (also puts the checkout on the path: tests.test_faces)


# MediaPipe face mesh: the ring of each eye's lid contour (corner, lower lid..., corner, upper lid...)
EYE_RINGS = (
    [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246],
    [362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398],
)


def close_eyes(rgb, pts):
    """``rgb`` (uint8 HxWx3) with both eyes closed, from the face mesh landmarks ``pts``: each eye covered by its
    own lid skin (sampled between the eye and the brow), feathered into the face, and a soft dark lash line along
    the lower lid's curve a little lower, with short lashes hanging from it (closed upper lids come down past the
    middle of the open eye). A flat patch with a thin line (tests/test_faces.py's painter) scores ~0.38, under
    the threshold calibrated on real closed eyes; this reads as closed to a person and to the analyzer."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    base = Image.fromarray(rgb)
    lid, mask, lines = Image.new("RGB", base.size), Image.new("L", base.size, 0), Image.new("L", base.size, 0)
    d_lid, d_mask, d_lines = ImageDraw.Draw(lid), ImageDraw.Draw(mask), ImageDraw.Draw(lines)
    for ring in EYE_RINGS:
        p = pts[ring, :2]
        c = p.mean(0)
        w = float(np.linalg.norm(p[0] - p[8]))  # corner to corner
        y, x, r = int(c[1] - w * 0.45), int(c[0]), max(2, int(w * 0.08))
        skin = tuple(int(v) for v in rgb[y - r : y + r, x - r : x + r].reshape(-1, 3).mean(0))
        d_lid.polygon([tuple(q) for q in c + (p - c) * 1.7], fill=skin)  # wider than the mask: no dark rim
        d_mask.polygon([tuple(q) for q in c + (p - c) * 1.3], fill=255)
        meet = p[0:9].copy()
        meet[:, 1] += 0.08 * w
        d_lines.line([tuple(q) for q in meet], fill=255, width=2)
        for q in meet[2:8]:
            d_lines.line([tuple(q), (q[0] - w * 0.02, q[1] + w * 0.10)], fill=200, width=1)
    out = Image.composite(lid, base, mask.filter(ImageFilter.GaussianBlur(1.5)))
    out = Image.composite(Image.new("RGB", base.size, (45, 30, 28)), out, lines.filter(ImageFilter.GaussianBlur(0.6)))
    return np.asarray(out)


def make_library(dest: Path) -> Path:
    import numpy as np
    from PIL import Image, ImageFilter

    from piaa_desktop.core import faces as F
    from piaa_desktop.core.sample import copy_sample_library

    folder = copy_sample_library(dest)
    a = F.get_analyzer()
    src = F.load_rgb(folder / "astronaut.jpg")
    pts, _ = a.landmarks(src, a.detect(src)[0])
    Image.fromarray(close_eyes(src, pts)).save(folder / "astronaut_blink.jpg", quality=92)
    Image.fromarray(np.asarray(src)).filter(ImageFilter.GaussianBlur(2.0)).save(folder / "astronaut_soft.jpg", quality=92)
    return folder


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out-dir", default=str(HERE))
    args = ap.parse_args()

    folder = make_library(Path(args.data_dir) / "photos")
    shot = open_window(args.data_dir, folder)
    w = shot.win
    shot.wait(lambda: w.features.faces.last_result is not None)
    w.set_sort("name")
    target = shot.id_of("astronaut_blink.jpg")
    w.select_ids([target], target)
    shot.settle(1.5)
    shot.save(Path(args.out_dir) / "faces.png")
    shot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
