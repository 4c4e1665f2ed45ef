"""The loupe: one photo, large, fitted to the window.

The thumbnail (already in memory) is shown at once, scaled up; the large preview is decoded on a
worker thread (:func:`piaa_desktop.core.imageio.load_rgb` with a size limit, JPEG draft mode) and
replaces it when ready. The neighbours are decoded ahead of time, so stepping through a shoot with the
arrow keys shows sharp previews immediately. A small LRU keeps the last previews.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional

from PySide6.QtCore import QRectF, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from piaa_desktop.gui.grid import COLOR_LABELS, PhotoRecord, array_to_qimage, paint_flag, paint_stars
from piaa_desktop.gui.jobs import run_job

PREVIEW_MAX = 2560  # long edge of the loupe preview (sharp on a 1440p screen at 1x, a 4K one at ~1.5x)


def load_preview_image(path: str, max_size: int = PREVIEW_MAX) -> QImage:
    """Decode a photo for the loupe (worker thread): EXIF-oriented, at most ``max_size`` px."""
    import numpy as np

    from piaa_desktop.core.imageio import load_rgb

    im = load_rgb(path, max_size=max_size)
    if max(im.size) > max_size:
        im.thumbnail((max_size, max_size))
    return array_to_qimage(np.asarray(im))


class LoupeView(QWidget):
    """Shows one photo fitted to the widget, with an info strip; Left/Right ask for the neighbours."""

    navigate = Signal(int)  # -1 previous, +1 next
    previewLoaded = Signal(int)  # photo id whose full preview is now shown / cached
    previewFailed = Signal(int, str)

    def __init__(self, parent: Optional[QWidget] = None, cache_size: int = 6):
        super().__init__(parent)
        self.setObjectName("Loupe")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.cache_size = cache_size
        self._previews: "OrderedDict[int, QPixmap]" = OrderedDict()
        self._loading: set[int] = set()
        self._errors: dict[int, str] = {}
        self._record: Optional[PhotoRecord] = None
        self._placeholder: Optional[QPixmap] = None
        self._position = ""
        self._scaled: Optional[QPixmap] = None
        self._scaled_key: tuple = ()
        self._font = QFont()
        self._font.setPointSizeF(9.5)
        self.show_info = True
        self.max_size = PREVIEW_MAX

    # ------------------------------------------------------------------ content
    def current_id(self) -> Optional[int]:
        return self._record.id if self._record else None

    def set_photo(self, record: Optional[PhotoRecord], placeholder: Optional[QPixmap] = None, position: str = "") -> None:
        """Show ``record``: its cached preview if any, else ``placeholder`` (the thumbnail) while loading."""
        same = self._record is not None and record is not None and self._record.id == record.id
        self._record = record
        self._position = position
        if not same:
            self._placeholder = placeholder
            self._scaled = None
        elif placeholder is not None and self._placeholder is None:
            self._placeholder = placeholder
        if record is not None:
            self._ensure_loaded(record)
        self.update()

    def update_record(self, record: PhotoRecord) -> None:
        """The rating/flag of the shown photo changed: repaint the info strip."""
        if self._record is not None and record.id == self._record.id:
            self._record = record
            self.update()

    def prefetch(self, records: list[PhotoRecord]) -> None:
        for r in records:
            if r is not None:
                self._ensure_loaded(r)

    def has_preview(self, photo_id: int) -> bool:
        return photo_id in self._previews

    def preview_pixmap(self, photo_id: int) -> Optional[QPixmap]:
        return self._previews.get(photo_id)

    def clear_cache(self) -> None:
        self._previews.clear()
        self._errors.clear()
        self._scaled = None

    def _ensure_loaded(self, record: PhotoRecord) -> None:
        pid = record.id
        if pid in self._previews:
            self._previews.move_to_end(pid)
            return
        if pid in self._loading or pid in self._errors:
            return
        self._loading.add(pid)
        run_job(
            load_preview_image,
            record.path,
            self.max_size,
            pool=self.pool,
            name=f"preview-{pid}",
            on_result=lambda img, pid=pid: self._on_loaded(pid, img),
            on_error=lambda exc, pid=pid: self._on_failed(pid, exc),
        )

    def _on_loaded(self, pid: int, image: QImage) -> None:
        self._loading.discard(pid)
        self._previews[pid] = QPixmap.fromImage(image)
        self._previews.move_to_end(pid)
        shown = self._record.id if self._record is not None else None
        while len(self._previews) > self.cache_size:
            victim = next((k for k in self._previews if k != shown), None)  # never the one on screen
            if victim is None:
                break
            del self._previews[victim]
        if self._record is not None and self._record.id == pid:
            self._scaled = None
            self.update()
        self.previewLoaded.emit(pid)

    def _on_failed(self, pid: int, exc: BaseException) -> None:
        self._loading.discard(pid)
        self._errors[pid] = str(exc) or type(exc).__name__
        if self._record is not None and self._record.id == pid:
            self.update()
        self.previewFailed.emit(pid, self._errors[pid])

    def shutdown(self, wait_ms: int = 3000) -> None:
        self.pool.clear()
        self.pool.waitForDone(wait_ms)

    # ------------------------------------------------------------------ painting
    def sizeHint(self) -> QSize:
        return QSize(900, 600)

    def _source(self) -> Optional[QPixmap]:
        if self._record is None:
            return None
        return self._previews.get(self._record.id) or self._placeholder

    def image_rect(self) -> QRectF:
        """Where the photo is drawn (fitted, centred, with a margin and room for the info strip)."""
        src = self._source()
        bottom = 44 if self.show_info else 0
        area = QRectF(self.rect()).adjusted(16, 16, -16, -16 - bottom)
        if src is None or src.isNull() or area.width() <= 0 or area.height() <= 0:
            return QRectF()
        s = min(area.width() / src.width(), area.height() / src.height())
        w, h = src.width() * s, src.height() * s
        return QRectF(area.center().x() - w / 2, area.center().y() - h / 2, w, h)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#121417"))
        rec = self._record
        if rec is None:
            p.setPen(QColor("#6b7280"))
            p.setFont(self._font)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No photo selected")
            return
        src = self._source()
        target = self.image_rect()
        if src is not None and not src.isNull() and target.isValid():
            dpr = self.devicePixelRatioF()
            key = (rec.id, src.cacheKey(), int(target.width() * dpr), int(target.height() * dpr))
            if self._scaled is None or self._scaled_key != key:
                # Scale once per size with a good filter; painting then is a plain blit.
                self._scaled = src.scaled(
                    key[2], key[3], Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
                self._scaled.setDevicePixelRatio(dpr)
                self._scaled_key = key
            if rec.flag < 0:
                p.setOpacity(0.45)
            p.drawPixmap(target.topLeft(), self._scaled)
            p.setOpacity(1.0)
        elif rec.id in self._errors:
            p.setPen(QColor("#e5534b"))
            p.setFont(self._font)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, f"Cannot show this photo:\n{self._errors[rec.id]}")
        else:
            p.setPen(QColor("#6b7280"))
            p.setFont(self._font)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Loading…")
        if self.show_info:
            self._paint_info(p, rec)

    def _paint_info(self, p: QPainter, rec: PhotoRecord) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetrics(self._font)
        p.setFont(self._font)
        y = self.height() - 30
        x = 20.0
        p.setPen(QColor("#e3e6eb"))
        name = rec.name
        if rec.width and rec.height:
            name += f"   {rec.width} × {rec.height}"
        p.drawText(QRectF(x, y - 10, fm.horizontalAdvance(name) + 4, 20), Qt.AlignmentFlag.AlignVCenter, name)
        x += fm.horizontalAdvance(name) + 20
        x = paint_stars(p, x, y, rec.rating, r=6.5, gap=3) + 14
        if rec.flag:
            paint_flag(p, QRectF(x, y - 8, 16, 16), rec.flag)
            x += 26
        if rec.color_label:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(COLOR_LABELS.get(rec.color_label, rec.color_label)))
            p.drawEllipse(QRectF(x, y - 6, 12, 12))
            x += 22
        if self._record is not None and self._record.id in self._loading and self._record.id not in self._previews:
            p.setPen(QColor("#6b7280"))
            p.drawText(QRectF(x, y - 10, 120, 20), Qt.AlignmentFlag.AlignVCenter, "loading preview…")
        if self._position:
            w = fm.horizontalAdvance(self._position) + 4
            p.setPen(QColor("#9aa3b2"))
            p.drawText(QRectF(self.width() - 20 - w, y - 10, w, 20), Qt.AlignmentFlag.AlignVCenter, self._position)

    def resizeEvent(self, event) -> None:
        self._scaled = None
        super().resizeEvent(event)

    # ------------------------------------------------------------------ keys and mouse
    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_PageUp):
            self.navigate.emit(-1)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_PageDown):
            self.navigate.emit(1)
        else:
            super().keyPressEvent(event)

    def wheelEvent(self, event) -> None:
        dy = event.angleDelta().y()
        if dy:
            self.navigate.emit(-1 if dy > 0 else 1)
        event.accept()

