"""Compare (2-up) and Survey (N-up) views for culling, self-contained widgets.

``CompareView(catalog, photo_ids, loader=None, undo_stack=None)``: the first photo (the *select*) on the
left, a candidate on the right, with synchronised zoom and pan (zoom and the centre point are shared as
fractions, so photos of different sizes line up). Keys: **P** pick, **X** reject, **U** unflag the active
side; **Tab** or a click switches the active side; **Left/Right** step the candidate through the other
photos; **Up** (or Enter) makes the candidate the new select; **Z** toggles 100 % and fit (the photo's own
pixels: zooming past the preview decodes the full resolution on a worker, as in the loupe); a click zooms at
the point, a drag pans, the wheel zooms (fitted) or scrolls (zoomed): the loupe's
:class:`~piaa_desktop.gui.zoom_view.ZoomImageView`.

``SurveyView(catalog, photo_ids, loader=None, undo_stack=None)``: every candidate side by side, fitted.
**Left/Right** (or a click) move the focus; **P/X/U** flag the focused photo; **Delete** drops it from the
survey (not from the catalog), narrowing the choice.

``loader(photo_id) -> QImage`` decodes a photo (default: the loupe's EXIF-oriented preview of the
original, with its develop edit rendered); the widgets cache what they loaded. Flag changes go through
the catalog (so its ``on_change`` hooks, such as XMP sidecars, run), are pushed on ``undo_stack`` when
given, and are emitted as ``changed(Change)``.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop.gui.zoom_view import ZoomImageView



def shiboken_valid(obj) -> bool:
    """False once the C++ side of a widget is gone (a late worker result after the view was closed)."""
    try:
        import shiboken6

        return shiboken6.isValid(obj)
    except ImportError:  # pragma: no cover - shiboken6 ships with PySide6
        return True


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
            return load_preview_image(photo.path, edit=catalog.get_edit(pid))
        except Exception:  # noqa: BLE001 - an unreadable photo shows as empty, never crashes the view
            return QImage()

    return load


class ImagePane(ZoomImageView):
    """One photo: the loupe's zoom view (click to zoom at the point, drag pans, the wheel zooms / scrolls)
    with a zoom also expressed relative to "fit" (``rel_zoom`` 1.0 = the whole photo fits), which is
    what two panes share so that photos of different sizes line up."""

    MIN_ZOOM, MAX_REL_ZOOM = 1.0, 512.0
    MAX_ZOOM = 64.0

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.margin = 0
        self.background = QColor("#1b1d22")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the compare/survey widget
        self.photo_id: Optional[int] = None

    @property
    def rel_zoom(self) -> float:
        return 1.0 if self.is_fit() else self.zoom() / max(self.fit_zoom(), 1e-9)

    def fit_scale(self) -> float:
        return self.fit_zoom()

    def set_rel_zoom(self, z: float, emit: bool = True) -> None:
        z = max(self.MIN_ZOOM, min(self.MAX_REL_ZOOM, float(z)))
        if abs(z - self.rel_zoom) < 1e-9:
            return
        if z <= 1.0 + 1e-9:
            self.set_fit(emit)
        else:
            self.set_zoom(self.fit_zoom() * z, emit=emit)

    def one_to_one_zoom(self) -> float:
        """The relative zoom that shows the photo's own pixels at 100 %."""
        return max(self.MIN_ZOOM, self.one_to_one() / max(self.fit_zoom(), 1e-9))


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
            c.pane.fullResolutionWanted.connect(lambda k=k: self._load_sharper(k, 2))
        self._sharp: dict[int, tuple[int, QImage]] = {}  # photo id -> (1 preview / 2 full resolution, image)
        self._sharp_loading: set[tuple[int, int]] = set()
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
        for k, (cell, pid) in enumerate(zip(self.cells, (self.select_id, self.candidate_id))):
            changed = cell.photo_id != pid
            cell.photo_id = pid
            cell.pane.photo_id = pid
            if changed:
                cell.pane.reset_full_request()
            sharp = self._sharp.get(pid) if pid is not None else None
            pic = sharp[1] if sharp is not None else (self.image(pid) if pid is not None else None)
            cell.pane.set_image(pic, self._photo_size(pid), keep_view=not changed)
            if pid is not None and sharp is None:
                self._load_sharper(k, 1)  # the screen-sized preview replaces the thumbnail
        # keep the candidate aligned with the select's zoom and centre
        self._sync_from(0)
        self.refresh_captions()

    def refresh_captions(self) -> None:
        for cell in self.cells:
            cell.caption.setText(self.caption_text(cell.photo_id))

    def _edit(self, pid: int) -> Optional[dict]:
        """The photo's develop edit (None when unedited, or when the catalog is already closed)."""
        try:
            return self.catalog.get_edit(pid)
        except Exception:  # noqa: BLE001 - a late callback after the window closed its catalog
            return None

    def _photo_size(self, pid: Optional[int]) -> Optional[QSize]:
        try:
            p = self.catalog.photo(pid) if pid is not None else None
        except Exception:  # noqa: BLE001 - a late decode after the window closed its catalog
            return None
        if p is None or not p.width or not p.height:
            return None
        edit = self._edit(pid)
        if edit:  # the developed photo's own size (after its crop and turns)
            from piaa_desktop.core import develop

            try:
                return QSize(*develop.geometry_output_size(int(p.width), int(p.height), edit))
            except ValueError:
                pass
        return QSize(int(p.width), int(p.height))

    def _load_sharper(self, k: int, level: int) -> None:
        """Decode a sharper picture of side ``k``'s photo on a worker: 1 the screen-sized preview,
        2 the full resolution (zoomed past the preview's pixels, as in the loupe)."""
        from piaa_desktop.gui.loupe import load_full_image, load_preview_image
        from piaa_desktop.gui.jobs import run_job

        pid = self.cells[k].photo_id
        if pid is None or (pid, level) in self._sharp_loading or self._sharp.get(pid, (0, None))[0] >= level:
            return
        photo = self.catalog.photo(pid)
        if photo is None:
            return
        self._sharp_loading.add((pid, level))
        fn = load_full_image if level == 2 else load_preview_image
        run_job(fn, photo.path, edit=self._edit(pid), name=f"compare-{level}-{pid}",
                on_result=lambda img, pid=pid, level=level: self._on_sharper(pid, level, img),
                on_error=lambda _exc, pid=pid, level=level: self._sharp_loading.discard((pid, level)))

    def _on_sharper(self, pid: int, level: int, image: QImage) -> None:
        if not shiboken_valid(self):
            return
        self._sharp_loading.discard((pid, level))
        shown = {c.photo_id for c in self.cells}
        if image.isNull() or pid not in shown or self._sharp.get(pid, (0, None))[0] >= level:
            return
        # full-resolution pictures are big: keep them only for the photos on screen
        self._sharp = {i: v for i, v in self._sharp.items() if i in shown or v[0] < 2}
        self._sharp[pid] = (level, image)
        for cell in self.cells:
            if cell.photo_id == pid:
                size = image.size() if level == 2 else self._photo_size(pid)
                cell.pane.set_image(image, size, keep_view=True)

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
        """Z: fit <-> 100 % of the active photo's own pixels (the other side follows)."""
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
            c.pane.click_zoom_allowed = lambda: False  # a survey stays fitted: a click only focuses
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
