"""Render resources/icons/piaa-desktop.svg to the PNG sizes desktops and installers ask for.

    python installer/render_icons.py          # writes resources/icons/piaa-desktop-<N>.png
    python installer/render_icons.py --ico    # also piaa-desktop.ico (Windows) when Pillow is present

Uses Qt's own SVG renderer (PySide6.QtSvg, part of PySide6-Essentials), so the PNGs match what the
running app draws from the SVG. Runs offscreen; no display needed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256, 512)
ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SVG = ICONS / "piaa-desktop.svg"


def png_path(size: int) -> Path:
    return ICONS / f"piaa-desktop-{size}.png"


def render(sizes=SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - needed for fonts
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"invalid SVG: {SVG}")
    out = []
    for size in sizes:
        img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(p)
        p.end()
        path = png_path(size)
        tmp = path.with_suffix(".tmp.png")
        if not img.save(str(tmp), "PNG"):
            raise SystemExit(f"could not write {path}")
        os.replace(tmp, path)
        out.append(path)
    return out


def write_ico() -> Path:
    from PIL import Image

    ico = ICONS / "piaa-desktop.ico"
    Image.open(png_path(256)).save(ico, sizes=[(s, s) for s in (16, 32, 48, 64, 128, 256)])
    return ico


if __name__ == "__main__":
    for p in render():
        print(p)
    if "--ico" in sys.argv:
        print(write_ico())
