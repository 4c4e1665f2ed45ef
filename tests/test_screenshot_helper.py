"""resources/screenshots/offscreen.py, the window set-up every README screenshot script shares: it opens
the real main window on an imported library and writes the grab as a small PNG with the UI colours exact."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

SHOTS = Path(__file__).resolve().parents[1] / "resources" / "screenshots"


@pytest.fixture
def offscreen():
    sys.path.insert(0, str(SHOTS))
    try:
        import offscreen

        yield offscreen
    finally:
        sys.path.remove(str(SHOTS))


def test_small_png_keeps_the_ui_colours_exact(tmp_path, offscreen):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)  # a "photo" with far more than 256 colours
    a[:, :20] = (0x4F, 0x8D, 0xF5)  # a UI colour (the generic score's blue)
    Image.fromarray(a).save(tmp_path / "raw.png")
    offscreen.small_png(tmp_path / "raw.png", tmp_path / "small.png")
    im = Image.open(tmp_path / "small.png")
    assert im.mode == "P" and im.size == (80, 60)
    assert np.all(np.asarray(im.convert("RGB"))[:, :20] == (0x4F, 0x8D, 0xF5))


def test_open_window_imports_the_library_and_saves_the_grab(qtbot, tmp_path, small_library, offscreen):
    from PIL import Image

    lib = tmp_path / "lib"
    lib.mkdir()
    for p in sorted(small_library.glob("*.jpg"))[:3]:
        shutil.copy2(p, lib / p.name)
    shot = offscreen.open_window(tmp_path / "data", lib, size=(1200, 700))
    qtbot.addWidget(shot.win)
    try:
        assert shot.win.model.rowCount() == 3 and shot.win.settings.get("first_run_done")
        name = shot.win.model.record(shot.win.model.ids()[1]).name
        assert shot.id_of(name) == shot.win.model.ids()[1] and shot.id_of("nope.jpg") is None
        out = shot.save(tmp_path / "window.png")
        assert Image.open(out).size == (1200, 700) == (shot.win.width(), shot.win.height()) and not out.with_suffix(".raw.png").exists()
    finally:
        shot.close()
