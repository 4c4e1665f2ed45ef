"""A list view of same-size cells whose layout is arithmetic: what the grid and the filmstrip are built on.

``QListView`` lays out every row of its model (one ``index()`` and two Python ``rowCount()`` calls a row):
at 100,000 photos a reset or a first show stalled the GUI thread for half a second, and its batched layout
could not ``scrollTo`` a row it had not laid out yet. Here cell ``r`` sits at ``(r % columns, r // columns)``
(wrapping, the grid) or at ``(r, 0)`` (one row, the filmstrip), so a reset, a show, a ``scrollTo``, a paint
or a hit test cost O(cells on screen) at any library size.

The QAbstractItemView contract is implemented the way ``QListView`` (list mode, left-to-right flow, uniform
item sizes, no spacing) behaves, so keys, clicks and selections act as before: the arrows move by one cell
(Left/Right along the reading order, Up/Down by one line of cells, staying put where there is no cell),
PageUp/PageDown by the lines that fit in the viewport less one, Home/End to the first/last photo; a drag
selects the cells the rectangle covers, a Shift+click or Shift+arrow the photos between two cells in
reading order. The cell size comes from the delegate's ``sizeHint`` (one call per layout or paint).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QCursor, QPainter, QRegion
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyleOptionViewItem

_A = QAbstractItemView.CursorAction
_H = QAbstractItemView.ScrollHint


def _half(x: int) -> int:
    """C++ integer division by two (towards zero), as Qt rounds its centring."""
    return int(x / 2)


class UniformCellView(QAbstractItemView):
    """Cells of one size (the delegate's ``sizeHint`` for the first row) laid out row-major in
    ``columns()`` columns (``wrapping=True``) or in one horizontal row (``wrapping=False``).

    ``scroll_step``: the scroll bar's single step (None: one cell).
    """

    def __init__(self, parent=None, wrapping: bool = True):
        super().__init__(parent)
        self._wrapping = bool(wrapping)
        self._hover = QPersistentModelIndex()
        self.scroll_step: Optional[int] = None
        self._connected = None
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover)
        # as QAbstractItemView does: after a scroll the cell now under the mouse is the hovered one
        self.verticalScrollBar().valueChanged.connect(self._hover_from_cursor)
        self.horizontalScrollBar().valueChanged.connect(self._hover_from_cursor)

    # ------------------------------------------------------------------ layout arithmetic
    def _count(self) -> int:
        m = self.model()
        return m.rowCount() if m is not None else 0

    def cell_extent(self) -> QSize:
        """The size of every cell (the strip's cells are as tall as its viewport)."""
        m = self.model()
        d = self.itemDelegate()
        if d is None:
            return QSize(1, 1)
        opt = QStyleOptionViewItem()
        s = d.sizeHint(opt, m.index(0, 0) if m is not None and m.rowCount() else QModelIndex())
        w, h = max(1, s.width()), max(1, s.height())
        if not self._wrapping:
            h = max(h, self.viewport().height())
        return QSize(w, h)

    def _grid(self, n: Optional[int] = None) -> tuple[int, int, int, int]:
        """(cell width, cell height, columns, rows count)."""
        n = self._count() if n is None else n
        s = self.cell_extent()
        w, h = s.width(), s.height()
        cols = max(1, self.viewport().width() // w) if self._wrapping else max(1, n)
        return w, h, cols, n

    def layout_columns(self) -> int:
        """Cells per line (the strip: all of them)."""
        return self._grid()[2]

    def contents_size(self) -> QSize:
        w, h, cols, n = self._grid()
        if not n:
            return QSize(0, 0)
        if self._wrapping:
            return QSize(cols * w, -(-n // cols) * h)
        return QSize(n * w, h)

    def rect_for_row(self, row: int) -> QRect:
        """The cell of ``row`` in contents coordinates (not scrolled)."""
        w, h, cols, n = self._grid()
        if not 0 <= row < n:
            return QRect()
        return QRect((row % cols) * w, (row // cols) * h, w, h)

    def _row_at(self, x: int, y: int, grid=None) -> int:
        """Row of the cell at contents point (x, y), or -1."""
        w, h, cols, n = grid or self._grid()
        if x < 0 or y < 0:
            return -1
        col, line = x // w, y // h
        if col >= cols or (not self._wrapping and line > 0):
            return -1
        row = line * cols + col
        return row if row < n else -1

    def _rows_in(self, rect: QRect, grid=None) -> list[tuple[int, int]]:
        """Runs (first, last) of the rows whose cells intersect ``rect`` (contents coordinates), one a line."""
        w, h, cols, n = grid or self._grid()
        r = rect.normalized()
        if not n or r.isEmpty() or r.right() < 0 or r.bottom() < 0:
            return []
        c0, c1 = max(0, r.left() // w), min(cols - 1, r.right() // w)
        l0, l1 = max(0, r.top() // h), min(-(-n // cols) - 1, r.bottom() // h)
        if c0 > c1:
            return []
        runs = []
        for line in range(l0, l1 + 1):
            a, b = line * cols + c0, min(n - 1, line * cols + c1)
            if a <= b:
                runs.append((a, b))
        return runs

    def visible_row_range(self) -> range:
        """Rows whose cells are at least partly in the viewport."""
        grid = self._grid()
        vp = self.viewport().rect().translated(self.horizontalOffset(), self.verticalOffset())
        runs = self._rows_in(vp, grid)
        if not runs:
            return range(0)
        return range(runs[0][0], runs[-1][1] + 1)

    # ------------------------------------------------------------------ QAbstractItemView contract
    def horizontalOffset(self) -> int:  # noqa: N802 - Qt API
        return self.horizontalScrollBar().value()

    def verticalOffset(self) -> int:  # noqa: N802
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index) -> bool:  # noqa: N802
        return False

    def selectedIndexes(self):  # noqa: N802 - no hidden rows: skip the base class's per-index check
        sm = self.selectionModel()
        return sm.selectedIndexes() if sm is not None else []

    def visualRect(self, index) -> QRect:  # noqa: N802
        if not index.isValid() or index.model() is not self.model():
            return QRect()
        r = self.rect_for_row(index.row())
        return r.translated(-self.horizontalOffset(), -self.verticalOffset()) if r.isValid() else r

    def indexAt(self, point: QPoint) -> QModelIndex:  # noqa: N802
        row = self._row_at(point.x() + self.horizontalOffset(), point.y() + self.verticalOffset())
        return self.model().index(row, 0, self.rootIndex()) if row >= 0 else QModelIndex()

    def updateGeometries(self) -> None:  # noqa: N802 - the scroll ranges from the arithmetic layout
        vp = self.viewport()
        w, h, cols, n = self._grid()
        vb, hb = self.verticalScrollBar(), self.horizontalScrollBar()
        if self._wrapping:
            hb.setRange(0, 0)
            vb.setPageStep(max(1, vp.height()))
            vb.setSingleStep(self.scroll_step or h)
            vb.setRange(0, max(0, -(-n // cols) * h - vp.height()))
        else:
            vb.setRange(0, 0)
            hb.setPageStep(max(1, vp.width()))
            hb.setSingleStep(self.scroll_step or w)
            hb.setRange(0, max(0, n * w - vp.width()))
        super().updateGeometries()

    def scrollTo(self, index, hint=_H.EnsureVisible) -> None:  # noqa: N802
        if not index.isValid():
            return
        rect = self.visualRect(index)
        if not rect.isValid():
            return
        area = self.viewport().rect()
        if hint == _H.EnsureVisible and area.contains(rect):
            self.viewport().update(rect)
            return
        if self._wrapping:
            bar, start, length, extent = self.verticalScrollBar(), rect.top(), rect.height(), area.height()
        else:
            bar, start, length, extent = self.horizontalScrollBar(), rect.left(), rect.width(), area.width()
        value = bar.value()
        if hint == _H.PositionAtTop:
            value += start
        elif hint == _H.PositionAtBottom:
            value += min(start, start + length - extent)
        elif hint == _H.PositionAtCenter:
            if self._wrapping:
                value += start - _half(extent - length)
            else:  # Qt centres the strip's cell by its centre point
                value += (start + _half(length - 1)) - _half(extent - 1)
        else:  # EnsureVisible: the least move that shows the whole cell (its top/left if it is bigger)
            if start < 0:
                value += start
            elif start + length > extent:
                value += min(start, start + length - extent)
        bar.setValue(value)

    def moveCursor(self, action, modifiers) -> QModelIndex:  # noqa: N802
        m = self.model()
        n = self._count()
        if m is None or not n:
            return QModelIndex()
        cur = self.currentIndex()
        if not cur.isValid():
            return m.index(0, 0, self.rootIndex())
        row = cur.row()
        w, h, cols, _ = self._grid(n)
        last_line = (n - 1) // cols
        line, col = divmod(row, cols)
        new = row
        if action == _A.MoveLeft:
            new = max(0, row - 1)
        elif action == _A.MoveRight:
            new = min(n - 1, row + 1)
        elif action in (_A.MoveUp, _A.MovePrevious):
            new = row - cols if line > 0 else row
        elif action in (_A.MoveDown, _A.MoveNext):  # the cell below (see _cell_on)
            got = self._cell_on(line + 1, col, cols, n)
            new = row if got is None else got
        elif action in (_A.MovePageUp, _A.MovePageDown):
            # the lines that fit in the viewport less one (QListView's paging: none under two lines)
            step = max(0, self.viewport().height() // h - 1) if self._wrapping else 0
            if action == _A.MovePageUp:
                new = max(0, line - step) * cols + col
            else:
                target = min(last_line, line + step)
                got = self._cell_on(target, col, cols, n)
                new = got if got is not None else (target - 1) * cols + col if target > line else row
        elif action == _A.MoveHome:
            new = 0
        elif action == _A.MoveEnd:
            new = n - 1
        return m.index(new, 0, self.rootIndex())

    @staticmethod
    def _cell_on(line: int, col: int, cols: int, n: int) -> Optional[int]:
        """The row at (line, col) for the arrow keys, as QListView finds it: on the short last line the
        column just after the last photo finds that photo too (its hit test); further right, nothing."""
        if line < 0 or line > (n - 1) // cols:
            return None
        row = line * cols + col
        if row < n:
            return row
        return n - 1 if row == n else None

    def _selection_of(self, runs) -> QItemSelection:
        m = self.model()
        sel = QItemSelection()
        root = self.rootIndex()
        for a, b in runs:
            sel.select(m.index(a, 0, root), m.index(b, 0, root))
        return sel

    def setSelection(self, rect: QRect, command) -> None:  # noqa: N802
        sm = self.selectionModel()
        if sm is None or self.model() is None:
            return
        grid = self._grid()
        dx, dy = self.horizontalOffset(), self.verticalOffset()
        if self.state() == QAbstractItemView.State.DragSelectingState:
            # a drag: the cells the rectangle covers
            runs = self._rows_in(rect.normalized().translated(dx, dy), grid)
        elif rect.width() == 1 and rect.height() == 1:
            row = self._row_at(rect.left() + dx, rect.top() + dy, grid)
            runs = [(row, row)] if row >= 0 else []
        else:
            # keys and Shift+clicks: the photos between the two corner cells, in reading order
            a = self._row_at(rect.left() + dx, rect.top() + dy, grid)
            b = self._row_at(rect.right() + dx, rect.bottom() + dy, grid)
            runs = [(min(a, b), max(a, b))] if a >= 0 and b >= 0 else []
        sm.select(self._selection_of(runs), command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:  # noqa: N802
        """The visible cells of ``selection`` (what a selection change repaints); the whole viewport for
        a selection of many pieces (cheaper than walking them)."""
        vis = self.visible_row_range()
        if not vis or selection.isEmpty():
            return QRegion()
        if len(selection) > 64:
            return QRegion(self.viewport().rect())
        region = QRegion()
        m, root = self.model(), self.rootIndex()
        for rng in selection:
            a, b = max(rng.top(), vis.start), min(rng.bottom(), vis.stop - 1)
            for row in range(a, b + 1):
                region += self.visualRect(m.index(row, 0, root))
        return region

    # ------------------------------------------------------------------ model changes: O(1) relayout
    def setModel(self, model) -> None:  # noqa: N802
        old = self._connected
        if old is not None:
            for sig in (old.rowsRemoved, old.layoutChanged, old.rowsInserted):
                try:
                    sig.disconnect(self._relayout)
                except (RuntimeError, TypeError):
                    pass
        self._hover = QPersistentModelIndex()
        super().setModel(model)
        self._connected = model
        if model is not None:
            model.rowsRemoved.connect(self._relayout)
            model.rowsInserted.connect(self._relayout)
            model.layoutChanged.connect(self._relayout)
        self._relayout()

    def _relayout(self, *_args) -> None:
        self.updateGeometries()
        self.viewport().update()

    def reset(self) -> None:
        super().reset()
        self._hover = QPersistentModelIndex()
        self._relayout()  # now, not on the delayed layout: a scrollTo right after a reset lands

    # ------------------------------------------------------------------ hover
    def _set_hover(self, index: QModelIndex) -> None:
        old = QModelIndex(self._hover)
        if old == index:
            return
        self._hover = QPersistentModelIndex(index)
        for i in (old, index):
            if i.isValid():
                self.viewport().update(self.visualRect(i))

    def _hover_from_cursor(self, *_args) -> None:
        vp = self.viewport()
        pos = vp.mapFromGlobal(QCursor.pos())
        self._set_hover(self.indexAt(pos) if vp.rect().contains(pos) and vp.underMouse() else QModelIndex())

    def hover_index(self) -> QModelIndex:
        return QModelIndex(self._hover)

    def viewportEvent(self, event) -> bool:  # noqa: N802
        t = event.type()
        if t in (QEvent.Type.HoverMove, QEvent.Type.HoverEnter):
            self._set_hover(self.indexAt(event.position().toPoint()))
        elif t in (QEvent.Type.HoverLeave, QEvent.Type.Leave):
            self._set_hover(QModelIndex())
        return super().viewportEvent(event)

    # ------------------------------------------------------------------ paint: the cells on screen only
    def paintEvent(self, event) -> None:  # noqa: N802
        m = self.model()
        if m is None:
            return
        grid = self._grid()
        dx, dy = self.horizontalOffset(), self.verticalOffset()
        runs = self._rows_in(event.rect().translated(dx, dy), grid)
        if not runs:
            return
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        base = option.state
        sm = self.selectionModel()
        current = self.currentIndex()
        focus = (self.hasFocus() or self.viewport().hasFocus()) and current.isValid()
        hover = QModelIndex(self._hover)
        w, h, cols, _ = grid
        root = self.rootIndex()
        painter = QPainter(self.viewport())
        try:
            for a, b in runs:
                for row in range(a, b + 1):
                    idx = m.index(row, 0, root)
                    option.rect = QRect((row % cols) * w - dx, (row // cols) * h - dy, w, h)
                    state = base
                    if sm is not None and sm.isSelected(idx):
                        state |= QStyle.StateFlag.State_Selected
                    if focus and idx == current:
                        state |= QStyle.StateFlag.State_HasFocus
                    if idx == hover:
                        state |= QStyle.StateFlag.State_MouseOver
                    else:
                        state &= ~QStyle.StateFlag.State_MouseOver
                    option.state = state
                    self.itemDelegateForIndex(idx).paint(painter, option, idx)
        finally:
            painter.end()
