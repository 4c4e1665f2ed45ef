"""The loupe that zooms: fit / 100 % (Z, click at a point), pan (drag, wheel), full screen, filmstrip,
histogram with clipping warnings, EXIF line; the full-resolution decode runs off the GUI thread."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, QSize, Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from piaa_desktop.core.histogram import clipping_mask, histogram_stats  # noqa: E402
from piaa_desktop.gui import loupe as loupe_mod  # noqa: E402
from piaa_desktop.gui.loupe import exif_line  # noqa: E402
from piaa_desktop.gui.zoom_view import ZoomImageView  # noqa: E402
from _gui_helpers import drag, open_window, wheel  # noqa: E402


def test_histogram_and_clipping_from_pixels():
    a = np.full((100, 100, 3), 128, np.uint8)
    a[:10, :, 0] = 255  # 10 % with a blown red channel
    a[-5:, :, :] = 0  # 5 % black
    st = histogram_stats(a)
    assert st.clip_high == pytest.approx(0.10) and st.clip_low == pytest.approx(0.05)
    assert st.warn_high and st.warn_low
    assert st.hist.shape == (4, 256) and np.allclose(st.hist.sum(axis=1), 1.0)
    assert st.hist[1, 128] == pytest.approx(0.95)
    mask = clipping_mask(a)
    assert (mask == 1).mean() == pytest.approx(0.10) and (mask == 2).mean() == pytest.approx(0.05)
    calm = histogram_stats(np.full((50, 50, 3), 90, np.uint8))
    assert not calm.warn_high and not calm.warn_low


def test_exif_line_names_camera_lens_exposure_and_date():
    class P:
        camera, lens, focal_length, shutter, aperture, iso = "Canon EOS R5", "RF24-70mm F2.8 L", 50.0, 1 / 250, 2.8, 400
        capture_time = "2024-05-01T14:03:22"

    line = exif_line(P())
    for part in ("Canon EOS R5", "RF24-70mm F2.8 L", "50 mm", "1/250 s", "f/2.8", "ISO 400", "2024-05-01 14:03"):
        assert part in line
    assert exif_line(None) == ""


def test_zoom_view_fit_click_to_100_drag_wheel(qtbot):
    v = ZoomImageView()
    qtbot.addWidget(v)
    v.resize(632, 432)  # 600 x 400 inside the margins
    v.show()
    qtbot.waitExposed(v)
    wanted = []
    v.fullResolutionWanted.connect(lambda: wanted.append(1))
    small = QImage(500, 375, QImage.Format.Format_RGB32)
    small.fill(QColor("gray"))
    v.set_image(small, QSize(2000, 1500))  # a preview of a 2000 x 1500 photo
    assert v.is_fit() and v.fit_zoom() == pytest.approx(400 / 1500)
    r = v.image_rect()
    assert r.width() == pytest.approx(2000 * 400 / 1500) and r.height() == pytest.approx(400)
    # a click zooms to 100 % at the clicked point, which stays under the cursor
    at = QPointF(r.x() + 0.25 * r.width(), r.y() + 0.75 * r.height())
    QTest.mouseClick(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at.toPoint())
    assert not v.is_fit() and v.zoom() == pytest.approx(v.one_to_one()) and v.zoom_percent() == 100
    fx, fy = v.photo_fraction_at(QPointF(at.toPoint()))
    assert fx == pytest.approx(0.25, abs=0.01) and fy == pytest.approx(0.75, abs=0.01)
    assert wanted == [1]  # the preview has too few pixels for 100 %: the full resolution is asked for, once
    # a drag pans
    c0 = v.center_fraction()
    drag(v, (300, 200), (100, 100))
    c1 = v.center_fraction()
    assert c1[0] > c0[0] and c1[1] > c0[1]
    # zoomed: the wheel scrolls (zoom unchanged), Ctrl+wheel zooms
    wheel(v, (300, 200), -120)
    assert v.zoom() == pytest.approx(1.0) and v.center_fraction()[1] > c1[1]
    wheel(v, (300, 200), 120, Qt.KeyboardModifier.ControlModifier)
    assert v.zoom() == pytest.approx(1.25)
    # the view never pans past the photo's edges
    for _ in range(20):
        drag(v, (10, 10), (600, 400))
    assert v.image_rect().left() == pytest.approx(v.area().left()) and v.image_rect().top() == pytest.approx(v.area().top())
    # a click again: back to fit; the wheel on a fitted photo zooms in at the cursor
    QTest.mouseClick(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 200))
    assert v.is_fit()
    wheel(v, (300, 200), 120)
    assert not v.is_fit() and v.zoom() == pytest.approx(v.fit_zoom() * 1.25)
    assert wanted == [1]
    v.set_image(QImage(2000, 1500, QImage.Format.Format_RGB32), keep_view=True)  # the full resolution arrives
    assert not v.needs_full_resolution()


def _big_photo(path: Path, exif: bool = True) -> Path:
    """A 3000 x 2000 JPEG with a blown sky (clipped highlights) and camera EXIF."""
    rng = np.random.default_rng(0)
    a = (rng.random((2000, 3000, 3)) * 120 + 40).astype(np.uint8)
    a[:300] = 255
    im = Image.fromarray(a)
    ex = Image.Exif()
    if exif:
        ex[0x010F] = "NIKON CORPORATION"
        ex[0x0110] = "NIKON Z 6"
        sub = ex.get_ifd(0x8769)
        sub[0xA434] = "NIKKOR Z 24-70mm f/4 S"
        sub[0x829A] = (1, 250)
        sub[0x829D] = (28, 10)
        sub[0x8827] = 400
        sub[0x920A] = (50, 1)
        sub[0x9003] = "2024:05:01 14:03:22"
    im.save(path, quality=88, exif=ex.tobytes())
    return path


def _loupe_library(lib: Path) -> Path:
    _big_photo(lib / "a_big.jpg")
    for k in range(3):
        Image.fromarray(np.full((300, 400, 3), 60 + 40 * k, np.uint8)).save(lib / f"b_{k}.jpg")
    return lib


@pytest.fixture
def window(qtbot, app_paths, imported_templates):
    # a big photo and three small ones, as the window's import left them (imported once per worker, copied here)
    imported_templates.restore("loupe", _loupe_library, app_paths.data_dir)
    w = open_window(qtbot, app_paths, active=True)
    assert w.model.rowCount() == 4
    w.set_sort("name")
    yield w
    if w.isFullScreen():
        w.features.loupe.toggle_full_screen()
    w.close()


def test_loupe_zoom_filmstrip_histogram_exif_full_screen(window, qtbot, monkeypatch):
    w = window
    ids = w.model.ids()
    big = ids[0]
    threads = []
    real_full = loupe_mod.load_full_image

    def spy(path):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_full(path)

    monkeypatch.setattr(loupe_mod, "load_full_image", spy)
    w.select_ids([big], big)
    QTest.keyClick(w.grid, Qt.Key.Key_Space)
    lp = w.loupe
    assert w.current_view() == "loupe" and lp.current_id() == big
    qtbot.waitUntil(lambda: lp.has_preview(big), timeout=30_000)
    # EXIF line and histogram with the blown sky warned
    for part in ("NIKON Z 6", "NIKKOR Z 24-70mm f/4 S", "50 mm", "1/250 s", "f/2.8", "ISO 400", "2024-05-01 14:03"):
        assert part in lp.info.exif
    st = lp.view.stats
    assert st is not None and st.warn_high and st.clip_high == pytest.approx(0.15, abs=0.01)
    # the wheel does not change the photo
    wheel(lp.view, (300, 200), -120)
    wheel(lp.view, (300, 200), -120)
    assert lp.current_id() == big and w.current_id() == big
    lp.view.set_fit()
    # Z: 100 % of the photo's own pixels; the full resolution is decoded on a worker thread
    QTest.keyClick(lp, Qt.Key.Key_Z)
    assert lp.view.zoom_percent() == 100
    qtbot.waitUntil(lambda: lp.has_full_resolution(big), timeout=30_000)
    assert threads == [False]
    assert lp.view.pixmap().width() == 3000 and lp.view.photo_size() == QSize(3000, 2000)
    # J: the clipping overlay
    QTest.keyClick(lp, Qt.Key.Key_J)
    assert lp.view.overlay is not None
    QTest.keyClick(lp, Qt.Key.Key_Z)
    assert lp.view.is_fit()
    # the filmstrip: the grid's photos; a click there moves the loupe
    fs = lp.filmstrip
    assert fs.isVisible() and fs.model() is w.model
    rect = fs.visualRect(w.model.index(2, 0))
    QTest.mouseClick(fs.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert w.current_id() == ids[2] and lp.current_id() == ids[2]
    assert not lp.has_full_resolution(big)  # only the photo on screen keeps its full resolution
    # Right arrow still steps
    lp.setFocus()
    QTest.keyClick(lp, Qt.Key.Key_Right)
    assert lp.current_id() == ids[3]
    # full screen: Shift+F, Esc leaves; F11 too
    QTest.keyClick(lp, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
    assert w.features.loupe.full_screen_on() and not w.toolbar.isVisible() and not w.info_dock.isVisible()
    assert w.windowState() & Qt.WindowState.WindowFullScreen
    QTest.keyClick(lp, Qt.Key.Key_Escape)
    assert not w.features.loupe.full_screen_on() and w.toolbar.isVisible() and w.info_dock.isVisible()
    QTest.keyClick(lp, Qt.Key.Key_F11)
    assert w.features.loupe.full_screen_on()
    QTest.keyClick(lp, Qt.Key.Key_F11)
    assert not w.features.loupe.full_screen_on()


def test_compare_zooms_to_the_photos_own_pixels(window, qtbot):
    w = window
    ids = w.model.ids()
    w.select_ids(ids[:2], ids[0])
    w.show_view("compare")
    cv = w.features.compare.compare.inner
    a = cv.panes[0]
    assert a.photo_size() == QSize(3000, 2000)  # the thumbnail stands in, the zoom counts the photo's pixels
    QTest.keyClick(cv, Qt.Key.Key_Z)
    assert a.zoom_percent() == 100 and not cv.panes[1].is_fit()  # the other side follows
    qtbot.waitUntil(lambda: a.pixmap() is not None and a.pixmap().width() == 3000, timeout=30_000)
    QTest.keyClick(cv, Qt.Key.Key_Z)
    assert a.is_fit() and cv.panes[1].is_fit()


def test_loupe_raw_preview_then_full_demosaic_at_100(qtbot, tmp_path):
    pytest.importorskip("rawpy")
    from _raw_fixtures import make_dng

    from piaa_desktop.core.library import PhotoRecord
    from piaa_desktop.gui.loupe import LoupeView

    p = make_dng(tmp_path / "shot.dng", size=(600, 900), preview="jpeg", preview_size=(200, 300))
    rec = PhotoRecord(1, str(p), p.name, "h", 1, 0, 0, None, 900, 600, None)
    lp = LoupeView()
    qtbot.addWidget(lp)
    lp.resize(900, 650)
    lp.show()
    qtbot.waitExposed(lp)
    lp.set_photo(rec)
    qtbot.waitUntil(lambda: lp.has_preview(1), timeout=30_000)
    assert lp.view.pixmap().width() == 450  # the 300 px preview is too small for the loupe: a half decode
    lp.setFocus()
    QTest.keyClick(lp, Qt.Key.Key_Z)
    qtbot.waitUntil(lambda: lp.has_full_resolution(1), timeout=30_000)
    assert lp.view.pixmap().width() == 900 and lp.view.zoom_percent() == 100
    lp.shutdown()
