"""Make resources/screenshots/develop.png and crop.png (the README's develop pictures), offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_develop_screenshots.py \
        /tmp/sample-copy --data-dir /tmp/piaa-shot-dev   # a copy of resources/sample_library

Imports the folder, opens Develop on one photo (the large loupe, sliders and the live histogram), moves a
few sliders, grabs the window; then opens the crop tool (16:9, straightened 2 degrees) with its score hint
and grabs again. 1280x800, written as small 256-colour PNGs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--photo", default="coffee.jpg")
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args()

    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    import piaa_desktop.gui  # noqa: F401 - PySide6 guard
    from make_screenshot import small_png
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

    def spin(cond, timeout=120.0):
        t = time.monotonic()
        while not cond() and time.monotonic() - t < timeout:
            QCoreApplication.processEvents()
            time.sleep(0.01)

    def settle(seconds):
        spin(lambda: False, seconds)

    if not w.model.rowCount():
        w.features.importing.import_folder(args.folder)
        spin(lambda: not w.features.importing.import_running() and w.model.rowCount() > 0, 600)
    pid = next(i for i in w.model.ids() if w.model.record(i).name == args.photo)
    w.select_ids([pid], pid)
    dev = w.features.develop
    dev.dock.show()
    dev.dock.raise_()
    panel = dev.panel
    spin(lambda: panel.ids == [pid])
    panel.set_params({"exposure": 0.35, "contrast": 18, "highlights": -35, "shadows": 30, "vibrance": 25,
                      "temperature": 8})
    panel.commit()
    panel.wait_for_render()
    spin(lambda: w.loupe.wait_for_render(100))
    settle(1.0)

    def shoot(name):
        raw = HERE / f"{name}.raw.png"
        w.grab().save(str(raw))
        small_png(raw, HERE / f"{name}.png")
        raw.unlink()
        print(f"wrote {HERE / (name + '.png')} ({(HERE / (name + '.png')).stat().st_size // 1024} KB)")

    shoot("develop")
    panel.sliders["angle"].slider.setValue(20)  # +2.0 degrees
    panel.commit()
    dev.toggle_crop()
    panel.ratio_box.setCurrentText("16:9")
    panel.wait_for_hint()
    spin(lambda: w.loupe.wait_for_render(100))
    settle(1.0)
    shoot("crop")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
