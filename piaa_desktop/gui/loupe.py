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

Edits: the decoded preview is kept unedited; the photo's develop settings (``PhotoRecord.edit``, crop
and straighten included) are rendered on a worker, histogram and clipping mask included, so the
histogram is the developed photo's. While a slider moves, :meth:`LoupeView.set_live_edit` renders at
the size shown (newest request wins); the full-size rendering follows when the edit is written. The
full-resolution decode (100 %) is rendered with the edit too. In crop mode the whole straightened photo
is shown, fitted, with the crop drawn over it (:mod:`piaa_desktop.gui.crop_tool`).

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
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop.core.histogram import HistogramStats, clipping_mask, histogram_stats
from piaa_desktop.gui.cell_view import UniformCellView
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
LOUPE_RAW_MIN_EDGE = 1600  # a RAW preview smaller than this is replaced by a half-size decode in the loupe


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

    # a RAW file's embedded preview only when it is big enough for a large screen, else a half-size decode
    im = load_rgb(path, max_size=max_size, raw_min_edge=min(max_size, LOUPE_RAW_MIN_EDGE))
    if max(im.size) > max_size:
        im.thumbnail((max_size, max_size))
    arr = np.asarray(im)
    return Preview(array_to_qimage(arr), histogram_stats(arr), _mask_image(clipping_mask(arr)))


def load_preview_array(path: str, max_size: int = PREVIEW_MAX) -> np.ndarray:
    """Decode a photo for the loupe (worker thread): EXIF-oriented uint8 RGB, at most ``max_size`` px."""
    from piaa_desktop.core.imageio import load_rgb

    im = load_rgb(path, max_size=max_size)
    if max(im.size) > max_size:
        im.thumbnail((max_size, max_size))
    return np.asarray(im.convert("RGB"))


def render_array(base: np.ndarray, params: Optional[dict], max_side: Optional[int] = None, crop: bool = True) -> np.ndarray:
    """``base`` (uint8 RGB) with the develop ``params`` rendered, first reduced to ``max_side`` (the size
    shown) when given; ``crop=False`` keeps the whole straightened canvas (crop tool)."""
    from PIL import Image

    from piaa_desktop.core import develop

    a = np.asarray(base)
    if max_side and max(a.shape[:2]) > max_side:
        im = Image.fromarray(a)
        im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        a = np.asarray(im)
    if params:
        fast = bool(max_side)
        if not crop:
            a = develop.apply_geometry(a, params, crop=False, fast=fast)
            params = develop.without_geometry(params)
        a = develop.render_uint8(a, params, threads=2, fast=fast)
    return a


def render_preview(base: np.ndarray, params: Optional[dict], max_side: Optional[int] = None, crop: bool = True) -> Preview:
    """Worker thread: the rendering of ``base`` with ``params`` with its histogram and clipping mask. In
    crop mode (``crop=False``) the histogram is the crop's, not the whole canvas with its empty corners."""
    a = render_array(base, params, max_side, crop)
    counted = a
    if not crop and params:
        from piaa_desktop.core import develop

        x0, y0, x1, y1 = develop.crop_box(a.shape[1], a.shape[0], params)
        inner = a[int(round(y0)):int(round(y1)), int(round(x0)):int(round(x1))]
        if inner.size:
            counted = inner
    return Preview(array_to_qimage(a), histogram_stats(counted), _mask_image(clipping_mask(a)))


def load_preview_image(path: str, max_size: int = PREVIEW_MAX, edit: Optional[dict] = None) -> QImage:
    """Decode a photo for display (worker thread): EXIF-oriented, at most ``max_size`` px, with its
    develop ``edit`` rendered."""
    return array_to_qimage(render_array(load_preview_array(path, max_size), edit))


