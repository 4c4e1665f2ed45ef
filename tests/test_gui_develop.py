"""Edits shown wherever the photo is, and developing (crop, straighten, rotate) on the loupe, in the
real main window (pytest-qt, offscreen)."""
import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from _gui_helpers import open_window


@pytest.fixture
def window(qtbot, app_paths, imported_library):
    win = open_window(qtbot, app_paths)  # on small_library's 12 photos as the window imported them
    assert win.model.rowCount() == 12
    yield win
    win.close()


def _qimage_array(img):
    import numpy as np

    img = img.convertToFormat(img.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(bytes(img.constBits()), np.uint8).reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3).copy()


def test_edits_show_in_the_grid_thumbnail_and_the_loupe(window, qtbot):
    """An edited photo's thumbnail (re-rendered in the background) and loupe differ from the original's."""
    ids = window.model.ids()
    pid = ids[2]
    window.select_ids([pid], pid)
    thumbs = window.thumbs
    qtbot.waitUntil(lambda: thumbs.pixmap(pid) is not None, timeout=20000)
    before = _qimage_array(thumbs.pixmap(pid).toImage())
    window.show_view("loupe")
    assert window.loupe.wait_for_render(20000)
    loupe_before = _qimage_array(window.loupe.preview_pixmap(pid).toImage())

    window.features.develop.dock.show()
    window.features.develop.dock.raise_()
    panel = window.features.develop.panel
    qtbot.waitUntil(lambda: panel.ids == [pid], timeout=5000)
    assert window.current_view() == "loupe"  # developing happens on the large photo
    hist_before = window.loupe.view.stats.hist[3].copy()  # the loupe's luminance histogram
    slider = panel.sliders["exposure"].slider
    slider.setSliderDown(True)  # a drag: nothing is written until the slider is released
    slider.setValue(30)  # +1.5 EV
    # live: the loupe shows the slider's value at once (rendered at screen size), histogram included
    import time

    t0 = time.monotonic()
    while window.loupe._live_pv is None and time.monotonic() - t0 < 20:
        qtbot.wait(10)
    assert window.loupe._live_pv is not None
    live_hist = window.loupe.view.stats.hist[3]
    assert (live_hist * range(256)).sum() > (hist_before * range(256)).sum() + 20  # mean luminance up
    assert window.catalog.get_edit(pid) is None
    slider.setSliderDown(False)  # released: written
    # the grid's thumbnail is re-rendered (old pixmap kept until then), not decoded from the original
    qtbot.waitUntil(lambda: not thumbs.is_stale(pid) and bool(thumbs.signature(pid)), timeout=20000)
    after = _qimage_array(thumbs.pixmap(pid).toImage())
    assert after.shape == before.shape and after.mean() > before.mean() + 20
    assert window.loupe.wait_for_render(20000)
    loupe_after = _qimage_array(window.loupe.preview_pixmap(pid).toImage())
    assert loupe_after.shape == loupe_before.shape and loupe_after.mean() > loupe_before.mean() + 20
    # compare/survey/ranking read the edited thumbnail too
    assert _qimage_array(window.image_loader(pid)).mean() > before.mean() + 20

    # a crop changes both shapes
    panel.ratio_box.setCurrentText("1:1")
    qtbot.waitUntil(lambda: not thumbs.is_stale(pid) and thumbs.pixmap(pid).width() == thumbs.pixmap(pid).height(),
                    timeout=20000)
    assert window.loupe.wait_for_render(20000)
    pm = window.loupe.preview_pixmap(pid)
    assert abs(pm.width() - pm.height()) <= 1
    # undo brings the original back everywhere
    window.features.culling.undo()
    window.features.culling.undo()
    qtbot.waitUntil(lambda: not thumbs.is_stale(pid) and thumbs.signature(pid) == "", timeout=20000)
    assert abs(_qimage_array(thumbs.pixmap(pid).toImage()).mean() - before.mean()) < 2
    assert window.loupe.wait_for_render(20000)
    assert _qimage_array(window.loupe.preview_pixmap(pid).toImage()).shape == loupe_before.shape


def test_crop_tool_on_the_loupe(window, qtbot):
    """Shift+R opens the crop overlay on the loupe; a drag crops, the level line straightens, both are stored."""
    from PySide6.QtCore import QPoint

    ids = window.model.ids()
    pid = ids[3]
    window.select_ids([pid], pid)
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    panel = window.features.develop.panel
    qtbot.waitUntil(lambda: panel.ids == [pid], timeout=5000)
    assert window.current_view() == "loupe" and window.loupe.crop_mode and panel.crop_btn.isChecked()
    assert window.loupe.wait_for_render(20000)
    loupe = window.loupe
    view = loupe.view  # the crop overlay is drawn on the loupe's photo view and takes its mouse
    r = view.image_rect()
    crop = window.features.develop.crop_overlay.crop_rect(r)
    assert abs(crop.width() - r.width()) < 1  # nothing cropped yet: the overlay frames the whole photo
    # drag the top-left corner to the middle of the photo's first quarter
    start = QPoint(int(crop.left()) + 1, int(crop.top()) + 1)
    end = QPoint(int(r.left() + r.width() / 4), int(r.top() + r.height() / 4))
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    QTest.mouseMove(view, end)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    e = window.catalog.get_edit(pid)
    assert e["crop_left"] == pytest.approx(0.25, abs=0.03) and e["crop_top"] == pytest.approx(0.25, abs=0.03)
    assert e["crop_right"] == 1.0 and e["crop_bottom"] == 1.0
    # level line: a line drawn 5 degrees off the horizontal straightens the photo by 5 degrees
    panel.level_btn.setChecked(True)
    a = QPoint(int(r.left() + 20), int(r.center().y()))
    b = QPoint(int(r.left() + 220), int(r.center().y() + 200 * math.tan(math.radians(5))))
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    QTest.mouseMove(view, b)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)
    assert window.catalog.get_edit(pid)["angle"] == pytest.approx(-5, abs=0.6)
    assert panel.sliders["angle"].value() == pytest.approx(window.catalog.get_edit(pid)["angle"], abs=0.05)
    panel.level_btn.setChecked(False)
    # rotate right: the crop turns with the photo
    panel.right_btn.click()
    e = window.catalog.get_edit(pid)
    assert e["rotate"] == 1 and e["crop_right"] == pytest.approx(0.75, abs=0.03)
    window.features.develop.toggle_crop()
    assert not loupe.crop_mode
    assert loupe.wait_for_render(20000)
    pm = loupe.preview_pixmap(pid)
    bw, bh = loupe.base_size(pid)
    assert (pm.width() > pm.height()) == (bh > bw)  # turned a quarter: portrait <-> landscape
