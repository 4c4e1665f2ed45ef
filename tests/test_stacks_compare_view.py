"""Compare (2-up, synchronised zoom/pan) and Survey (N-up) culling widgets: keys flag photos, undoable."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from _gui_helpers import drag  # noqa: E402
from piaa_desktop.core.catalog import UndoStack  # noqa: E402


@pytest.fixture
def ids(catalog, small_library, app_paths):
    from piaa_desktop.core.scanner import scan_folder

    for f in sorted(small_library.glob("*.jpg"))[4:]:
        f.unlink()
    scan_folder(catalog, small_library, app_paths.cache_dir, workers=2)
    return catalog.query_ids(sort="name")


def _loader(catalog, calls):
    from piaa_desktop.gui.loupe import load_preview_image

    def load(pid):
        calls.append(pid)
        return load_preview_image(catalog.photo(pid).path, max_size=600)

    return load


def test_compare_keys_flag_active_side_and_undo(qtbot, catalog, ids):
    from piaa_desktop.gui.compare_view import CompareView

    calls = []
    undo = UndoStack(catalog)
    view = CompareView(catalog, ids, loader=_loader(catalog, calls), undo_stack=undo)
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show()
    qtbot.waitExposed(view)
    assert (view.select_id, view.candidate_id) == (ids[0], ids[1])
    assert all(p.has_image() for p in view.panes)
    with qtbot.waitSignal(view.changed):
        qtbot.keyClick(view, Qt.Key.Key_P)
    assert catalog.photo(ids[0]).flag == 1
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert view.active == 1
    qtbot.keyClick(view, Qt.Key.Key_X)
    assert catalog.photo(ids[1]).flag == -1
    assert "Rejected" in view.cells[1].caption.text()
    qtbot.keyClick(view, Qt.Key.Key_Right)  # next candidate
    assert view.candidate_id == ids[2]
    qtbot.keyClick(view, Qt.Key.Key_Left)
    qtbot.keyClick(view, Qt.Key.Key_Left)  # wraps to the last
    assert view.candidate_id == ids[3]
    qtbot.keyClick(view, Qt.Key.Key_Up)  # candidate becomes the select
    assert view.select_id == ids[3]
    undo.undo()
    assert catalog.photo(ids[1]).flag == 0 and catalog.photo(ids[0]).flag == 1
    assert len(set(calls)) == len(calls)  # each photo decoded once (cached)


def test_compare_zoom_and_pan_are_synchronised(qtbot, catalog, ids):
    from piaa_desktop.gui.compare_view import CompareView

    view = CompareView(catalog, ids[:2], loader=_loader(catalog, []))
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    qtbot.waitExposed(view)
    a, b = view.panes
    a.set_rel_zoom(4.0)
    assert b.rel_zoom == pytest.approx(4.0)
    w, h = a.width(), a.height()
    for _ in range(3):  # drag left and down: the right edge and the top come into view
        drag(a, (w - 10, 10), (10, h - 10))
    fa, fb = a.center_fraction(), b.center_fraction()
    assert fa[0] > 0.8 and fa[1] < 0.2
    assert fb == pytest.approx(fa, abs=0.02)
    # and the other way round
    for _ in range(3):
        drag(b, (10, h - 10), (10, 10))
    assert a.center_fraction()[1] == pytest.approx(b.center_fraction()[1], abs=0.02)
    assert a.center_fraction()[1] > 0.8
    qtbot.keyClick(view, Qt.Key.Key_Z)  # back to fit
    assert a.rel_zoom == pytest.approx(1.0) and b.rel_zoom == pytest.approx(1.0)


def test_survey_focus_flag_and_remove(qtbot, catalog, ids):
    from piaa_desktop.gui.compare_view import SurveyView

    undo = UndoStack(catalog)
    view = SurveyView(catalog, ids, loader=_loader(catalog, []), undo_stack=undo)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    assert len(view.cells) == 4 and view.focused_id() == ids[0]
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.focused_id() == ids[1]
    qtbot.keyClick(view, Qt.Key.Key_P)
    assert catalog.photo(ids[1]).flag == 1
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_X)
    assert catalog.photo(ids[2]).flag == -1
    with qtbot.waitSignal(view.removed) as sig:
        qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert sig.args == [ids[2]]
    assert view.ids == [ids[0], ids[1], ids[3]] and len(view.cells) == 3
    assert catalog.photo(ids[2]) is not None  # only dropped from the survey
    qtbot.mouseClick(view.cells[0].pane, Qt.MouseButton.LeftButton)
    assert view.focused_id() == ids[0]
    qtbot.keyClick(view, Qt.Key.Key_U)
    undo.undo()
    undo.undo()
    assert catalog.photo(ids[2]).flag == 0


def test_unreadable_photo_shows_empty(qtbot, catalog, ids):
    from pathlib import Path

    from piaa_desktop.gui.compare_view import CompareView

    Path(catalog.photo(ids[1]).path).write_bytes(b"broken")
    view = CompareView(catalog, ids[:2])  # default loader
    qtbot.addWidget(view)
    assert view.panes[0].has_image() and not view.panes[1].has_image()
