"""Make the README's culling screenshots with the real app, offscreen, at 1280x800:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_culling_screenshots.py \
        --data-dir /tmp/piaa-shots [--folder FOLDER]   # default: a copy of resources/sample_library

* ``loupe_filmstrip.png``: the loupe, fitted, with the histogram, the EXIF line and the filmstrip;
* ``loupe_100.png``: a photo at 100 % (clicked at a detail);
* ``ranking.png``: the ranking view (names, progress, the Info panel on the pair's left photo).

Written as 256-colour PNGs (UI colours exact, photos dithered) like ``main_window.png``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=None)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out-dir", default=str(HERE))
    ap.add_argument("--photo", default="chelsea_the_cat.jpg", help="the photo shown in the loupe")
    ap.add_argument("--zoom-photo", default="hubble_deep_field.jpg", help="the photo shown at 100 %%")
    ap.add_argument("--zoom-at", default="0.55,0.45", help="where to click for 100 %%, as fractions of the photo")
    args = ap.parse_args()

    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    import piaa_desktop.gui  # noqa: F401 - PySide6 guard
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.sample import copy_sample_library
    from piaa_desktop.gui.main_window import MainWindow
    from piaa_desktop.gui.theme import apply_theme

    sys.path.insert(0, str(HERE))
    from make_screenshot import small_png

    app = QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    paths = app_paths(args.data_dir)
    folder = Path(args.folder) if args.folder else copy_sample_library(Path(args.data_dir) / "photos")
    w = MainWindow(paths)
    w.settings.set("first_run_done", True)
    w.resize(1280, 800)
    w.show()
    w.info_dock.raise_()  # the Info panel in front of the other tabbed panels

    def wait(cond, timeout=180.0) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError("the app did not get there in time")
            app.processEvents()
            time.sleep(0.02)

    def shot(name: str) -> None:
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)
        raw = Path(args.out_dir) / f"{name}.raw.png"
        w.grab().save(str(raw))
        small_png(raw, Path(args.out_dir) / f"{name}.png")
        raw.unlink()
        print(Path(args.out_dir) / f"{name}.png")

    done = []
    w.importFinished.connect(done.append)
    w.features.importing.import_folder(folder)
    wait(lambda: done and w.model.rowCount() > 0)
    ids = w.model.ids()
    # a few ratings and flags, as a pass would leave them
    for k, (stars, flag) in enumerate([(4, 1), (3, 0), (5, 1), (2, -1), (3, 0), (1, -1)]):
        if k < len(ids):
            w.select_ids([ids[k]], ids[k])
            w.features.culling.set_rating(stars)
            w.features.culling.set_flag(flag)
    target = next((i for i in ids if w.model.record(i).name == args.photo), ids[0])
    w.select_ids([target], target)
    w.show_view("loupe")
    wait(lambda: w.loupe.has_preview(target))
    shot("loupe_filmstrip")

    zoom_id = next((i for i in ids if w.model.record(i).name == args.zoom_photo), target)
    w.select_ids([zoom_id], zoom_id)
    wait(lambda: w.loupe.has_preview(zoom_id))
    fx, fy = (float(v) for v in args.zoom_at.split(","))
    r = w.loupe.view.image_rect()
    at = QPointF(r.x() + fx * r.width(), r.y() + fy * r.height())
    QTest.mouseClick(w.loupe.view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at.toPoint())
    wait(lambda: w.loupe.view.zoom_percent() == 100)
    shot("loupe_100")

    w.show_view("grid")
    w.show_view("ranking")
    rv = w.features.ranking.ranking
    for _ in range(3):
        if rv.current is None:
            break
        QTest.keyClick(rv, Qt.Key.Key_Left)
        app.processEvents()
    shot("ranking")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
