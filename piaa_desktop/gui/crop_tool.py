"""The crop overlay drawn on the loupe while the crop tool is on.

The loupe shows the whole straightened photo; :class:`CropOverlay` draws the crop (the part outside
dimmed, rule-of-thirds lines, corner and edge handles) exactly where :func:`core.develop.crop_box` puts
it, so what is framed is what renders. Dragging a handle or the inside moves the crop (``changed`` while
dragging, ``committed`` on release); a fixed ratio keeps its aspect. In level mode a drag draws a line
that becomes level (or plumb) on release (``levelDrawn(angle delta in degrees)``).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from piaa_desktop.core import develop

HANDLE = 9.0  # px: grab distance and handle size
CROP_KEYS = ("crop_left", "crop_top", "crop_right", "crop_bottom")


class CropOverlay(QObject):
    changed = Signal(dict)
    committed = Signal(dict)
    levelDrawn = Signal(float)

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.params: dict = develop.default_params()
        self.canvas = (1, 1)  # straightened canvas size in pixels (after flip/turns)
        self.ratio: Optional[float] = None  # width / height in pixels, None: free
        self.level_mode = False
        self._drag: Optional[str] = None
        self._start: Optional[QPointF] = None
        self._start_params: dict = {}
        self._line: Optional[tuple[QPointF, QPointF]] = None

    def set_state(self, params: Optional[dict], canvas: tuple[int, int], ratio: Optional[float] = None) -> None:
        self.params = develop.normalize_params(params)
        self.canvas = (max(1, int(canvas[0])), max(1, int(canvas[1])))
        self.ratio = ratio

    # ------------------------------------------------------------------ geometry
    def crop_rect(self, target: QRectF) -> QRectF:
        """The effective crop in widget coordinates for the image drawn in ``target``."""
        W, H = self.canvas
        x0, y0, x1, y1 = develop.crop_box(W, H, self.params)
        sx, sy = target.width() / W, target.height() / H
        return QRectF(target.left() + x0 * sx, target.top() + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)

    def _hit(self, pos: QPointF, target: QRectF) -> Optional[str]:
        r = self.crop_rect(target)
        near = lambda a, b: abs(a - b) <= HANDLE  # noqa: E731
        inside_y = r.top() - HANDLE <= pos.y() <= r.bottom() + HANDLE
        inside_x = r.left() - HANDLE <= pos.x() <= r.right() + HANDLE
        v = "t" if near(pos.y(), r.top()) else "b" if near(pos.y(), r.bottom()) else ""
        h = "l" if near(pos.x(), r.left()) else "r" if near(pos.x(), r.right()) else ""
        if v and h:
            return v + h
        if h and inside_y:
            return h
        if v and inside_x:
            return v
        if r.contains(pos):
            return "move"
        return None

    # ------------------------------------------------------------------ painting
    def paint(self, p: QPainter, target: QRectF) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.crop_rect(target)
        outside = QPainterPath()
        outside.addRect(target)
        inner = QPainterPath()
        inner.addRect(r)
        p.fillPath(outside.subtracted(inner), QColor(0, 0, 0, 150))
        p.setPen(QPen(QColor(255, 255, 255, 90), 1))
        for k in (1, 2):
            x = r.left() + r.width() * k / 3
            y = r.top() + r.height() * k / 3
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
        p.setPen(QPen(QColor("#f3f4f6"), 1.5))
        p.drawRect(r)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#f3f4f6"))
        for x in (r.left(), r.center().x(), r.right()):
            for y in (r.top(), r.center().y(), r.bottom()):
                if (x, y) != (r.center().x(), r.center().y()):
                    p.drawRect(QRectF(x - HANDLE / 2, y - HANDLE / 2, HANDLE, HANDLE))
        if self._line is not None:
            p.setPen(QPen(QColor("#f5b83d"), 2))
            p.drawLine(*self._line)
        p.restore()

    # ------------------------------------------------------------------ mouse
    def press(self, event, target: QRectF) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or not target.isValid():
            return False
        pos = event.position()
        if self.level_mode:
            self._line = (pos, pos)
            return True
        self._drag = self._hit(pos, target)
        if self._drag is None:
            return False
        self._start = pos
        self._start_params = dict(self.params)
        return True

    def move(self, event, target: QRectF) -> bool:
        pos = event.position()
        if self.level_mode and self._line is not None:
            self._line = (self._line[0], pos)
            self.parent_update()
            return True
        if self._drag is None or self._start is None or not target.isValid():
            return False
        dx = (pos.x() - self._start.x()) / target.width()
        dy = (pos.y() - self._start.y()) / target.height()
        self.params = self._dragged(self._start_params, self._drag, dx, dy)
        self.changed.emit(dict(self.params))
        return True

    def release(self, event, target: QRectF) -> bool:
        if self.level_mode and self._line is not None:
            a, b = self._line
            self._line = None
            if (b - a).manhattanLength() > 8 and target.isValid():
                W, H = self.canvas
                sx, sy = W / target.width(), H / target.height()
                self.levelDrawn.emit(develop.level_angle(a.x() * sx, a.y() * sy, b.x() * sx, b.y() * sy))
            self.parent_update()
            return True
        if self._drag is None:
            return False
        self._drag = None
        self.committed.emit(dict(self.params))
        return True

    def parent_update(self) -> None:
        w = self.parent()
        if w is not None and hasattr(w, "update"):
            w.update()

    def _dragged(self, start: dict, handle: str, dx: float, dy: float) -> dict:
        """Crop fractions after dragging ``handle`` by (dx, dy) fractions of the canvas."""
        p = dict(start)
        L, T, R, B = (start[k] for k in CROP_KEYS)
        m = develop.MIN_CROP * 2
        if handle == "move":
            dx = min(max(dx, -L), 1 - R)
            dy = min(max(dy, -T), 1 - B)
            L, R, T, B = L + dx, R + dx, T + dy, B + dy
        else:
            if "l" in handle:
                L = min(max(0.0, L + dx), R - m)
            if "r" in handle:
                R = max(min(1.0, R + dx), L + m)
            if "t" in handle:
                T = min(max(0.0, T + dy), B - m)
            if "b" in handle:
                B = max(min(1.0, B + dy), T + m)
            if self.ratio:
                W, H = self.canvas
                k = self.ratio * H / W  # width fraction per height fraction
                if handle in ("l", "r"):  # width leads, height follows about the centre
                    cy, hh = (T + B) / 2, (R - L) / k / 2
                    T, B = cy - hh, cy + hh
                elif handle in ("t", "b"):
                    cx, hw = (L + R) / 2, (B - T) * k / 2
                    L, R = cx - hw, cx + hw
                else:  # a corner: the larger change leads, the opposite corner stays
                    w, h = R - L, B - T
                    if w / k >= h:
                        h = w / k
                    else:
                        w = h * k
                    if "l" in handle:
                        L = R - w
                    else:
                        R = L + w
                    if "t" in handle:
                        T = B - h
                    else:
                        B = T + h
                # keep inside the canvas, shrinking with the ratio if needed
                s = min(1.0, 1.0 / max(1e-9, R - L), 1.0 / max(1e-9, B - T))
                if s < 1.0:
                    cx, cy = (L + R) / 2, (T + B) / 2
                    L, R = cx - (R - L) * s / 2, cx + (R - L) * s / 2
                    T, B = cy - (B - T) * s / 2, cy + (B - T) * s / 2
                sx = max(0.0, -L) - max(0.0, R - 1)
                sy = max(0.0, -T) - max(0.0, B - 1)
                L, R, T, B = L + sx, R + sx, T + sy, B + sy
        p.update(zip(CROP_KEYS, (L, T, R, B)))
        return develop.normalize_params(p)
