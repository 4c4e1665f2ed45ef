"""Make resources/screenshots/search.png: the search bar, library tree and keyword panel, offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_search_screenshot.py \
        /tmp/sample-tree --data-dir /tmp/piaa-shot-search

Copies the sample library into ``folder`` as a small tree (city/, city/night/, nature/), imports it,
tags a few photos with hierarchical keywords, saves a smart collection, types a search and grabs the
window at 1280x800 (a 256-colour PNG like the main screenshot).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_screenshot import small_png  # noqa: E402

KEYWORDS = {
    "astronaut.jpg": ["People|Astronaut", "Space|NASA"],
    "rocket_launch.jpg": ["Space|NASA", "Space|Rocket"],
    "hubble_deep_field.jpg": ["Space|Galaxies"],
    "chelsea_the_cat.jpg": ["Animals|Cat"],
    "coffee.jpg": ["Food|Coffee"],
    "coffee_underexposed.jpg": ["Food|Coffee"],
}
TREE = {"astronaut.jpg": "space", "rocket_launch.jpg": "space", "hubble_deep_field.jpg": "space/deep sky",
        "chelsea_the_cat.jpg": "home", "coffee.jpg": "home/kitchen", "coffee_underexposed.jpg": "home/kitchen",
        "cameraman.jpg": "home", "clock_motion_blur.jpg": "home"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default=str(HERE / "search.png"))
    ap.add_argument("--query", default="kw:Space rating:>=3")
    args = ap.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import piaa_desktop.gui  # noqa: F401 - PySide6 guard
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.sample import sample_photos
    from piaa_desktop.gui.main_window import MainWindow
    from piaa_desktop.gui.theme import app_icon, apply_theme

    lib = Path(args.folder)
    if not lib.exists():
        for src in sample_photos():
            d = lib / TREE.get(src.name, "misc")
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, d / src.name)

    app = QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    app.setWindowIcon(app_icon())
    w = MainWindow(app_paths(args.data_dir))
    w.resize(1280, 800)
    w.show()
    raw = Path(args.out).with_suffix(".raw.png")

    def tag(_result=None) -> None:
        by_name = {w.model.record(i).name: i for i in w.model.ids()}
        for name, kws in KEYWORDS.items():
            if name in by_name:
                w.catalog.add_keywords([by_name[name]], kws)
        for name, stars in (("astronaut.jpg", 4), ("rocket_launch.jpg", 5), ("hubble_deep_field.jpg", 3),
                            ("chelsea_the_cat.jpg", 5)):
            if name in by_name:
                w.catalog.set_rating([by_name[name]], stars)
        if w.catalog.collection_by_name("Space, 3+ stars") is None:
            w.features.library.create_collection("Space, 3+ stars", "kw:Space rating:>=3")
            w.features.library.create_collection("Five stars", "rating:5")
            cid = w.features.library.create_collection("Portfolio")
            w.catalog.add_to_collection(cid, [by_name[n] for n in ("rocket_launch.jpg", "chelsea_the_cat.jpg")
                                              if n in by_name])
        w.features.library.refresh_tree()
        w.features.library.keyword_dock.raise_()
        w.features.library.searchFinished.connect(lambda *_: QTimer.singleShot(300, select))
        w.features.library.search_bar.edit.setFocus()
        w.features.library.search_bar.edit.setText(args.query)

    def select() -> None:
        ids = w.model.ids()
        if ids:
            w.select_ids([ids[0]], ids[0])
        QTimer.singleShot(2500, shoot)

    def shoot() -> None:
        w.grab().save(str(raw))
        small_png(raw, Path(args.out))
        raw.unlink()
        print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KB)")
        w.close()
        app.quit()

    w.importFinished.connect(lambda r: QTimer.singleShot(300, tag))
    if w.model.rowCount():
        QTimer.singleShot(300, tag)
    else:
        w.features.importing.import_folder(str(lib))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
