"""The window's selection at library scale: Ctrl+A over thousands of photos, then Ctrl+clicks that split it.
``selected_ids`` / ``selected_count`` read the selection's ranges, never one index (and one ``flags()`` call
into Python) per selected row: the 8 s stall of Ctrl+A at 100,000 photos (benchmarks/gui_actions.py)."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from piaa_desktop.gui.grid import PhotoListModel  # noqa: E402
from _gui_helpers import open_window  # noqa: E402

N = 3000
CTRL = Qt.KeyboardModifier.ControlModifier


def test_select_all_then_ctrl_clicks_at_scale(qtbot, app_paths, monkeypatch):
    from piaa_desktop.lab.synthetic import make_synthetic_catalog

    make_synthetic_catalog(app_paths.catalog, n=N, dim=8)
    calls = {"flags": 0}
    real_flags = PhotoListModel.flags

    def counting_flags(self, index):
        calls["flags"] += 1
        return real_flags(self, index)

    monkeypatch.setattr(PhotoListModel, "flags", counting_flags)
    w = open_window(qtbot, app_paths, active=True)
    assert w.model.rowCount() == N
    order = w.model.ids()
    got = []
    w.selectionChanged.connect(got.append)

    QTest.keyClick(w.grid, Qt.Key.Key_A, CTRL)
    assert got and got[-1] == order  # every photo, in grid order
    assert w.selected_ids() == order and w.selected_count() == N
    assert f"{N} photos · {N} selected" in w.count_label.text()
    assert w.target_ids() == order

    calls["flags"] = 0
    for _ in range(5):
        w.selected_ids()
        w.selected_count()
    assert calls["flags"] < 50  # not one per selected photo (5 x 3000 before)

    # Ctrl+clicks deselect two photos: the selection splits into several ranges
    for row in (5, 12):
        rect = w.grid.visualRect(w.model.index(row, 0))
        QTest.mouseClick(w.grid.viewport(), Qt.MouseButton.LeftButton, CTRL, rect.center())
    expected = [pid for r, pid in enumerate(order) if r not in (5, 12)]
    assert w.selected_ids() == expected and w.selected_count() == N - 2
    assert got[-1] == expected
    assert f"{N - 2} selected" in w.count_label.text()

    # Ctrl+click one back in
    rect = w.grid.visualRect(w.model.index(12, 0))
    QTest.mouseClick(w.grid.viewport(), Qt.MouseButton.LeftButton, CTRL, rect.center())
    assert w.selected_ids() == [pid for r, pid in enumerate(order) if r != 5] and w.selected_count() == N - 1

    # Ctrl+D: nothing selected
    QTest.keyClick(w.grid, Qt.Key.Key_D, CTRL)
    assert w.selected_ids() == [] and w.selected_count() == 0
    assert "selected" not in w.count_label.text()
    w.select_ids([order[7], order[3]], order[7])
    assert w.selected_ids() == [order[3], order[7]] and w.selected_count() == 2
