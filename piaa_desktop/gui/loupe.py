"""The loupe: one photo, large; fit or 100 %, pan, histogram, EXIF line, filmstrip.

Layout: the photo (a :class:`~piaa_desktop.gui.zoom_view.ZoomImageView` with the histogram drawn
over its top-right corner), an info strip (name, size, stars, flag, label, position; the EXIF line
below), and a filmstrip of the grid's photos (same model and selection: a click there moves the
loupe).

Loading: the thumbnail (already in memory) is shown at once; the screen-sized preview is decoded on a
worker thread (:func:`load_preview`: EXIF-oriented, at most ``PREVIEW_MAX`` px, JPEG draft mode; a RAW
file's embedded preview) together with its histogram and clipping mask, and replaces it when ready.
The neighbours are decoded ahead. Zooming past the preview's pixels decodes the full-resolution photo
(a RAW file demosaiced) on a worker too; only the photo on screen keeps it.

Keys (the loupe has the focus): Left/Right (Up/Down, PageUp/PageDown) previous/next photo, ``Z`` fit /
100 %, ``J`` clipping overlay (blown highlights red, crushed shadows blue), ``H`` histogram on/off,
``Esc`` leaves full screen. Mouse: click to zoom at the point, drag to pan, the wheel zooms (fitted)
or scrolls (zoomed): it never changes the photo. The zoom stays when stepping to the next photo, so
a burst can be checked for focus at 100 %.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

import numpy as np
from PySide6.QtCore import QModelIndex, QPointF, QRectF, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop.core.histogram import HistogramStats, clipping_mask, histogram_stats
from piaa_desktop.gui.grid import (
    ACCENT,
    COLOR_LABELS,
    PhotoRecord,
    RecordRole,
    array_to_qimage,
    paint_flag,
    paint_stars,
)
from piaa_desktop.gui.jobs import run_job
from piaa_desktop.gui.zoom_view import ZoomImageView

PREVIEW_MAX = 2560  # long edge of the loupe preview (sharp on a 1440p screen at 1x, a 4K one at ~1.5x)
FILMSTRIP_HEIGHT = 92


@dataclass
class Preview:
    """What a worker decodes for the loupe: the picture, its histogram and its clipping mask."""

    image: QImage
    stats: Optional[HistogramStats] = None
    clip_mask: Optional[QImage] = None  # Indexed8: 0 clear, 1 highlights (red), 2 shadows (blue)


def _mask_image(mask: np.ndarray) -> QImage:
    h, w = mask.shape
    m = np.ascontiguousarray(mask)
    img = QImage(m.data, w, h, w, QImage.Format.Format_Indexed8).copy()
    img.setColorTable([QColor(0, 0, 0, 0).rgba(), QColor(255, 40, 40, 230).rgba(), QColor(40, 110, 255, 230).rgba()])
    return img


def load_preview(path: str, max_size: int = PREVIEW_MAX) -> Preview:
    """Decode a photo for the loupe (worker thread): EXIF-oriented, at most ``max_size`` px, with its
    histogram and clipping mask."""
    from piaa_desktop.core.imageio import load_rgb

    im = load_rgb(path, max_size=max_size)
    if max(im.size) > max_size:
        im.thumbnail((max_size, max_size))
    arr = np.asarray(im)
    return Preview(array_to_qimage(arr), histogram_stats(arr), _mask_image(clipping_mask(arr)))


def load_preview_image(path: str, max_size: int = PREVIEW_MAX) -> QImage:
    """Decode a photo for display (worker thread): EXIF-oriented, at most ``max_size`` px."""
    from piaa_desktop.core.imageio import load_rgb

    im = load_rgb(path, max_size=max_size)
    if max(im.size) > max_size:
        im.thumbnail((max_size, max_size))
    return array_to_qimage(np.asarray(im))


def load_full_image(path: str) -> QImage:
    """The photo at full resolution for a 100 % view (worker thread; a RAW file is demosaiced)."""
    from piaa_desktop.core.imageio import load_full_rgb

    return array_to_qimage(np.asarray(load_full_rgb(path)))


def _shutter_text(s: Optional[float]) -> Optional[str]:
    if not s or s <= 0:
        return None
    if s < 0.3:
        return f"1/{int(round(1 / s))} s"
    return f"{s:.1f}".rstrip("0").rstrip(".") + " s"


def exif_line(photo) -> str:
    """Camera, lens, focal length, shutter, aperture, ISO, date: the loupe's EXIF line ('' if none)."""
    if photo is None:
        return ""
    bits = []
    g = lambda name: getattr(photo, name, None)  # noqa: E731
    if g("camera"):
        bits.append(str(g("camera")))
    if g("lens"):
        bits.append(str(g("lens")))
    if g("focal_length"):
        bits.append(f"{g('focal_length'):.0f} mm")
    sh = _shutter_text(g("shutter"))
    if sh:
        bits.append(sh)
    if g("aperture"):
        bits.append(f"f/{g('aperture'):.1f}".replace(".0", ""))
    if g("iso"):
        bits.append(f"ISO {g('iso')}")
    ct = g("capture_time")
    if ct:
        bits.append(str(ct).replace("T", " ")[:16])
    return "  ·  ".join(bits)


