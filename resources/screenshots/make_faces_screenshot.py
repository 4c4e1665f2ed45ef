"""Make the README's faces screenshot with the real app, offscreen, at 1280x800:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_faces_screenshot.py --data-dir /tmp/piaa-faces

``faces.png``: the grid after the background faces pass, with the "eyes closed" and "soft face" badges, and the
Info panel listing the current photo's faces. The library is a copy of resources/sample_library plus two edits of
its public-domain astronaut.jpg made here: her eyes painted shut (as tests/test_faces.py does) and a blurred copy.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def make_library(dest: Path) -> Path:
    import numpy as np
    from PIL import Image, ImageFilter

    sys.path.insert(0, str(ROOT))
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

    from PySide6.QtWidgets import QApplication

    import piaa_desktop.gui  # noqa: F401 - PySide6 guard
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.gui.main_window import MainWindow
    from piaa_desktop.gui.theme import apply_theme

    sys.path.insert(0, str(HERE))
    from make_screenshot import small_png

    app = QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    paths = app_paths(args.data_dir)
    folder = make_library(Path(args.data_dir) / "photos")
    w = MainWindow(paths)
    w.settings.set("first_run_done", True)
    w.resize(1280, 800)
    w.show()
    w.info_dock.raise_()

    def wait(cond, timeout=300.0) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError("the app did not get there in time")
            app.processEvents()
            time.sleep(0.02)

    w.features.importing.import_folder(folder)
    wait(lambda: not w.features.importing.import_running() and w.model.rowCount() > 0)
    wait(lambda: w.features.faces.last_result is not None)
    w.set_sort("name")
    ids = w.model.ids()
    target = next(i for i in ids if w.model.record(i).name == "astronaut_blink.jpg")
    w.select_ids([target], target)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.05)
    raw = Path(args.out_dir) / "faces.raw.png"
    w.grab().save(str(raw))
    small_png(raw, Path(args.out_dir) / "faces.png")
    raw.unlink()
    print(Path(args.out_dir) / "faces.png")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
