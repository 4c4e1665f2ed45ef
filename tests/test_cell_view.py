"""UniformCellView (gui/cell_view.py), the grid's and the filmstrip's base: arithmetic layout, QListView's
keys and selections, and costs that do not grow with the library (a reset, a show, a scrollTo, a paint)."""
from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QEvent, QItemSelectionModel, QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QListView, QStyle, QStyledItemDelegate

from piaa_desktop.core.library import PhotoRecord
from piaa_desktop.gui.cell_view import UniformCellView
from piaa_desktop.gui.grid import PhotoGridView, PhotoListModel
from piaa_desktop.gui.loupe import Filmstrip

A = QAbstractItemView.CursorAction
KEYS = ("MoveUp", "MoveDown", "MoveLeft", "MoveRight", "MovePageUp", "MovePageDown", "MoveHome", "MoveEnd",
        "MoveNext", "MovePrevious")


class CountingModel(PhotoListModel):
    """The grid's model, counting the Python rowCount() calls (QListView made two a row at every layout)."""

    calls = 0

    def rowCount(self, parent=None):  # noqa: N802
        CountingModel.calls += 1
        return super().rowCount(parent) if parent is not None else super().rowCount()


def _model(n, cls=PhotoListModel):
    m = cls()
    m.set_records({i: PhotoRecord(i, f"/nowhere/{i}.jpg", f"{i}.jpg", "h", 1, 0, 0, None, 100, 80, None)
                   for i in range(n)})
    m.set_ids(range(n))
    return m


class RecordingDelegate(QStyledItemDelegate):
    def __init__(self, size=QSize(50, 40)):
        super().__init__()
        self.size = size
        self.painted = []

    def sizeHint(self, option, index):  # noqa: N802
        return QSize(self.size)

    def paint(self, painter, option, index):
        self.painted.append((index.row(), QRect(option.rect), option.state))


def _view(qtbot, n, width, height=300, cls=UniformCellView, **kw):
    v = cls(**kw)
    qtbot.addWidget(v)
    d = RecordingDelegate()
    v._d = d
    v.setItemDelegate(d)
    v.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
    v.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    v.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    m = _model(n)
    v._m = m
    v.setModel(m)
    v.resize(width, height)
    v.show()
    qtbot.waitExposed(v)
    return v, m, d


def _oracle(qtbot, model, view):
    """A QListView laid out as the grid was before (list mode, left to right, wrapping, uniform sizes)."""
    lv = QListView()
    qtbot.addWidget(lv)
    lv.setViewMode(QListView.ViewMode.ListMode)
    lv.setFlow(QListView.Flow.LeftToRight)
    lv.setWrapping(True)
    lv.setUniformItemSizes(True)
    lv.setResizeMode(QListView.ResizeMode.Adjust)
    lv.setSpacing(0)
    lv.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    lv.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
    lv.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    lv.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    lv.setItemDelegate(RecordingDelegate())
    lv.setModel(model)
    lv.resize(view.size())
    lv.show()
    qtbot.waitExposed(lv)
    lv.doItemsLayout()
    assert lv.viewport().size() == view.viewport().size()
    return lv