def load_full_image(path: str, edit: Optional[dict] = None) -> QImage:
    """The photo at full resolution for a 100 % view (worker thread; a RAW file is demosaiced), with its
    develop ``edit`` rendered."""
    from piaa_desktop.core.imageio import load_full_rgb

    a = np.asarray(load_full_rgb(path))
    if edit:
        from piaa_desktop.core import develop

        a = develop.render_uint8(np.ascontiguousarray(a[..., :3]), edit)
    return array_to_qimage(a)


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
        self.crop_tool = None  # a CropOverlay (gui/crop_tool.py), drawn and fed the mouse in crop mode
        self.crop_active = False

    def histogram_rect(self) -> QRectF:
        return QRectF(self.width() - 16 - 240, 22, 240, 84)  # wide enough for both clipping warnings side by side

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
        if self.crop_active and self.crop_tool is not None and self.has_image():
            self.crop_tool.paint(p, self.image_rect())
        if self.histogram_visible():
            self._paint_histogram(p, self.histogram_rect(), self.stats)

    def histogram_visible(self) -> bool:
        """The histogram is drawn over the photo unless hidden (``H``), the view is narrow, or the crop tool is on
        (it would cover the crop's top-right handle and the photo's corner being framed)."""
        return self.show_histogram and self.stats is not None and self.width() > 420 and not self._cropping()

    def _cropping(self) -> bool:
        return self.crop_active and self.crop_tool is not None and self.has_image()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - the crop tool takes the mouse in crop mode
        if self._cropping() and self.crop_tool.press(event, self.image_rect()):
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._cropping() and self.crop_tool.move(event, self.image_rect()):
            self.update()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._cropping() and self.crop_tool.release(event, self.image_rect()):
            self.update()
            event.accept()
            return
        super().mouseReleaseEvent(event)

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
        for x, warn, col, left in ((r.left(), st.warn_low, QColor("#4f8df5"), True),
                                   (r.right(), st.warn_high, QColor("#ff5050"), False)):
            tri = QPolygonF([QPointF(x, r.top()), QPointF(x + (10 if left else -10), r.top()),
                             QPointF(x, r.top() + 10)])
            p.setBrush(col if warn else QColor("#3a3f48"))
            p.drawPolygon(tri)
        for rect, align, text, col in clip_labels(r, st, QFontMetrics(self._font)):
            p.setPen(col)
            p.drawText(rect, align, text)
        p.restore()


def clip_labels(r: QRectF, st: HistogramStats, fm: QFontMetrics) -> list[tuple[QRectF, Qt.AlignmentFlag, str, QColor]]:
    """The histogram's clipping words over ``r`` (rect, alignment, text, colour): "0.1 % shadows clipped" on the left,
    "0.8 % highlights clipped" on the right. When both clip, the longest wording that fits side by side with a gap
    ("0.1 % shadows" / "0.8 % highlights", at worst the shares alone beside their coloured triangles), so the two
    never overlap."""
    inner = QRectF(r.left() + 14, r.top() - 3, r.width() - 28, 14)
    ends = [(frac, col, left, "shadows" if left else "highlights")
            for warn, frac, col, left in ((st.warn_low, st.clip_low, QColor("#4f8df5"), True),
                                          (st.warn_high, st.clip_high, QColor("#ff5050"), False)) if warn]
    wordings = [lambda f, w: f"{f * 100:.1f} % {w} clipped"]
    if len(ends) == 2:
        wordings += [lambda f, w: f"{f * 100:.1f} % {w}", lambda f, w: f"{f * 100:.1f} %"]
    for wording in wordings:
        texts = [wording(frac, what) for frac, _c, _l, what in ends]
        if sum(fm.horizontalAdvance(t) for t in texts) + 8 * (len(texts) - 1) <= inner.width():
            break
    out = []
    for (frac, col, left, _w), text in zip(ends, texts):
        rect = QRectF(inner)
        if len(ends) == 2:  # each in the part of the width its words take, at its own end
            rect.setWidth(min(inner.width(), fm.horizontalAdvance(text) + 1))
            if not left:
                rect.moveRight(inner.right())
        out.append((rect, Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight, text, col))
    return out


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


