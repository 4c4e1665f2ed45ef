"""Drag-to-reorder: put a small set of photos in your order of preference (the second form of ranking).

The selected photos (2 to 12) are shown as large thumbnails, in their current personal-score order;
drag them (or move the current one with Ctrl+Left / Ctrl+Right) until the best is first, then Save
(Enter). The order becomes preferences between neighbours (``core.personal.operations.record_order``), which
the personal model learns from like "which do you prefer?" answers. After a save a worker checks them as the
ranking view does (:func:`core.personal.operations.running_check`): how many of these the model had guessed
before they were given, and how well it knows the user's taste, in :mod:`core.personal.confidence`'s words.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_PHOTOS = 12


class ReorderView(QWidget):
    orderSaved = Signal(list)  # photo ids, best first

    def __init__(self, catalog, image_loader: Callable[[int], object], parent: Optional[QWidget] = None,
                 jobs=None, check_source: Optional[Callable] = None):
        """``jobs``: the window's JobsManager for the check after a save (none: no check is shown);
        ``check_source(catalog, known, progress=None, cancel=None)`` as RankingView's."""
        super().__init__(parent)
        self.catalog = catalog
        self.image_loader = image_loader
        self._jobs = jobs
        path = getattr(catalog, "path", None)
        self._catalog_path = str(path) if path and str(path) != ":memory:" else None
        self._check_source = check_source
        self._check_seq = 0  # saves checked: a check of an older save never replaces a newer one
        self.check = None
        title = QLabel("Drag the photos into your order of preference: best first")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.list = QListWidget(self)
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Snap)
        self.list.setIconSize(QSize(220, 220))
        self.list.setGridSize(QSize(240, 260))
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.installEventFilter(self)
        self.list.model().rowsMoved.connect(self._renumber)  # after a drag and drop
        self.status = QLabel("")
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status.setWordWrap(True)
        self.save_btn = QPushButton("Save this order (Enter)")
        self.save_btn.clicked.connect(self.save)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_btn)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.list, 1)
        lay.addWidget(QLabel("Ctrl+Left / Ctrl+Right move the current photo · Enter saves"), 0,
                      Qt.AlignmentFlag.AlignCenter)
        lay.addLayout(buttons)
        lay.addWidget(self.status)

    def set_photos(self, ids: Sequence[int]) -> None:
        """Show up to MAX_PHOTOS of ``ids``, best personal (else generic) score first."""
        ids = list(dict.fromkeys(int(i) for i in ids))[:MAX_PHOTOS]
        personal, generic = self.catalog.scores("personal"), self.catalog.scores("generic")
        ids.sort(key=lambda i: -(personal.get(i, generic.get(i, 0.0))))
        self.list.clear()
        for pid in ids:
            photo = self.catalog.photo(pid)
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole + 1, photo.name if photo else str(pid))
            img = self.image_loader(pid)
            if img is not None:
                pm = img if isinstance(img, QPixmap) else QPixmap.fromImage(img)
                if not pm.isNull():
                    item.setIcon(QIcon(pm))
            item.setData(Qt.ItemDataRole.UserRole, pid)
            self.list.addItem(item)
        self._renumber()
        if self.list.count():
            self.list.setCurrentRow(0)
        self.save_btn.setEnabled(self.list.count() >= 2)
        self.status.setText("" if len(ids) >= 2 else "Select 2 to 12 photos in the grid first.")

    def _renumber(self, *_args) -> None:
        """Each photo's place in the order in front of its name: 1. best, 2. ..."""
        for r in range(self.list.count()):
            item = self.list.item(r)
            item.setText(f"{r + 1}. {item.data(Qt.ItemDataRole.UserRole + 1)}")

    def order(self) -> list[int]:
        return [self.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.list.count())]

    def move_current(self, delta: int) -> None:
        r = self.list.currentRow()
        t = r + delta
        if r < 0 or not 0 <= t < self.list.count():
            return
        item = self.list.takeItem(r)
        self.list.insertItem(t, item)
        self.list.setCurrentRow(t)
        self._renumber()

    def save(self) -> int:
        from piaa_desktop.core.personal.operations import record_order

        ids = self.order()
        if len(ids) < 2:
            return 0
        n = record_order(self.catalog, ids)
        self.status.setText(f"Saved: {n} preferences learned from your order")
        self.orderSaved.emit(ids)
        self._start_check(n)
        return n

    def _start_check(self, n: int) -> None:
        """Check the answers on a worker (the order's among them); the words follow when it is done."""
        if self._jobs is None or self._catalog_path is None:
            return
        from piaa_desktop.gui.ranking_view import _running_check

        self._check_seq += 1
        seq = self._check_seq
        try:
            self._jobs.submit(self._check_source or _running_check, None, with_catalog=self._catalog_path,
                              name="order check", on_done=lambda r, s=seq, n=n: self._checked(s, n, r))
        except RuntimeError:  # the window is closing
            pass

    def _checked(self, seq: int, n: int, result) -> None:
        if seq != self._check_seq or result is None:
            return  # a newer order was saved since (its check follows), or no prior: the count stands
        from piaa_desktop.core.personal.confidence import describe_latest

        self.check = result
        guessed, counted = result.latest(n)
        self.status.setText(f"Saved: {n} preferences learned from your order. {describe_latest(guessed, counted)}"
                            f"\n{result.words}")

    def _handle_key(self, event: QKeyEvent) -> bool:
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if ctrl and event.key() == Qt.Key.Key_Left:
            self.move_current(-1)
        elif ctrl and event.key() == Qt.Key.Key_Right:
            self.move_current(1)
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.save()
        else:
            return False
        return True

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - the list would take Ctrl+arrows and Enter itself
        if obj is self.list and event.type() == QEvent.Type.KeyPress and self._handle_key(event):
            return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt naming
        if not self._handle_key(event):
            super().keyPressEvent(event)
