"""Compare (2-up) and Survey (N-up) views for culling, self-contained widgets.

``CompareView(catalog, photo_ids, loader=None, undo_stack=None)``: the first photo (the *select*) on the
left, a candidate on the right, with synchronised zoom and pan (zoom and the centre point are shared as
fractions, so photos of different sizes line up). Keys: **P** pick, **X** reject, **U** unflag the active
side; **Tab** or a click switches the active side; **Left/Right** step the candidate through the other
photos; **Up** (or Enter) makes the candidate the new select; **Z** toggles 100 % and fit; the wheel zooms.

``SurveyView(catalog, photo_ids, loader=None, undo_stack=None)``: every candidate side by side, fitted.
**Left/Right** (or a click) move the focus; **P/X/U** flag the focused photo; **Delete** drops it from the
survey (not from the catalog), narrowing the choice.

``loader(photo_id) -> QImage`` decodes a photo (default: the loupe's EXIF-oriented preview of the
original); the widgets cache what they loaded. Flag changes go through the catalog (so its ``on_change``
hooks, such as XMP sidecars, run), are pushed on ``undo_stack`` when given, and are emitted as
``changed(Change)``.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

FLAG_KEYS = {Qt.Key.Key_P: 1, Qt.Key.Key_X: -1, Qt.Key.Key_U: 0}
FLAG_TEXT = {1: "Picked", -1: "Rejected", 0: ""}
ACTIVE_BORDER = "#4f8df5"


def default_loader(catalog) -> Callable[[int], QImage]:
    def load(pid: int) -> QImage:
        from piaa_desktop.gui.loupe import load_preview_image

        photo = catalog.photo(pid)
        if photo is None:
            return QImage()
        try:
            return load_preview_image(photo.path)
        except Exception:  # noqa: BLE001 - an unreadable photo shows as empty, never crashes the view
            return QImage()

    return load


class ImagePane(QGraphicsView):
    """One photo. Zoom is relative to "fit" (1.0 = the whole photo fits); the wheel zooms, drag pans."""

    viewChanged = Signal()
    activated = Signal()

    MIN_ZOOM, MAX_ZOOM = 1.0, 32.0

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QColor("#1b1d22"))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the compare/survey widget
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # pan by dragging
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rel_zoom = 1.0
        self._syncing = False
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    # ------------------------------------------------------------------ image and zoom
    def set_image(self, image: Optional[QImage]) -> None:
        pm = QPixmap.fromImage(image) if image is not None and not image.isNull() else QPixmap()
        self._item.setPixmap(pm)
        self.scene().setSceneRect(QRectF(pm.rect()))
        self._apply_zoom()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def fit_scale(self) -> float:
        pm = self._item.pixmap()
        if pm.isNull():
            return 1.0
        vw, vh = max(1, self.viewport().width()), max(1, self.viewport().height())
        return min(vw / pm.width(), vh / pm.height())

    def set_rel_zoom(self, z: float, emit: bool = True) -> None:
        z = max(self.MIN_ZOOM, min(self.MAX_ZOOM, float(z)))
        if abs(z - self.rel_zoom) < 1e-9:
            return
        self.rel_zoom = z
        self._apply_zoom()
        if emit:
            self.viewChanged.emit()

    def one_to_one_zoom(self) -> float:
        """The relative zoom that shows the photo's pixels at 100 %."""
        return max(self.MIN_ZOOM, 1.0 / max(self.fit_scale(), 1e-9))

    def _apply_zoom(self) -> None:
        s = self.fit_scale() * self.rel_zoom
        self._syncing = True
        try:
            self.resetTransform()
            self.scale(s, s)
        finally:
            self._syncing = False

    def center_fraction(self) -> tuple[float, float]:
        """The scene point at the viewport centre, as fractions of the photo's width and height."""
        r = self.scene().sceneRect()
        if r.width() <= 0 or r.height() <= 0:
            return 0.5, 0.5
        c = self.mapToScene(self.viewport().rect().center())
        return (c.x() - r.x()) / r.width(), (c.y() - r.y()) / r.height()

    def set_center_fraction(self, fx: float, fy: float) -> None:
        r = self.scene().sceneRect()
        self._syncing = True
        try:
            self.centerOn(QPointF(r.x() + fx * r.width(), r.y() + fy * r.height()))
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ events
    def _scrolled(self, _value: int) -> None:
        if not self._syncing:
            self.viewChanged.emit()

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_rel_zoom(self.rel_zoom * (1.25 ** steps))
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.activated.emit()
        super().mousePressEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        fx, fy = self.center_fraction()
        self._apply_zoom()
        self.set_center_fraction(fx, fy)