# ---------------------------------------------------------------------------------------------- photo
class LoupeImageView(ZoomImageView):
    """The loupe's photo: a zoom view with the histogram, the zoom level and the messages drawn over it."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.stats: Optional[HistogramStats] = None
        self.show_histogram = True
        self.message = ""  # "Loading…", an error: drawn centred when there is no photo to show
        self.message_color = QColor("#6b7280")
        self._font = QFont()
        self._font.setPointSizeF(9.0)

    def histogram_rect(self) -> QRectF:
        return QRectF(self.width() - 16 - 220, 22, 220, 84)

    def paint_overlays(self, p: QPainter) -> None:
        p.setFont(self._font)
        if self.message and not self.has_image():
            p.setPen(self.message_color)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
        if not self.is_fit():
            text = f"{self.zoom_percent()} %"
            fm = QFontMetrics(self._font)
            r = QRectF(16, 16, fm.horizontalAdvance(text) + 14, fm.height() + 6)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(18, 20, 23, 200))
            p.drawRoundedRect(r, 4, 4)
            p.setPen(QColor("#e3e6eb"))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        if self.show_histogram and self.stats is not None and self.width() > 420:
            self._paint_histogram(p, self.histogram_rect(), self.stats)

    def _paint_histogram(self, p: QPainter, r: QRectF, st: HistogramStats) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(18, 20, 23, 215))
        p.drawRoundedRect(r.adjusted(-6, -6, 6, 6), 6, 6)
        plot = r.adjusted(0, 14, 0, 0)
        # a shared vertical scale that ignores the end bins (clipped spikes would flatten the rest)
        top = float(np.percentile(st.hist[:3, 1:255].max(axis=0), 99.5)) or 1e-6
        colors = [QColor(235, 70, 70, 120), QColor(80, 200, 90, 120), QColor(80, 130, 255, 120), QColor(230, 230, 230, 90)]
        for c in (3, 0, 1, 2):
            path = QPainterPath(QPointF(plot.left(), plot.bottom()))
            for i in range(256):
                v = min(1.0, float(st.hist[c, i]) / top)
                path.lineTo(plot.left() + i * plot.width() / 255.0, plot.bottom() - v * plot.height())
            path.lineTo(plot.right(), plot.bottom())
            path.closeSubpath()
            p.setBrush(colors[c])
            p.drawPath(path)
        # clipping warnings: triangles lit (and the share of pixels) when shadows / highlights clip
        for x, warn, frac, col, left in ((r.left(), st.warn_low, st.clip_low, QColor("#4f8df5"), True),
                                         (r.right(), st.warn_high, st.clip_high, QColor("#ff5050"), False)):
            tri = QPolygonF([QPointF(x, r.top()), QPointF(x + (10 if left else -10), r.top()),
                             QPointF(x, r.top() + 10)])
            p.setBrush(col if warn else QColor("#3a3f48"))
            p.drawPolygon(tri)
            if warn:
                p.setPen(col)
                text = f"{frac * 100:.1f} % {'shadows' if left else 'highlights'} clipped"
                p.drawText(QRectF(r.left() + 14, r.top() - 3, r.width() - 28, 14),
                           Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight, text)
                p.setPen(Qt.PenStyle.NoPen)
        p.restore()


# ---------------------------------------------------------------------------------------------- info strip
class InfoStrip(QWidget):
    """Name, size, stars, flag, colour label, "loading", position; the EXIF line under them."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setFixedHeight(50)
        self.record: Optional[PhotoRecord] = None
        self.position = ""
        self.exif = ""
        self.loading = False
        self._font = QFont()
        self._font.setPointSizeF(9.5)
        self._small = QFont()
        self._small.setPointSizeF(8.8)

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#121417"))
        rec = self.record
        if rec is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetrics(self._font)
        p.setFont(self._font)
        y = 16
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
        if self.loading:
            p.setPen(QColor("#6b7280"))
            p.drawText(QRectF(x, y - 10, 140, 20), Qt.AlignmentFlag.AlignVCenter, "loading preview…")
        if self.position:
            w = fm.horizontalAdvance(self.position) + 4
            p.setPen(QColor("#f5b83d") if "new order" in self.position else QColor("#9aa3b2"))
            p.drawText(QRectF(self.width() - 20 - w, y - 10, w, 20), Qt.AlignmentFlag.AlignVCenter, self.position)
        if self.exif:
            p.setFont(self._small)
            p.setPen(QColor("#9aa3b2"))
            sm = QFontMetrics(self._small)
            p.drawText(QRectF(20, y + 10, self.width() - 40, 18), Qt.AlignmentFlag.AlignVCenter,
                       sm.elidedText(self.exif, Qt.TextElideMode.ElideRight, self.width() - 40))


