"""A zoomable, pannable photo view shared by the loupe and Compare.

:class:`ZoomImageView` shows one picture either fitted to the widget or at a zoom measured in the
photo's own pixels (``zoom() == 1.0`` is 100 %: one photo pixel on one screen pixel), whatever the
resolution of the picture it holds: the loupe first shows the thumbnail, then a screen-sized preview,
then, when zoomed past the preview's pixels, the full-resolution decode (:attr:`fullResolutionWanted`
asks the owner for it, once per photo; decoding is the owner's job, off the GUI thread).

Mouse: a click toggles fit / 100 % at the clicked point (the point stays under the cursor); a drag
pans; the wheel zooms at the cursor while the photo is fitted and scrolls once zoomed in
(Ctrl+wheel always zooms, Shift+wheel scrolls sideways). Keys are left to the owner (``Z`` calls
:meth:`toggle_zoom`).

The view state is :meth:`view_state` / :meth:`set_view_state` (fit or zoom, and the centre as a
fraction of the photo), so two views can be kept in step (Compare) and a zoom can carry from one
photo to the next (the loupe).
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

CLICK_SLOP = 4  # px a press may move and still be a click (not a drag)
WHEEL_ZOOM_STEP = 1.25


class ZoomImageView(QWidget):
    """One photo, fitted or zoomed (see the module docstring)."""

    viewChanged = Signal()  # zoom or centre changed (by the user or by a call)
    activated = Signal()  # mouse pressed on the view
    fullResolutionWanted = Signal()  # zoomed past the pixels of the picture shown

    MAX_ZOOM = 8.0  # 800 %

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(80, 60)
        self.background = QColor("#121417")
        self.margin = 16
        self.dim = False  # paint the photo dimmed (a rejected photo)
        self.overlay: Optional[QPixmap] = None  # drawn over the photo, same geometry (clipping warnings)
        self.click_zoom_allowed: Optional[Callable[[], bool]] = None  # e.g. only on Compare's active side
        self._pm: Optional[QPixmap] = None
        self._full = QSize()
        self._fit = True
        self._zoom = 1.0
        self._cx, self._cy = 0.5, 0.5
        self._scaled: Optional[QPixmap] = None
        self._scaled_key: tuple = ()
        self._press: Optional[QPointF] = None
        self._press_center = (0.5, 0.5)
        self._dragging = False
        self._asked_full = False
        self._update_cursor()

    # ------------------------------------------------------------------ content
    def set_image(self, image, full_size: Optional[QSize] = None, keep_view: bool = False) -> None:
        """Show ``image`` (QPixmap, QImage or None); ``full_size`` is the photo's own size in pixels
        (default: the image's). The zoom and centre stay (the next photo opens where the last one was
        looked at); ``keep_view`` says it is a sharper picture of the same photo (no new request for
        the full resolution), else call :meth:`reset_full_request` for a new photo."""
        if isinstance(image, QImage):
            image = QPixmap.fromImage(image) if not image.isNull() else None
        if image is not None and image.isNull():
            image = None
        self._pm = image
        if full_size is not None and full_size.isValid() and not full_size.isEmpty():
            self._full = QSize(full_size)
        elif image is not None:
            self._full = image.size()
        else:
            self._full = QSize()
        self._scaled = None
        if not keep_view:
            self._asked_full = False
        self._clamp()
        self._maybe_want_full()
        self._update_cursor()
        self.update()

    def has_image(self) -> bool:
        return self._pm is not None

    def pixmap(self) -> Optional[QPixmap]:
        return self._pm

    def photo_size(self) -> QSize:
        return QSize(self._full)

    def reset_full_request(self) -> None:
        """A new photo: the next zoom past the picture's pixels asks for the full resolution again."""
        self._asked_full = False

    # ------------------------------------------------------------------ geometry
    def area(self) -> QRectF:
        m = self.margin
        return QRectF(self.rect()).adjusted(m, m, -m, -m)

    def fit_zoom(self) -> float:
        """The zoom (photo pixels -> widget pixels) at which the whole photo fits."""
        a = self.area()
        if self._full.isEmpty() or a.width() <= 0 or a.height() <= 0:
            return 1.0
        return min(a.width() / self._full.width(), a.height() / self._full.height())

    def one_to_one(self) -> float:
        """The zoom that puts one photo pixel on one screen (device) pixel: 100 %."""
        return 1.0 / max(self.devicePixelRatioF(), 1e-6)

    def zoom(self) -> float:
        """Current zoom in photo pixels: 1.0 is 100 % (on a 1x screen)."""
        return self.fit_zoom() if self._fit else self._zoom

    def zoom_percent(self) -> int:
        return int(round(self.zoom() * self.devicePixelRatioF() * 100))

    def is_fit(self) -> bool:
        return self._fit

    def image_rect(self) -> QRectF:
        """Where the photo is drawn, in widget coordinates (may extend past the widget when zoomed)."""
        if self._full.isEmpty():
            return QRectF()
        a = self.area()
        if a.width() <= 0 or a.height() <= 0:
            return QRectF()
        s = self.zoom()
        w, h = self._full.width() * s, self._full.height() * s
        return QRectF(a.center().x() - self._cx * w, a.center().y() - self._cy * h, w, h)

    def center_fraction(self) -> tuple[float, float]:
        return self._cx, self._cy

    def photo_fraction_at(self, pos: QPointF) -> tuple[float, float]:
        r = self.image_rect()
        if r.isEmpty():
            return 0.5, 0.5
        return (pos.x() - r.x()) / r.width(), (pos.y() - r.y()) / r.height()

    def _clamp(self) -> None:
        if self._fit or self._full.isEmpty():
            self._cx, self._cy = 0.5, 0.5
            return
        a = self.area()
        s = self.zoom()
        for axis, size, avail in (("x", self._full.width() * s, a.width()), ("y", self._full.height() * s, a.height())):
            c = self._cx if axis == "x" else self._cy
            if size <= avail:
                c = 0.5
            else:
                half = avail / 2 / size
                c = min(max(c, half), 1 - half)
            if axis == "x":
                self._cx = c
            else:
                self._cy = c

    # ------------------------------------------------------------------ zoom and pan
    def view_state(self) -> tuple[bool, float, float, float]:
        """(fit, zoom, centre x, centre y): enough to put another view (or photo) in the same place."""
        return self._fit, self._zoom, self._cx, self._cy

    def set_view_state(self, state: tuple[bool, float, float, float], emit: bool = False) -> None:
        fit, zoom, cx, cy = state
        self._fit, self._zoom, self._cx, self._cy = bool(fit), float(zoom), float(cx), float(cy)
        self._after_view_change(emit)

    def set_fit(self, emit: bool = True) -> None:
        self._fit = True
        self._after_view_change(emit)

    def set_zoom(self, zoom: float, anchor: Optional[QPointF] = None, emit: bool = True) -> None:
        """Zoom to ``zoom`` (1.0 = 100 %) keeping the photo point under ``anchor`` (widget coordinates,
        default the centre) where it is. A zoom at or below "fit" fits."""
        if self._full.isEmpty():
            return
        zoom = min(float(zoom), self.MAX_ZOOM)
        if zoom <= self.fit_zoom() * 1.0001:
            self.set_fit(emit)
            return
        a = self.area()
        anchor = QPointF(anchor) if anchor is not None else a.center()
        fx, fy = self.photo_fraction_at(anchor)
        fx, fy = min(max(fx, 0.0), 1.0), min(max(fy, 0.0), 1.0)
        self._fit = False
        self._zoom = zoom
        w, h = self._full.width() * zoom, self._full.height() * zoom
        # keep (fx, fy) under the anchor: anchor = centre - c*size + f*size
        self._cx = fx - (anchor.x() - a.center().x()) / w
        self._cy = fy - (anchor.y() - a.center().y()) / h
        self._after_view_change(emit)

    def toggle_zoom(self, at: Optional[QPointF] = None) -> None:
        """Fit <-> 100 % (``Z``, a click): zooms at ``at`` (widget coordinates), else the centre."""
        if self._fit and self.one_to_one() > self.fit_zoom() * 1.0001:
            self.set_zoom(self.one_to_one(), at)
        elif not self._fit:
            self.set_fit()
        else:  # the photo is smaller than the window: fitted is already more than 100 %
            self.set_zoom(self.fit_zoom() * 2, at)

    def pan_by(self, dx: float, dy: float, emit: bool = True) -> None:
        """Move the photo by (dx, dy) widget pixels (a drag to the right shows more of the left)."""
        if self._fit or self._full.isEmpty():
            return
        s = self.zoom()
        self._cx -= dx / (self._full.width() * s)
        self._cy -= dy / (self._full.height() * s)
        self._after_view_change(emit)

    def set_center_fraction(self, fx: float, fy: float, emit: bool = False) -> None:
        self._cx, self._cy = float(fx), float(fy)
        self._after_view_change(emit)

    def _after_view_change(self, emit: bool) -> None:
        self._clamp()
        self._maybe_want_full()
        self._update_cursor()
        self.update()
        if emit:
            self.viewChanged.emit()

    def needs_full_resolution(self) -> bool:
        """True when the zoom shows more pixels than the picture held has."""
        if self._pm is None or self._full.isEmpty() or self._fit:
            return False
        have = self._pm.width() / self._full.width()
        if have >= 0.999:  # the picture already has every pixel of the photo
            return False
        return self.zoom() * self.devicePixelRatioF() > have * 1.01

    def _maybe_want_full(self) -> None:
        if not self._asked_full and self.needs_full_resolution():
            self._asked_full = True
            self.fullResolutionWanted.emit()

    def _update_cursor(self) -> None:
        if self._pm is None:
            self.unsetCursor()
        elif self._fit:
            self.setCursor(QCursor(Qt.CursorShape.PointingHandCursor))
        else:
            self.setCursor(QCursor(Qt.CursorShape.ClosedHandCursor if self._dragging else Qt.CursorShape.OpenHandCursor))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), self.background)
        self.paint_photo(p)
        self.paint_overlays(p)
        p.end()

    def paint_photo(self, p: QPainter) -> None:
        if self._pm is None:
            return
        target = self.image_rect()
        if target.isEmpty():
            return
        if self.dim:
            p.setOpacity(0.45)
        if self._fit:
            # Fitted: scale once per size with a good filter; painting is then a plain blit.
            dpr = self.devicePixelRatioF()
            key = (self._pm.cacheKey(), int(target.width() * dpr), int(target.height() * dpr))
            if self._scaled is None or self._scaled_key != key:
                self._scaled = self._pm.scaled(key[1], key[2], Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation)
                self._scaled.setDevicePixelRatio(dpr)
                self._scaled_key = key
            p.drawPixmap(target.topLeft(), self._scaled)
            if self.overlay is not None:
                p.drawPixmap(target, self.overlay, QRectF(self.overlay.rect()))
        else:
            # Zoomed: draw only the visible part of the picture.
            visible = target.intersected(QRectF(self.rect()))
            if not visible.isEmpty():
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom() * self.devicePixelRatioF() < 1.0)
                for pm in (self._pm, self.overlay):
                    if pm is None:
                        continue
                    sx, sy = pm.width() / target.width(), pm.height() / target.height()
                    src = QRectF((visible.x() - target.x()) * sx, (visible.y() - target.y()) * sy,
                                 visible.width() * sx, visible.height() * sy)
                    p.drawPixmap(visible, pm, src)
        p.setOpacity(1.0)

    def paint_overlays(self, p: QPainter) -> None:
        """Hook for owners (the loupe draws its histogram and zoom label here)."""

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._scaled = None
        self._clamp()
        super().resizeEvent(event)

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.activated.emit()
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._press_center = (self._cx, self._cy)
            self._dragging = False
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is None or not (event.buttons() & Qt.MouseButton.LeftButton):
            return super().mouseMoveEvent(event)
        d = event.position() - self._press
        if not self._dragging and (abs(d.x()) > CLICK_SLOP or abs(d.y()) > CLICK_SLOP):
            self._dragging = True
            self._update_cursor()
        if self._dragging and not self._fit:
            self._cx, self._cy = self._press_center
            self.pan_by(d.x(), d.y())
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return super().mouseReleaseEvent(event)
        was_drag = self._dragging
        self._press = None
        self._dragging = False
        if not was_drag and self._pm is not None and (self.click_zoom_allowed is None or self.click_zoom_allowed()):
            self.toggle_zoom(event.position())
        self._update_cursor()
        event.accept()

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta()
        pixel = event.pixelDelta()
        mods = event.modifiers()
        if self._pm is None:
            event.accept()
            return
        if (mods & Qt.KeyboardModifier.ControlModifier) or self._fit:
            steps = delta.y() / 120.0 if delta.y() else delta.x() / 120.0
            if steps:
                self.set_zoom(self.zoom() * (WHEEL_ZOOM_STEP ** steps), event.position())
        else:
            dx = pixel.x() if not pixel.isNull() else delta.x() / 120.0 * 60
            dy = pixel.y() if not pixel.isNull() else delta.y() / 120.0 * 60
            if mods & Qt.KeyboardModifier.ShiftModifier:
                dx, dy = dy, dx
            self.pan_by(dx, dy)
        event.accept()
