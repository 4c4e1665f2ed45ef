"""Make resources/screenshots/main_window.png (the README's picture) with the real app, offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_screenshot.py \
        /tmp/sample-copy --data-dir /tmp/piaa-shot   # a copy of resources/sample_library

Imports the folder into a sandbox data dir, sorts by generic score, rates/flags/labels a few photos the
way a photographer culling would, learns the personal score from them and sorts by it, grabs the window and writes a 256-colour PNG (UI colours kept exact,
photos dithered) to stay small.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
UI_COLOURS = (
    "#e5534b #e8c547 #4cb963 #4f8df5 #a371f7 #f5b83d #3b76d9 #2b4a7d #2a3447 #1e2126 #16181c #1f2228 #9aa3b2 "
    "#e3e6eb #ffffff #000000 #262a31 #272b33 #2c3038 #3a3f4a #464c58 #6b7280 #7d8595 #121417 #1a1d22 #23272e "
    "#333843 #6b7f9e"
).split()
# row in the generic-score order -> (stars, flag, colour label)
CULL = {0: (5, 1, "green"), 1: (4, 1, None), 2: (4, 0, None), 3: (5, 1, None), 4: (3, 0, "yellow"),
        5: (2, 0, None), 6: (4, 1, None), 8: (3, 0, None), 9: (1, -1, None), 11: (3, 0, "blue"), 13: (2, -1, None)}


def small_png(src: Path, dest: Path) -> None:
    from PIL import Image

    im = Image.open(src).convert("RGB")
    n_ui = len(UI_COLOURS)
    pal = im.quantize(colors=256 - n_ui, method=Image.Quantize.MEDIANCUT).getpalette()[: (256 - n_ui) * 3]
    for h in UI_COLOURS:
        pal += [int(h[i : i + 2], 16) for i in (1, 3, 5)]
    holder = Image.new("P", (1, 1))
    holder.putpalette(pal + [0] * (768 - len(pal)))
    im.quantize(palette=holder, dither=Image.Dither.FLOYDSTEINBERG).save(dest, optimize=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default=str(HERE / "main_window.png"))
    ap.add_argument("--size", default="1440x900")
    args = ap.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import piaa_desktop.gui  # noqa: F401 - PySide6 guard
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.gui.main_window import MainWindow
    from piaa_desktop.gui.theme import app_icon, apply_theme

    app = QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    app.setWindowIcon(app_icon())
    w = MainWindow(app_paths(args.data_dir))
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.show()
    raw = Path(args.out).with_suffix(".raw.png")

    culling, personal = w.features.culling, w.features.personal

    def cull(result) -> None:
        w.set_sort("generic")
        ids = w.model.ids()
        for row, (stars, flag, label) in CULL.items():
            if row < len(ids):
                w.select_ids([ids[row]], ids[row])
                culling.set_rating(stars)
                culling.set_flag(flag)
                if label:
                    culling.set_color_label(label)
        w.select_ids([ids[3]], ids[3])
        personal.train_now()  # learn this taste from the ratings, then show the library sorted by it
        QTimer.singleShot(200, wait_for_training)

    def wait_for_training() -> None:
        if personal.training_running():
            QTimer.singleShot(200, wait_for_training)
            return
        w.set_sort("personal")
        res = personal.last_training
        if getattr(res, "accepted", False):
            w.say(f"Personal model updated from {res.n_ratings} ratings: the library is sorted by your taste")
        QTimer.singleShot(1500, settle)

    def settle() -> None:
        # the re-scoring that follows training lands after the sort: a culling pass holds its order until
        # F5, so show the library the way F5 leaves it, with the Info panel on the current photo
        w.refresh_order()
        w.info_dock.raise_()
        QTimer.singleShot(2500, shoot)  # thumbnails of the visible rows load meanwhile

    def shoot() -> None:
        w.grab().save(str(raw))
        small_png(raw, Path(args.out))
        raw.unlink()
        print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KB)")
        w.close()
        app.quit()

    w.importFinished.connect(lambda r: QTimer.singleShot(100, lambda: cull(r)))
    if w.model.rowCount():
        QTimer.singleShot(100, lambda: cull(None))
    else:
        w.features.importing.import_folder(args.folder)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