@pytest.mark.parametrize("width", [120, 333, 517, 1000])
def test_layout_is_arithmetic_and_matches_qlistview(qtbot, width):
    n = 103
    v, m, d = _view(qtbot, n, width)
    lv = _oracle(qtbot, m, v)
    cols = max(1, v.viewport().width() // 50)
    assert v.layout_columns() == cols
    for row in (0, 1, cols - 1, cols, n // 2, n - 1):
        idx = m.index(row, 0)
        r = v.visualRect(idx)
        assert r == QRect((row % cols) * 50, (row // cols) * 40, 50, 40)
        assert r == lv.visualRect(idx)
        for p in (r.topLeft(), r.center(), r.bottomRight()):
            assert v.indexAt(p).row() == row
    # beyond the last column, and past the last photo: nothing
    assert not v.indexAt(QPoint(cols * 50 + 1, 5)).isValid() or cols * 50 + 1 >= v.viewport().width()
    last_line_y = (n - 1) // cols * 40 + 5
    assert not v.indexAt(QPoint((n % cols or cols) * 50 + 2, last_line_y)).isValid() or n % cols == 0
    # scrolled: the same cells, moved by the offset
    bar = v.verticalScrollBar()
    assert bar.maximum() == max(0, -(-n // cols) * 40 - v.viewport().height())
    assert bar.pageStep() == v.viewport().height()
    bar.setValue(bar.maximum() // 2)
    for row in (0, n // 2, n - 1):
        r = v.visualRect(m.index(row, 0))
        assert r.topLeft() == QPoint((row % cols) * 50, (row // cols) * 40 - bar.value())
        if r.intersects(v.viewport().rect()):
            assert v.indexAt(r.center()).row() == row


@pytest.mark.parametrize("width,height", [(333, 300), (517, 170), (1000, 250), (333, 75)])
def test_move_cursor_matches_qlistview_for_every_key(qtbot, width, height):
    n = 103
    v, m, d = _view(qtbot, n, width, height)
    lv = _oracle(qtbot, m, v)
    cols = v.layout_columns()
    for start in range(n):
        v.setCurrentIndex(m.index(start, 0))
        lv.setCurrentIndex(m.index(start, 0))
        for name in KEYS:
            got = v.moveCursor(getattr(A, name), Qt.KeyboardModifier.NoModifier).row()
            want = lv.moveCursor(getattr(A, name), Qt.KeyboardModifier.NoModifier).row()
            assert got == want, (name, start, got, want)


def test_keys_in_the_grid_move_and_extend_the_selection(qtbot):
    n = 103
    v, m, d = _view(qtbot, n, 333, 300, cls=PhotoGridView)
    cols = v.columns()
    v.setFocus()
    v.selectionModel().setCurrentIndex(m.index(cols + 1, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    QTest.keyClick(v, Qt.Key.Key_Down)
    assert v.currentIndex().row() == 2 * cols + 1
    QTest.keyClick(v, Qt.Key.Key_Right)
    assert v.currentIndex().row() == 2 * cols + 2
    QTest.keyClick(v, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    rows = sorted(i.row() for i in v.selectionModel().selectedIndexes())
    assert rows == list(range(2 * cols + 2, 3 * cols + 3))  # reading order between the two cells
    QTest.keyClick(v, Qt.Key.Key_End)
    assert v.currentIndex().row() == n - 1
    assert v.visualRect(v.currentIndex()).bottom() < v.viewport().height()  # scrolled into view
    QTest.keyClick(v, Qt.Key.Key_Home, Qt.KeyboardModifier.ShiftModifier)
    assert len(v.selectionModel().selectedIndexes()) == n
    assert v.verticalScrollBar().value() == 0
    QTest.keyClick(v, Qt.Key.Key_PageDown)
    page = max(1, v.viewport().height() // v.cell_extent().height() - 1)
    assert v.currentIndex().row() == page * cols
    assert [i.row() for i in v.selectionModel().selectedIndexes()] == [page * cols]


def _mouse(widget, typ, pos, mods=Qt.KeyboardModifier.NoModifier, held=True):
    left = Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if typ == QEvent.Type.MouseMove else left
    buttons = left if held else Qt.MouseButton.NoButton
    p = QPointF(pos)
    QApplication.sendEvent(widget, QMouseEvent(typ, p, widget.mapToGlobal(p), button, buttons, mods))


def test_set_selection_of_a_rect_clicks_and_drags(qtbot):
    v, m, d = _view(qtbot, 60, 333, 300)  # 6 columns of 50 x 40
    cols = v.layout_columns()
    assert cols == 6
    sel = v.selectionModel()

    def rows():
        return sorted(i.row() for i in sel.selectedIndexes())

    # keys / Shift+click: the photos between the two corner cells in reading order
    v.setSelection(QRect(QPoint(125, 45), QPoint(75, 125)), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert rows() == list(range(1 * cols + 2, 3 * cols + 1 + 1))  # (line 1, col 2) .. (line 3, col 1)
    # one pixel: that cell
    v.setSelection(QRect(160, 10, 1, 1), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert rows() == [3]
    # a drag: the cells the rectangle covers
    vp = v.viewport()
    _mouse(vp, QEvent.Type.MouseButtonPress, QPoint(60, 50))
    _mouse(vp, QEvent.Type.MouseMove, QPoint(110, 70))
    _mouse(vp, QEvent.Type.MouseMove, QPoint(160, 130))
    _mouse(vp, QEvent.Type.MouseButtonRelease, QPoint(160, 130), held=False)
    assert rows() == [line * cols + c for line in (1, 2, 3) for c in (1, 2, 3)]
    # click, then Shift+click: a range; Ctrl+click adds one; a click past the last photo clears
    left = Qt.MouseButton.LeftButton
    QTest.mouseClick(vp, left, Qt.KeyboardModifier.NoModifier, QPoint(10, 10))
    assert rows() == [0]
    QTest.mouseClick(vp, left, Qt.KeyboardModifier.ShiftModifier, QPoint(110, 90))
    assert rows() == list(range(0, 2 * cols + 2 + 1))
    QTest.mouseClick(vp, left, Qt.KeyboardModifier.ControlModifier, QPoint(260, 250))
    assert rows() == list(range(0, 2 * cols + 2 + 1)) + [6 * cols + 5]
    QTest.mouseClick(vp, left, Qt.KeyboardModifier.NoModifier, QPoint(320, 250))
    assert rows() == []
    # the repainted region of a selection is its visible cells only (selecting everything stays cheap)
    sel.select(m.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    region = v.visualRegionForSelection(sel.selection())
    assert region.boundingRect() == v.visualRect(m.index(0, 0))


def test_paint_visits_only_the_visible_cells_with_their_state(qtbot):
    n = 100_000
    v, m, d = _view(qtbot, n, 333, 300)
    sel = v.selectionModel()
    v.setFocus()
    qtbot.waitUntil(v.hasFocus, timeout=2000)
    v.verticalScrollBar().setValue(40 * 1000 + 13)  # mid-library, a line cut at the top
    vis = v.visible_rows() if hasattr(v, "visible_rows") else v.visible_row_range()
    cur = vis.start + 7
    sel.setCurrentIndex(m.index(cur, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    sel.select(m.index(cur + 1, 0), QItemSelectionModel.SelectionFlag.Select)
    hover = v.visualRect(m.index(cur + 2, 0)).center()
    QApplication.sendEvent(v.viewport(), QMouseEvent(QEvent.Type.MouseMove, QPointF(hover), v.viewport().mapToGlobal(QPointF(hover)),
                                                     Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                     Qt.KeyboardModifier.NoModifier))
    from PySide6.QtGui import QHoverEvent
    QApplication.sendEvent(v.viewport(), QHoverEvent(QEvent.Type.HoverMove, QPointF(hover), QPointF(hover), QPointF(hover)))
    d.painted.clear()
    v.viewport().repaint()
    rows = [r for r, _, _ in d.painted]
    cols = v.layout_columns()
    lines = -(-(13 + v.viewport().height()) // 40)
    assert set(rows) == set(range(1000 * cols, min(n, (1000 + lines) * cols)))
    assert len(rows) == len(set(rows)) <= lines * cols
    assert set(rows) == set(vis)
    state = {r: s for r, _, s in d.painted}
    rects = {r: rc for r, rc, _ in d.painted}
    S = QStyle.StateFlag
    assert state[cur] & S.State_Selected and state[cur] & S.State_HasFocus
    assert state[cur + 1] & S.State_Selected and not state[cur + 1] & S.State_HasFocus
    assert state[cur + 2] & S.State_MouseOver and not state[cur + 2] & S.State_Selected
    assert not any(s & S.State_MouseOver for r, s in state.items() if r != cur + 2)
    assert sum(1 for s in state.values() if s & S.State_Selected) == 2
    assert rects[cur] == v.visualRect(m.index(cur, 0))


def test_scroll_to_a_far_row_right_after_a_reset_lands_on_it(qtbot):
    n = 100_000
    m = _model(n)
    v = PhotoGridView(cell=150)
    qtbot.addWidget(v)
    v.resize(1200, 800)
    v.setModel(m)
    v.show()
    qtbot.waitExposed(v)
    perm = list(range(n))
    random.Random(5).shuffle(perm)
    m.set_ids(perm)  # a re-sort
    row = m.row_of(50_000)
    assert row > 20_000
    idx = m.index(row, 0)
    v.scrollTo(idx)  # no event processed since the reset
    assert v.viewport().rect().contains(v.visualRect(idx))
    assert row in v.visible_rows()
    v.scrollTo(m.index(n - 1, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
    assert v.verticalScrollBar().value() == v.verticalScrollBar().maximum()
    assert n - 1 in v.visible_rows()


def test_reset_and_show_of_100k_rows_costs_few_row_counts(qtbot):
    n = 100_000
    m = _model(n, CountingModel)
    grid = PhotoGridView(cell=150)
    qtbot.addWidget(grid)
    grid.resize(1200, 800)
    strip = Filmstrip()
    qtbot.addWidget(strip)
    strip.resize(1200, 100)
    CountingModel.calls = 0
    grid.setModel(m)
    grid.show()
    qtbot.waitExposed(grid)
    QApplication.processEvents()
    m.set_ids(list(reversed(range(n))))
    QApplication.processEvents()
    assert CountingModel.calls < 2000, CountingModel.calls  # QListView: ~2 a row (200,000)
    assert grid.verticalScrollBar().maximum() == -(-n // grid.columns()) * grid.cell_extent().height() - grid.viewport().height()
    CountingModel.calls = 0
    strip.setModel(m)
    strip.setSelectionModel(grid.selectionModel())
    grid.selectionModel().setCurrentIndex(m.index(n // 2, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    strip.show()
    qtbot.waitExposed(strip)
    strip.scroll_to_current()
    QApplication.processEvents()
    assert CountingModel.calls < 2000, CountingModel.calls
    r = strip.visualRect(m.index(n // 2, 0))
    assert abs(r.center().x() - strip.viewport().rect().center().x()) <= 1  # centred
    assert r.height() == strip.viewport().height()


def test_filmstrip_click_and_wheel_and_grid_resize(qtbot):
    from _gui_helpers import wheel

    n = 500
    m = _model(n)
    grid = PhotoGridView(cell=150)
    qtbot.addWidget(grid)
    grid.resize(1000, 700)
    grid.setModel(m)
    grid.show()
    strip = Filmstrip()
    qtbot.addWidget(strip)
    strip.resize(800, 100)
    strip.setModel(m)
    strip.setSelectionModel(grid.selectionModel())
    strip.show()
    qtbot.waitExposed(strip)
    sm = grid.selectionModel()
    sm.setCurrentIndex(m.index(200, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    strip.scroll_to_current()
    r = strip.visualRect(m.index(200, 0))
    assert strip.viewport().rect().contains(r)
    # a click on the cell right of the current one: the grid's current photo and selection follow
    QTest.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     r.center() + QPoint(r.width(), 0))
    assert grid.currentIndex().row() == 201
    assert [i.row() for i in sm.selectedIndexes()] == [201]
    # the wheel scrolls the strip sideways, one notch = 120 px
    bar = strip.horizontalScrollBar()
    before = bar.value()
    wheel(strip.viewport(), (100, 40), -120)
    assert bar.value() == before + 120
    assert bar.maximum() == n * strip.cell_extent().width() - strip.viewport().width()
    # the grid narrower: fewer columns, cells refitted, the current photo still on screen
    cols = grid.columns()
    sm.setCurrentIndex(m.index(400, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    grid.resize(520, 700)
    assert grid.columns() < cols
    assert grid.columns() * grid.delegate.cell <= grid.viewport().width()
    assert grid.viewport().rect().contains(grid.visualRect(m.index(400, 0)))
    assert grid.verticalScrollBar().maximum() == (
        -(-n // grid.columns()) * grid.cell_extent().height() - grid.viewport().height())


def test_hover_follows_the_mouse(qtbot):
    from PySide6.QtGui import QHoverEvent

    v, m, d = _view(qtbot, 1000, 333, 300)
    vp = v.viewport()
    cols = v.layout_columns()
    for p, row in ((QPoint(75, 60), cols + 1), (QPoint(10, 10), 0), (QPoint(cols * 50 + 1, 10), -1)):
        if p.x() >= vp.width():
            continue
        QApplication.sendEvent(vp, QHoverEvent(QEvent.Type.HoverMove, QPointF(p), QPointF(p), QPointF(p)))
        assert v.hover_index().row() == row
    QApplication.sendEvent(vp, QHoverEvent(QEvent.Type.HoverMove, QPointF(75, 60), QPointF(75, 60), QPointF(75, 60)))
    QApplication.sendEvent(vp, QEvent(QEvent.Type.Leave))
    assert not v.hover_index().isValid()
