"""Make the README's faces screenshot with the real app, offscreen, at 1280x800:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_faces_screenshot.py --data-dir /tmp/piaa-faces

``faces.png``: the grid after the background faces pass, with the "eyes closed" and "soft face" badges, and the
Info panel listing the current photo's faces. The library is a copy of resources/sample_library plus two edits of
its public-domain astronaut.jpg made here: her eyes painted shut (as tests/test_faces.py does) and a blurred copy.
The window set-up is offscreen.py's, shared by every screenshot script here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from offscreen import open_window  # noqa: E402  (also puts the checkout on the path: tests.test_faces)


def make_library(dest: Path) -> Path:
    import numpy as np
    from PIL import Image, ImageFilter

    from piaa_desktop.core import faces as F
    from piaa_desktop.core.sample import copy_sample_library
    from tests.test_faces import close_eyes

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