class _Cell(QWidget):
    """A pane with a caption (name, stars, flag) and a border showing which one is active."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(3, 3, 3, 3)
        lay.setSpacing(2)
        self.pane = ImagePane(self)
        self.caption = QLabel(self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.pane, 1)
        lay.addWidget(self.caption)
        self.photo_id: Optional[int] = None
        self.set_active(False)

    def set_active(self, on: bool) -> None:
        self.setStyleSheet(f"_Cell {{ border: 2px solid {ACTIVE_BORDER if on else 'transparent'}; }}")
        self.setProperty("active", on)
        self._active = on

    @property
    def active(self) -> bool:
        return self._active

    def paintEvent(self, event) -> None:  # noqa: N802 - draw the border (plain QWidget ignores stylesheets)
        super().paintEvent(event)
        if self._active:
            p = QPainter(self)
            p.setPen(QColor(ACTIVE_BORDER))
            p.drawRect(self.rect().adjusted(0, 0, -1, -1))
            p.drawRect(self.rect().adjusted(1, 1, -2, -2))
            p.end()


class _CullingBase(QWidget):
    changed = Signal(object)  # catalog Change

    def __init__(self, catalog, loader=None, undo_stack=None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.catalog = catalog
        self.loader = loader or default_loader(catalog)
        self.undo_stack = undo_stack
        self._images: dict[int, QImage] = {}
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def image(self, pid: int) -> QImage:
        im = self._images.get(pid)
        if im is None:
            im = self.loader(pid)
            if not isinstance(im, QImage):
                im = QImage()
            self._images[pid] = im
            if len(self._images) > 24:  # a small cache: a survey rarely holds more
                self._images.pop(next(iter(self._images)))
        return im

    def caption_text(self, pid: Optional[int]) -> str:
        if pid is None:
            return ""
        p = self.catalog.photo(pid)
        if p is None:
            return "(not in the catalog)"
        stars = "★" * p.rating + "☆" * (5 - p.rating)
        bits = [p.name, stars]
        if FLAG_TEXT.get(p.flag):
            bits.append(FLAG_TEXT[p.flag])
        if p.color_label:
            bits.append(p.color_label)
        return "   ".join(bits)

    def set_flag(self, pid: Optional[int], flag: int):
        if pid is None:
            return None
        change = self.catalog.set_flag([pid], flag)
        if self.undo_stack is not None:
            self.undo_stack.push(change)
        self.changed.emit(change)
        self.refresh_captions()
        return change

    def refresh_captions(self) -> None:  # overridden
        pass


class CompareView(_CullingBase):
    """2-up compare with synchronised zoom and pan (see the module docstring)."""

    activeChanged = Signal(int)  # 0 left (select), 1 right (candidate)
    selectChanged = Signal(int)  # photo id now the select

    def __init__(self, catalog, photo_ids: Sequence[int], loader=None, undo_stack=None, parent: Optional[QWidget] = None):
        super().__init__(catalog, loader, undo_stack, parent)
        self.setObjectName("CompareView")
        self.ids = list(dict.fromkeys(int(i) for i in photo_ids))
        if not self.ids:
            raise ValueError("compare needs at least one photo")
        self.select_id = self.ids[0]
        self.candidate_index = 1 if len(self.ids) > 1 else 0
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.cells = [_Cell(self), _Cell(self)]
        for k, c in enumerate(self.cells):
            lay.addWidget(c, 1)
            c.pane.viewChanged.connect(lambda k=k: self._sync_from(k))
            c.pane.activated.connect(lambda k=k: self.set_active(k))
        self.active = 0
        self._syncing = False
        self._show()
        self.set_active(0)

    @property
    def panes(self) -> list[ImagePane]:
        return [c.pane for c in self.cells]

    @property
    def candidate_id(self) -> Optional[int]:
        others = [i for i in self.ids if i != self.select_id]
        if not others:
            return None
        return others[min(max(self.candidate_index - 1, 0), len(others) - 1)]

    def active_id(self) -> Optional[int]:
        return self.select_id if self.active == 0 else self.candidate_id

    def _show(self) -> None:
        for cell, pid in zip(self.cells, (self.select_id, self.candidate_id)):
            cell.photo_id = pid
            cell.pane.set_image(self.image(pid) if pid is not None else None)
        # keep the candidate aligned with the select's zoom and centre
        self._sync_from(0)
        self.refresh_captions()

    def refresh_captions(self) -> None:
        for cell in self.cells:
            cell.caption.setText(self.caption_text(cell.photo_id))

    def set_active(self, k: int) -> None:
        self.active = 1 if k else 0
        for j, c in enumerate(self.cells):
            c.set_active(j == self.active)
            c.update()
        self.activeChanged.emit(self.active)

    def _sync_from(self, k: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            src, dst = self.panes[k], self.panes[1 - k]
            dst.set_rel_zoom(src.rel_zoom, emit=False)
            fx, fy = src.center_fraction()
            dst.set_center_fraction(fx, fy)
        finally:
            self._syncing = False

    def step_candidate(self, delta: int) -> None:
        n = len(self.ids) - 1
        if n <= 0:
            return
        self.candidate_index = (self.candidate_index - 1 + delta) % n + 1
        self._show()

    def promote_candidate(self) -> None:
        """The candidate becomes the select (the photo to beat)."""
        cand = self.candidate_id
        if cand is None:
            return
        self.select_id = cand
        self._show()
        self.selectChanged.emit(cand)

    def toggle_zoom(self) -> None:
        p = self.panes[self.active]
        p.set_rel_zoom(1.0 if p.rel_zoom > 1.0 + 1e-6 else p.one_to_one_zoom())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in FLAG_KEYS:
            self.set_flag(self.active_id(), FLAG_KEYS[key])
        elif key == Qt.Key.Key_Tab or key == Qt.Key.Key_Backtab:
            self.set_active(1 - self.active)
        elif key == Qt.Key.Key_Right:
            self.step_candidate(+1)
        elif key == Qt.Key.Key_Left:
            self.step_candidate(-1)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.promote_candidate()
        elif key == Qt.Key.Key_Z:
            self.toggle_zoom()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802,A002 - keep Tab for switching sides
        return False


class SurveyView(_CullingBase):
    """N-up survey (see the module docstring)."""

    focusChanged = Signal(object)  # photo id or None
    removed = Signal(int)  # photo id dropped from the survey

    def __init__(self, catalog, photo_ids: Sequence[int], loader=None, undo_stack=None, parent: Optional[QWidget] = None):
        super().__init__(catalog, loader, undo_stack, parent)
        self.setObjectName("SurveyView")
        self.ids = list(dict.fromkeys(int(i) for i in photo_ids))
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        self.cells: list[_Cell] = []
        self.focus_index = 0
        self._rebuild()

    def focused_id(self) -> Optional[int]:
        return self.ids[self.focus_index] if self.ids else None

    def _rebuild(self) -> None:
        for c in self.cells:
            self.grid.removeWidget(c)
            c.deleteLater()
        self.cells = []
        n = len(self.ids)
        if not n:
            self.focusChanged.emit(None)
            return
        cols = max(1, round(n ** 0.5 + 0.49)) if n > 2 else n
        for k, pid in enumerate(self.ids):
            c = _Cell(self)
            c.photo_id = pid
            c.pane.set_image(self.image(pid))
            c.pane.activated.connect(lambda k=k: self.set_focus_index(k))
            self.grid.addWidget(c, k // cols, k % cols)
            self.cells.append(c)
        self.focus_index = min(self.focus_index, n - 1)
        self.refresh_captions()
        self.set_focus_index(self.focus_index)

    def refresh_captions(self) -> None:
        for c in self.cells:
            c.caption.setText(self.caption_text(c.photo_id))

    def set_focus_index(self, k: int) -> None:
        if not self.ids:
            return
        self.focus_index = max(0, min(len(self.ids) - 1, k))
        for j, c in enumerate(self.cells):
            c.set_active(j == self.focus_index)
            c.update()
        self.focusChanged.emit(self.focused_id())

    def remove_focused(self) -> None:
        pid = self.focused_id()
        if pid is None:
            return
        self.ids.remove(pid)
        self._rebuild()
        self.removed.emit(pid)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in FLAG_KEYS:
            self.set_flag(self.focused_id(), FLAG_KEYS[key])
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.set_focus_index(self.focus_index + 1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.set_focus_index(self.focus_index - 1)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_focused()
        else:
            super().keyPressEvent(event)
            return
        event.accept()