class Filmstrip(UniformCellView):
    """A one-row strip of the grid's photos under the loupe (shares the grid's model and selection); its
    layout is arithmetic (:mod:`piaa_desktop.gui.cell_view`), so showing it costs the cells on screen."""

    def __init__(self, parent: Optional[QWidget] = None, height: int = FILMSTRIP_HEIGHT):
        super().__init__(parent, wrapping=False)
        self.setObjectName("Filmstrip")
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the loupe
        self.setFixedHeight(height + 8)
        self.delegate = FilmstripDelegate(self, height)
        self.setItemDelegate(self.delegate)
        self.setStyleSheet("QAbstractItemView#Filmstrip { background-color: #0f1113; border: none; border-top: 1px solid #23272e; }")

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
        self._previews: "OrderedDict[int, Preview]" = OrderedDict()  # renderings (edit applied)
        self._preview_key: dict[int, tuple] = {}  # (edit signature, crop mode) each rendering shows
        self._bases: "OrderedDict[int, np.ndarray]" = OrderedDict()  # decoded, unedited previews
        self._render_gen: dict[int, int] = {}
        self._prefetched: dict[int, PhotoRecord] = {}
        self._live: Optional[tuple[int, dict]] = None  # (photo id, params) while a slider moves
        self._live_pv: Optional[Preview] = None
        self._live_busy = False
        self._live_sig: Optional[str] = None
        self._live_next: Optional[tuple[int, dict]] = None
        self.crop_mode = False
        self.render_pool = QThreadPool(self)
        self.render_pool.setMaxThreadCount(1)
        self._loading: set[int] = set()
        self._errors: dict[int, str] = {}
        self._record: Optional[PhotoRecord] = None
        self._placeholder: Optional[QPixmap] = None
        self._full: Optional[tuple[int, QPixmap]] = None  # (photo id, full-resolution pixmap)
        self._full_sig = ""  # edit signature the full-resolution pixmap was rendered with
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
            self._live = None
            self._live_pv = None
            self._live_sig = None
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
                self._prefetched[r.id] = r
                self._ensure_loaded(r)
        while len(self._prefetched) > 4 * self.cache_size:
            self._prefetched.pop(next(iter(self._prefetched)))

    def has_preview(self, photo_id: int) -> bool:
        """A rendering with the photo's current edit is ready."""
        return photo_id in self._previews and self._preview_key.get(photo_id) == self._wanted_key(photo_id)

    def base_size(self, photo_id: int) -> Optional[tuple[int, int]]:
        """(width, height) of the decoded, unedited preview (EXIF-oriented), if decoded."""
        b = self._bases.get(photo_id)
        return None if b is None else (b.shape[1], b.shape[0])

    # ------------------------------------------------------------------ edits
    def _record_of(self, pid: int) -> Optional[PhotoRecord]:
        if self._record is not None and self._record.id == pid:
            return self._record
        return self._prefetched.get(pid)

    def params_for(self, pid: int) -> Optional[dict]:
        """The edit shown for ``pid``: the live one while a slider moves, else the record's."""
        if self._live is not None and self._live[0] == pid:
            return self._live[1]
        rec = self._record_of(pid)
        return getattr(rec, "edit", None) if rec is not None else None

    @staticmethod
    def _signature(params: Optional[dict], crop_mode: bool) -> str:
        """What a rendering depends on: the whole edit, or the edit without its crop in crop mode (the
        crop is drawn over the whole photo, so moving it needs no new rendering)."""
        from piaa_desktop.core import develop

        if crop_mode and params:
            try:
                params = {k: v for k, v in develop.normalize_params(params).items() if not k.startswith("crop_")}
            except ValueError:
                params = None
        return develop.edit_signature(params)

    def _wanted_key(self, pid: int) -> tuple:
        rec = self._record_of(pid)
        crop = self.crop_mode and self._record is not None and self._record.id == pid
        return (self._signature(getattr(rec, "edit", None) if rec is not None else None, crop), crop)

    def edit_changed(self, pid: int) -> None:
        """The record's edit changed (written to the catalog): render it at full size."""
        if self._live is not None and self._live[0] == pid:
            self._live = None  # the live rendering stays on screen until the full one arrives
        if self._full is not None and self._full[0] == pid:
            self._full = None
            self.view.reset_full_request()
        if pid in self._bases:
            self._ensure_rendered(pid)
        self._show()

    def set_live_edit(self, pid: int, params: Optional[dict]) -> None:
        """Show ``params`` on the photo at once (a slider is moving; nothing is written)."""
        if self._record is None or self._record.id != pid or pid not in self._bases:
            return
        sig = self._signature(params, self.crop_mode)
        self._live = (pid, dict(params or {}))
        if self.crop_mode and self._live_pv is None and self._preview_key.get(pid) == (sig, True):
            self.view.update()  # only the crop moved: the overlay repaints, the photo is already rendered
            return
        if self.crop_mode and self._live_sig == sig and self._live_pv is not None:
            self.view.update()
            return
        self._live_sig = sig
        if self._live_busy:
            self._live_next = self._live
            return
        self._start_live(self._live)

    def end_live_edit(self) -> None:
        if self._live is not None:
            pid = self._live[0]
            self._live = None
            self._live_pv = None
            self._live_sig = None
            if pid in self._bases:
                self._ensure_rendered(pid)
            self._show()

    def _start_live(self, live: tuple[int, dict]) -> None:
        pid, params = live
        r = self.view.image_rect()
        side = int(max(min(r.width(), self.view.width()), min(r.height(), self.view.height())) * self.devicePixelRatioF()) if r.isValid() else 1200
        self._live_busy = True
        run_job(
            render_preview,
            self._bases[pid],
            params,
            max(64, side),
            not self.crop_mode,
            pool=self.render_pool,
            name=f"live-{pid}",
            on_result=lambda pv, pid=pid, live=live: self._on_live(pid, live, pv),
            on_error=lambda exc, pid=pid, live=live: self._on_live(pid, live, None),
        )

    def _on_live(self, pid: int, live: tuple, pv: Optional[Preview]) -> None:
        self._live_busy = False
        if pv is not None and self._live is live and self._record is not None and self._record.id == pid:
            self._live_pv = pv
            self._show()
        nxt, self._live_next = self._live_next, None
        if nxt is not None and nxt is self._live and pid in self._bases:
            self._start_live(nxt)

    def set_crop_mode(self, on: bool) -> None:
        """Show the whole straightened photo, fitted, with the crop tool over it (or the cropped result)."""
        self.crop_mode = bool(on)
        self.view.crop_active = self.crop_mode
        self._live = None
        self._live_pv = None
        self._live_sig = None
        if self.crop_mode:
            self.view.set_fit()
        if self._record is not None and self._record.id in self._bases:
            self._ensure_rendered(self._record.id)
        self._show()

    @property
    def crop_tool(self):
        return self.view.crop_tool

    @crop_tool.setter
    def crop_tool(self, tool) -> None:
        self.view.crop_tool = tool

    def _ensure_rendered(self, pid: int) -> None:
        key = self._wanted_key(pid)
        if self._preview_key.get(pid) == key and pid in self._previews:
            return
        gen = self._render_gen.get(pid, 0) + 1
        self._render_gen[pid] = gen
        rec = self._record_of(pid)
        run_job(
            render_preview,
            self._bases[pid],
            getattr(rec, "edit", None) if rec is not None else None,
            None,
            not key[1],
            pool=self.render_pool,
            name=f"render-{pid}",
            on_result=lambda pv, pid=pid, gen=gen, key=key: self._on_rendered(pid, gen, key, pv),
            on_error=lambda exc, pid=pid: self._on_failed(pid, exc),
        )

    def _on_rendered(self, pid: int, gen: int, key: tuple, preview: Preview) -> None:
        if self._render_gen.get(pid) != gen:
            return  # a newer edit is being rendered
        self._previews[pid] = preview
        self._preview_key[pid] = key
        self._previews.move_to_end(pid)
        shown = self._record.id if self._record is not None else None
        while len(self._previews) > self.cache_size:
            victim = next((k for k in self._previews if k != shown), None)  # never the one on screen
            if victim is None:
                break
            del self._previews[victim]
            self._preview_key.pop(victim, None)
        if shown == pid:
            if self._live is None or self._signature(self._live[1], self.crop_mode) == key[0]:
                self._live_pv = None
                self._live_sig = None
            self._show()
            self.info.update()
        self.previewLoaded.emit(pid)

    def wait_for_render(self, ms: int = 10000) -> bool:
        """Tests: process events until the shown photo's rendering matches its edit."""
        import time

        from PySide6.QtCore import QCoreApplication

        t0 = time.monotonic()
        while time.monotonic() - t0 < ms / 1000:
            QCoreApplication.processEvents()
            rec = self._record
            if rec is None or rec.id in self._errors or (self.has_preview(rec.id) and self._live is None):
                return True
            time.sleep(0.005)
        return False

    def preview_pixmap(self, photo_id: int) -> Optional[QPixmap]:
        pv = self._previews.get(photo_id)
        return QPixmap.fromImage(pv.image) if pv is not None else None

    def has_full_resolution(self, photo_id: int) -> bool:
        return self._full is not None and self._full[0] == photo_id

    def clear_cache(self) -> None:
        self._previews.clear()
        self._preview_key.clear()
        self._bases.clear()
        self._errors.clear()
        self._full = None
        self._shown_key = ()

    def image_rect(self) -> QRectF:
        """Where the photo is drawn, in the loupe's coordinates."""
        r = self.view.image_rect()
        return r.translated(QPointF(self.view.pos())) if r.isValid() else r

    def _photo_size(self, rec: PhotoRecord, params: Optional[dict] = None) -> Optional[QSize]:
        """The photo's own size (100 % zoom), after its crop and turns (the whole canvas in crop mode)."""
        if rec.width and rec.height:
            if params:
                from piaa_desktop.core import develop

                try:
                    if self.crop_mode:
                        w, h = develop.oriented_size(int(rec.width), int(rec.height), params)
                    else:
                        w, h = develop.geometry_output_size(int(rec.width), int(rec.height), params)
                    return QSize(int(w), int(h))
                except ValueError:
                    pass
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
        pv = self._live_pv or self._previews.get(rec.id)
        if pv is not None and pv is not self._live_pv and self._preview_key.get(rec.id, ("", False))[1] != self.crop_mode:
            pv = None  # a cropped rendering while the crop tool wants the whole photo (or the reverse)
        full = self._full[1] if self._full is not None and self._full[0] == rec.id and not self.crop_mode else None
        if full is not None and self._live_pv is None:
            pic, kind = full, "full"
        elif pv is not None:
            pic, kind = pv.image, "preview"
        else:
            pic, kind = (None if self.crop_mode else self._placeholder), "thumb"
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
            size = self._photo_size(rec, self.params_for(rec.id))
            if kind == "full" and isinstance(pic, QPixmap):
                size = pic.size()  # the decode knows best (a RAW file's real size)
            v.set_image(pic, size, keep_view=True)
            self._shown_key = key
        v.update()

    def _ensure_loaded(self, record: PhotoRecord) -> None:
        pid = record.id
        if pid in self._bases:
            self._bases.move_to_end(pid)
            self._ensure_rendered(pid)
            return
        if pid in self._loading or pid in self._errors:
            return
        self._loading.add(pid)
        run_job(
            load_preview_array,
            record.path,
            self.max_size,
            pool=self.pool,
            name=f"preview-{pid}",
            on_result=lambda arr, pid=pid: self._on_loaded(pid, arr),
            on_error=lambda exc, pid=pid: self._on_failed(pid, exc),
        )

    def _on_loaded(self, pid: int, base: np.ndarray) -> None:
        self._loading.discard(pid)
        self._bases[pid] = base
        self._bases.move_to_end(pid)
        shown = self._record.id if self._record is not None else None
        while len(self._bases) > self.cache_size:
            victim = next((k for k in self._bases if k != shown), None)  # never the one on screen
            if victim is None:
                break
            del self._bases[victim]
        if self._record_of(pid) is not None:
            self._ensure_rendered(pid)

    def _on_failed(self, pid: int, exc: BaseException) -> None:
        self._loading.discard(pid)
        self._errors[pid] = str(exc) or type(exc).__name__
        if self._record is not None and self._record.id == pid:
            self._show()
            self.info.update()
        self.previewFailed.emit(pid, self._errors[pid])

    def _load_full(self) -> None:
        rec = self._record
        if rec is None or self.crop_mode or self.has_full_resolution(rec.id) or self._full_loading == rec.id:
            return
        self._full_loading = rec.id
        pid = rec.id
        edit = getattr(rec, "edit", None)
        run_job(
            load_full_image,
            rec.path,
            **({"edit": edit} if edit else {}),
            pool=self.full_pool,
            name=f"full-{pid}",
            on_result=lambda img, pid=pid, sig=self._signature(getattr(rec, "edit", None), False): self._on_full(pid, img, sig),
            on_error=lambda exc, pid=pid: self._on_full_failed(pid, exc),
        )

    def _on_full(self, pid: int, image: QImage, sig: str = "") -> None:
        if self._full_loading == pid:
            self._full_loading = None
        if self._record is None or self._record.id != pid or image.isNull():
            return  # the user moved on: a full-resolution photo is only kept while on screen
        if sig != self._signature(getattr(self._record, "edit", None), False):
            self.view.reset_full_request()  # the edit changed meanwhile: ask again
            return
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
        for pool in (self.pool, self.full_pool, self.render_pool):
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
