"""Make resources/screenshots/develop.png and crop.png (the README's develop pictures), offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_develop_screenshots.py \
        /tmp/sample-copy --data-dir /tmp/piaa-shot-dev   # a copy of resources/sample_library

Imports the folder, opens Develop on one photo (the large loupe, sliders and the live histogram), moves a
few sliders, grabs the window; then opens the crop tool (16:9, straightened 2 degrees) with its score hint
and grabs again. 1280x800, written as small 256-colour PNGs (offscreen.py: the shared window set-up).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from offscreen import open_window, parse_size  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--photo", default="coffee.jpg")
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args()

    shot = open_window(args.data_dir, args.folder, parse_size(args.size))
    w = shot.win
    pid = shot.id_of(args.photo)
    w.select_ids([pid], pid)
    dev = w.features.develop
    dev.dock.show()
    dev.dock.raise_()
    panel = dev.panel
    shot.wait(lambda: panel.ids == [pid], 120)
    panel.set_params({"exposure": 0.35, "contrast": 18, "highlights": -35, "shadows": 30, "vibrance": 25,
                      "temperature": 8})
    panel.commit()
    panel.wait_for_render()
    shot.wait(lambda: w.loupe.wait_for_render(100), 120)
    shot.settle(1.0)
    shot.save(HERE / "develop.png")

    panel.sliders["angle"].slider.setValue(20)  # +2.0 degrees
    panel.commit()
    dev.toggle_crop()
    panel.ratio_box.setCurrentText("16:9")
    panel.wait_for_hint()
    shot.wait(lambda: w.loupe.wait_for_render(100), 120)
    shot.settle(1.0)
    shot.save(HERE / "crop.png")
    shot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