# ---------------------------------------------------------------------------------------------- filmstrip
class FilmstripDelegate(QStyledItemDelegate):
    """A small thumbnail with its flag and stars; the current photo framed."""

    def __init__(self, parent=None, height: int = FILMSTRIP_HEIGHT):
        super().__init__(parent)
        self.height = height

    def sizeHint(self, option, index) -> QSize:
        return QSize(int(self.height * 1.25), self.height)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        rec: Optional[PhotoRecord] = index.data(RecordRole)
        if rec is None:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        r = QRectF(option.rect).adjusted(3, 4, -3, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#2a3447") if selected else QColor("#1e2126"))
        p.drawRoundedRect(r, 4, 4)
        area = r.adjusted(4, 4, -4, -14)
        pm: Optional[QPixmap] = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is not None and not pm.isNull():
            s = min(area.width() / pm.width(), area.height() / pm.height())
            w, h = pm.width() * s, pm.height() * s
            target = QRectF(area.center().x() - w / 2, area.center().y() - h / 2, w, h)
            if rec.flag < 0:
                p.setOpacity(0.35)
            p.drawPixmap(target, pm, QRectF(pm.rect()))
            p.setOpacity(1.0)
        if rec.flag:
            paint_flag(p, QRectF(area.left() + 2, area.top() + 2, 11, 11), rec.flag)
        paint_stars(p, r.left() + 6, r.bottom() - 6, rec.rating, r=3.5, gap=1.5, dim=True)
        if selected:
            p.setPen(QPen(ACCENT, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(r.adjusted(1, 1, -1, -1), 4, 4)
        p.restore()


class Filmstrip(QListView):
    """A one-row strip of the grid's photos under the loupe (shares the grid's model and selection)."""

    def __init__(self, parent: Optional[QWidget] = None, height: int = FILMSTRIP_HEIGHT):
        super().__init__(parent)
        self.setObjectName("Filmstrip")
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the loupe
        self.setFixedHeight(height + 8)
        self.delegate = FilmstripDelegate(self, height)
        self.setItemDelegate(self.delegate)
        self.setStyleSheet("QListView#Filmstrip { background-color: #0f1113; border: none; border-top: 1px solid #23272e; }")

    def keyboardSearch(self, search: str) -> None:  # letters are culling shortcuts
        return

    def wheelEvent(self, event) -> None:  # noqa: N802 - the wheel scrolls the strip sideways
        d = event.angleDelta()
        step = d.y() if abs(d.y()) >= abs(d.x()) else d.x()
        bar = self.horizontalScrollBar()
        bar.setValue(bar.value() - int(step))
        event.accept()

    def scroll_to_current(self) -> None:
        cur = self.currentIndex()
        if cur.isValid():
            self.scrollTo(cur, QAbstractItemView.ScrollHint.PositionAtCenter)


# ---------------------------------------------------------------------------------------------- loupe
class LoupeView(QWidget):
    """One photo, large (see the module docstring); Left/Right ask for the neighbours."""

    navigate = Signal(int)  # -1 previous, +1 next
    previewLoaded = Signal(int)  # photo id whose full preview is now shown / cached
    previewFailed = Signal(int, str)
    fullResolutionLoaded = Signal(int)  # photo id now shown at full resolution
    escapePressed = Signal()

    def __init__(self, parent: Optional[QWidget] = None, cache_size: int = 6):
        super().__init__(parent)
        self.setObjectName("Loupe")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.full_pool = QThreadPool(self)  # full-resolution decodes never wait behind prefetches
        self.full_pool.setMaxThreadCount(1)
        self.cache_size = cache_size
        self._previews: "OrderedDict[int, Preview]" = OrderedDict()
        self._loading: set[int] = set()
        self._errors: dict[int, str] = {}
        self._record: Optional[PhotoRecord] = None
        self._placeholder: Optional[QPixmap] = None
        self._full: Optional[tuple[int, QPixmap]] = None  # (photo id, full-resolution pixmap)
        self._full_loading: Optional[int] = None
        self._shown_key: tuple = ()
        self.show_clipping = False
        self.max_size = PREVIEW_MAX

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.view = LoupeImageView(self)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.fullResolutionWanted.connect(self._load_full)
        self.info = InfoStrip(self)
        self.filmstrip = Filmstrip(self)
        self.filmstrip.setVisible(False)  # shown once attached to a model
        lay.addWidget(self.view, 1)
        lay.addWidget(self.info)
        lay.addWidget(self.filmstrip)

    # ------------------------------------------------------------------ wiring
    def attach_filmstrip(self, model, selection_model) -> None:
        """Show the grid's photos in the filmstrip, sharing its selection (a click moves the loupe)."""
        self.filmstrip.setModel(model)
        self.filmstrip.setSelectionModel(selection_model)
        if hasattr(model, "thumbnailArrived"):
            model.thumbnailArrived.connect(lambda _row: self.filmstrip.viewport().update())
        self.filmstrip.setVisible(True)

    @property
    def show_info(self) -> bool:
        return self.info.isVisible()

    @show_info.setter
    def show_info(self, on: bool) -> None:
        self.info.setVisible(bool(on))

    # ------------------------------------------------------------------ content
    def current_id(self) -> Optional[int]:
        return self._record.id if self._record else None

    @property
    def _position(self) -> str:
        return self.info.position

    def set_photo(self, record: Optional[PhotoRecord], placeholder: Optional[QPixmap] = None, position: str = "",
                  exif: str = "") -> None:
        """Show ``record``: its cached preview if any, else ``placeholder`` (the thumbnail) while loading.
        The zoom (fit or 100 % and where) carries over to the next photo."""
        same = self._record is not None and record is not None and self._record.id == record.id
        self._record = record
        self.info.record = record
        self.info.position = position
        if exif or not same:
            self.info.exif = exif
        if not same:
            self._placeholder = placeholder
            if self._full is not None and (record is None or self._full[0] != record.id):
                self._full = None  # only the photo on screen keeps its full resolution
            self.view.reset_full_request()
        elif placeholder is not None and self._placeholder is None:
            self._placeholder = placeholder
        if record is not None:
            self._ensure_loaded(record)
        self._show()
        self.info.update()
        if self.filmstrip.isVisible():
            self.filmstrip.scroll_to_current()

    def update_record(self, record: PhotoRecord) -> None:
        """The rating/flag of the shown photo changed: repaint the info strip."""
        if self._record is not None and record.id == self._record.id:
            self._record = record
            self.info.record = record
            self.view.dim = record.flag < 0
            self.view.update()
            self.info.update()
            self.filmstrip.viewport().update()

    def prefetch(self, records: list[PhotoRecord]) -> None:
        for r in records:
            if r is not None:
                self._ensure_loaded(r)

    def has_preview(self, photo_id: int) -> bool:
        return photo_id in self._previews

    def preview_pixmap(self, photo_id: int) -> Optional[QPixmap]:
        pv = self._previews.get(photo_id)
        return QPixmap.fromImage(pv.image) if pv is not None else None

    def has_full_resolution(self, photo_id: int) -> bool:
        return self._full is not None and self._full[0] == photo_id

    def clear_cache(self) -> None:
        self._previews.clear()
        self._errors.clear()
        self._full = None
        self._shown_key = ()

    def image_rect(self) -> QRectF:
        """Where the photo is drawn, in the loupe's coordinates."""
        r = self.view.image_rect()
        return r.translated(QPointF(self.view.pos())) if r.isValid() else r

    def _photo_size(self, rec: PhotoRecord) -> Optional[QSize]:
        if rec.width and rec.height:
            return QSize(int(rec.width), int(rec.height))
        return None

    def _show(self) -> None:
        """Put the best picture we hold of the current photo into the view (keeping the zoom)."""
        rec = self._record
        v = self.view
        if rec is None:
            v.stats = None
            v.message = "No photo selected"
            v.set_image(None, keep_view=True)
            self._shown_key = ()
            return
        pv = self._previews.get(rec.id)
        full = self._full[1] if self._full is not None and self._full[0] == rec.id else None
        if full is not None:
            pic, kind = full, "full"
        elif pv is not None:
            pic, kind = pv.image, "preview"
        else:
            pic, kind = self._placeholder, "thumb"
        v.dim = rec.flag < 0
        v.stats = pv.stats if pv is not None else None
        v.overlay = QPixmap.fromImage(pv.clip_mask) if (self.show_clipping and pv is not None and pv.clip_mask is not None) else None
        if rec.id in self._errors and kind == "thumb":
            v.message, v.message_color = f"Cannot show this photo:\n{self._errors[rec.id]}", QColor("#e5534b")
        else:
            v.message, v.message_color = ("Loading…" if pic is None else ""), QColor("#6b7280")
        self.info.loading = rec.id in self._loading and pv is None
        key = (rec.id, kind, id(pic), self.show_clipping)
        if key != self._shown_key:
            size = self._photo_size(rec)
            if kind == "full" and isinstance(pic, QPixmap):
                size = pic.size()  # the decode knows best (a RAW file's real size)
            v.set_image(pic, size, keep_view=True)
            self._shown_key = key
        v.update()

    def _ensure_loaded(self, record: PhotoRecord) -> None:
        pid = record.id
        if pid in self._previews:
            self._previews.move_to_end(pid)
            return
        if pid in self._loading or pid in self._errors:
            return
        self._loading.add(pid)
        run_job(
            load_preview,
            record.path,
            self.max_size,
            pool=self.pool,
            name=f"preview-{pid}",
            on_result=lambda pv, pid=pid: self._on_loaded(pid, pv),
            on_error=lambda exc, pid=pid: self._on_failed(pid, exc),
        )

    def _on_loaded(self, pid: int, preview: Preview) -> None:
        self._loading.discard(pid)
        self._previews[pid] = preview
        self._previews.move_to_end(pid)
        shown = self._record.id if self._record is not None else None
        while len(self._previews) > self.cache_size:
            victim = next((k for k in self._previews if k != shown), None)  # never the one on screen
            if victim is None:
                break
            del self._previews[victim]
        if shown == pid:
            self._show()
            self.info.update()
        self.previewLoaded.emit(pid)

    def _on_failed(self, pid: int, exc: BaseException) -> None:
        self._loading.discard(pid)
        self._errors[pid] = str(exc) or type(exc).__name__
        if self._record is not None and self._record.id == pid:
            self._show()
            self.info.update()
        self.previewFailed.emit(pid, self._errors[pid])

    def _load_full(self) -> None:
        rec = self._record
        if rec is None or self.has_full_resolution(rec.id) or self._full_loading == rec.id:
            return
        self._full_loading = rec.id
        pid = rec.id
        run_job(
            load_full_image,
            rec.path,
            pool=self.full_pool,
            name=f"full-{pid}",
            on_result=lambda img, pid=pid: self._on_full(pid, img),
            on_error=lambda exc, pid=pid: self._on_full_failed(pid, exc),
        )

    def _on_full(self, pid: int, image: QImage) -> None:
        if self._full_loading == pid:
            self._full_loading = None
        if self._record is None or self._record.id != pid or image.isNull():
            return  # the user moved on: a full-resolution photo is only kept while on screen
        self._full = (pid, QPixmap.fromImage(image))
        self._show()
        self.fullResolutionLoaded.emit(pid)

    def _on_full_failed(self, pid: int, exc: BaseException) -> None:
        if self._full_loading == pid:
            self._full_loading = None
        # the preview stays on screen, upscaled: say why there is no sharper picture
        if self._record is not None and self._record.id == pid:
            self.info.exif = f"Full resolution not available: {exc}"
            self.info.update()

    def shutdown(self, wait_ms: int = 3000) -> None:
        for pool in (self.pool, self.full_pool):
            pool.clear()
            pool.waitForDone(wait_ms)

    # ------------------------------------------------------------------ zoom, overlays
    def toggle_zoom(self, at: Optional[QPointF] = None) -> None:
        self.view.toggle_zoom(at)

    def set_clipping_overlay(self, on: bool) -> None:
        self.show_clipping = bool(on)
        self._show()

    def set_histogram_visible(self, on: bool) -> None:
        self.view.show_histogram = bool(on)
        self.view.update()

    # ------------------------------------------------------------------ painting
    def sizeHint(self) -> QSize:
        return QSize(900, 600)

    # ------------------------------------------------------------------ keys and mouse
    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_PageUp):
            self.navigate.emit(-1)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_PageDown):
            self.navigate.emit(1)
        elif key == Qt.Key.Key_Z and not event.modifiers():
            self.toggle_zoom()
        elif key == Qt.Key.Key_J and not event.modifiers():
            self.set_clipping_overlay(not self.show_clipping)
        elif key == Qt.Key.Key_H and not event.modifiers():
            self.set_histogram_visible(not self.view.show_histogram)
        elif key == Qt.Key.Key_Escape:
            self.escapePressed.emit()
        else:
            super().keyPressEvent(event)
