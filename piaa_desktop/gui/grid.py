"""The thumbnail grid: a list model over photo ids, an LRU thumbnail cache fed by a thread pool, a
delegate that paints thumbnails with their badges, and the view.

Made for 10,000 photos and more:

* :class:`PhotoListModel` is a list of ids plus a dict of small :class:`PhotoRecord` loaded in bulk
  (one query for all photos, one per score kind) when the view is refreshed. ``data()`` never runs SQL.
* :class:`ThumbnailCache` loads a thumbnail only when the view paints its row (``data(DecorationRole)``
  is only asked for visible rows), decodes it to a QImage on a QThreadPool, and keeps QPixmaps in an
  LRU cache bounded in bytes. Scrolling drops the queued loads of rows that went out of view.
* :class:`PhotoGridView` lays its cells out by arithmetic (:class:`~piaa_desktop.gui.cell_view.UniformCellView`),
  so a reset, a show or a ``scrollTo`` cost the cells on screen, at 100,000 rows as at 100.

Catalog changes (ratings, flags, colour labels; from any widget, undo and redo included) reach the
model through :meth:`PhotoListModel.apply_change`, which updates the records and repaints the rows.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPointF,
    QRect,
    QRectF,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from piaa_desktop.core.catalog import CULLING_FIELDS, Change
from piaa_desktop.core.faces import FACE_TAG_BADGES
from piaa_desktop.core.flags import FLAG_BADGES
from piaa_desktop.gui.cell_view import UniformCellView

TAG_BADGES = {**FLAG_BADGES, **FACE_TAG_BADGES}  # technical problems + faces (gui/features/faces.py)
from piaa_desktop.core.library import PhotoRecord, id_table, in_id_table, set_field

# ---------------------------------------------------------------------------------------------- roles
PhotoIdRole = Qt.ItemDataRole.UserRole + 1
RecordRole = Qt.ItemDataRole.UserRole + 2
RatingRole = Qt.ItemDataRole.UserRole + 3
FlagRole = Qt.ItemDataRole.UserRole + 4
ColorLabelRole = Qt.ItemDataRole.UserRole + 5
ScoreRole = Qt.ItemDataRole.UserRole + 6  # (kind, value) of the score shown on the badge, or None
TechFlagsRole = Qt.ItemDataRole.UserRole + 7  # frozenset of technical problems (core.flags.FLAG_NAMES)

# Colour labels (Lightroom's set) and how they are painted.
COLOR_LABELS: dict[str, str] = {
    "red": "#e5534b",
    "yellow": "#e8c547",
    "green": "#4cb963",
    "blue": "#4f8df5",
    "purple": "#a371f7",
}

GOLD = QColor("#f5b83d")
DIM_STAR = QColor("#464c58")
REJECT = QColor("#e5534b")
PICK = QColor("#f3f4f6")
ACCENT = QColor("#4f8df5")


# ---------------------------------------------------------------------------------------------- model
_ITEM_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


def row_runs(rows) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive rows among ``rows`` (any order, repeats allowed), in order:
    numpy, so that a selection of the whole library (100,000 rows, one run) costs milliseconds."""
    a = np.unique(np.fromiter(rows, dtype=np.int64))
    if not len(a):
        return []
    cut = np.flatnonzero(np.diff(a) != 1)
    return list(zip(a[np.r_[0, cut + 1]].tolist(), a[np.r_[cut, len(a) - 1]].tolist()))


# A change of more photos than this (or a quarter of the grid) repaints the grid once instead of its rows
REPAINT_ROWS_MAX = 2000

class PhotoListModel(QAbstractListModel):
    """A flat list of photo ids (in the order of the current sort) over bulk-loaded records."""

    thumbnailNeeded = Signal(int)
    thumbnailArrived = Signal(int)  # row whose thumbnail just loaded (or failed): repaint that cell

    def __init__(self, cache: Optional["ThumbnailCache"] = None, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._ids: list[int] = []
        self._rows_map: Optional[dict[int, int]] = {}
        self._row_lookups = 0
        self._records: dict[int, PhotoRecord] = {}
        self._record_keys: Optional[np.ndarray] = None  # which ids have a record (see _known)
        self._ids_array: Optional[np.ndarray] = None  # the same ids as an int64 array, kept once made (ids_array)
        self._tech: dict[int, frozenset] = {}
        self.flag_source: Optional[Callable[[int], Iterable[str]]] = None  # photo id -> technical flags
        self.cache = cache
        if cache is not None:
            cache.loaded.connect(self._on_thumbnail)
            cache.failed.connect(self._on_thumbnail)

    # -- Qt API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        if row >= len(self._ids):
            return None
        pid = self._ids[row]
        if role == PhotoIdRole:
            return pid
        rec = self._records.get(pid)
        if rec is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            if self.cache is None:
                return None
            pm = self.cache.pixmap(pid)
            if pm is None or self.cache.is_stale(pid):
                self.cache.request(pid, rec.path, rec.content_hash, rec.edit)
            return pm
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.name
        if role == RecordRole:
            return rec
        if role == RatingRole:
            return rec.rating
        if role == FlagRole:
            return rec.flag
        if role == ColorLabelRole:
            return rec.color_label
        if role == TechFlagsRole:
            return self.tech_flags(pid)
        if role == ScoreRole:
            if rec.personal is not None:
                return ("personal", rec.personal)
            if rec.generic is not None:
                return ("generic", rec.generic)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [rec.name]
            if rec.width and rec.height:
                parts.append(f"{rec.width} × {rec.height}")
            if rec.capture_time:
                parts.append(rec.capture_time)
            if rec.generic is not None:
                parts.append(f"generic score {rec.generic:.2f}")
            if rec.personal is not None:
                parts.append(f"personal score {rec.personal:.2f}")
            from piaa_desktop.core.flags import FLAG_LABELS

            from piaa_desktop.core.faces import FACE_TAG_LABELS

            parts.extend(FLAG_LABELS.get(f) or FACE_TAG_LABELS.get(f, f) for f in sorted(self.tech_flags(pid)))
            return "\n".join(parts)
        return None

    def flags(self, index: QModelIndex):  # Qt asks for every row of a selection: one constant, no enum ops
        return _ITEM_FLAGS if index.isValid() else _NO_FLAGS

    # -- content
    def set_records(self, records: dict[int, PhotoRecord]) -> None:
        """Replace the records (call :meth:`set_ids` right after: the rows are not repainted here)."""
        self._records = records
        self._record_keys = None
        self._tech.clear()

    def _known(self, ids: Sequence[int], array: Optional[np.ndarray] = None) -> list[int]:
        """``ids`` without those that have no record, checked against a table of the record ids
        (:func:`~piaa_desktop.core.library.id_table`: a few ms at 100,000 photos, where the dict lookup of
        every id of a new order took 50-100 ms). ``array``: the same ids as an int64 array, if the caller has
        it. Keeps the array of the ids it returns when it made one (:meth:`ids_array`)."""
        ids = list(ids)
        if len(ids) >= 2000 and self._record_keys is None:
            self._record_keys = id_table(self._records.keys())
        if len(ids) < 2000 or self._record_keys is None:  # few ids, or ids unlike a catalog's: no table
            return [i for i in ids if i in self._records]
        want = array if array is not None and len(array) == len(ids) else np.fromiter(ids, np.int64, len(ids))
        ok = in_id_table(self._record_keys, want)
        if ok.all():
            self._ids_array = want
            return ids
        self._ids_array = want[ok]
        return [i for i, k in zip(ids, ok.tolist()) if k]

    def tech_flags(self, photo_id: int) -> frozenset:
        """Technical problems of a photo (blur, exposure, noise), looked up lazily for the painted rows
        only (``flag_source``, one small query each) and cached until the records are replaced."""
        got = self._tech.get(photo_id)
        if got is None:
            got = frozenset(self.flag_source(photo_id)) if self.flag_source is not None else frozenset()
            self._tech[photo_id] = got
        return got

    def set_ids(self, ids: Sequence[int], array: Optional[np.ndarray] = None) -> None:
        """Show ``ids`` (in this order; those without a record are left out). ``array``: the same ids as an int64
        array, when the caller has one (the sort columns make it): no conversion of 100,000 ints."""
        self.beginResetModel()
        self._ids_array = None
        self._ids = self._known(ids, array)
        self._rows_map = None  # built on demand: a refresh at 100k photos looks up a few rows only
        self._row_lookups = 0
        self.endResetModel()

    @property
    def _rows(self) -> dict[int, int]:
        if self._rows_map is None:
            self._rows_map = {pid: r for r, pid in enumerate(self._ids)}
        return self._rows_map

    def ids(self, start: int = 0, stop: Optional[int] = None) -> list[int]:
        """The ids shown, in order (rows ``start`` to ``stop``, as a slice: only those are copied)."""
        return self._ids[start:stop]

    def ids_array(self) -> np.ndarray:
        """The ids shown, in order, as an int64 array (made once per :meth:`set_ids`; do not change it)."""
        if self._ids_array is None or len(self._ids_array) != len(self._ids):
            self._ids_array = np.fromiter(self._ids, np.int64, len(self._ids))
        return self._ids_array

    def id_at(self, row: int) -> Optional[int]:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, photo_id: int) -> Optional[int]:
        if self._rows_map is None and self._row_lookups < 4:
            self._row_lookups += 1  # a few lookups scan the list (C speed) instead of building the map
            try:
                return self._ids.index(photo_id)
            except ValueError:
                return None
        return self._rows.get(photo_id)

    def rows_of(self, photo_ids) -> list:
        """The rows of these photos (None for those not shown): one map lookup each, in C (a selection of the
        whole library kept across a refresh: 100,000 ids)."""
        if len(photo_ids) <= 4:
            return [self.row_of(i) for i in photo_ids]
        return list(map(self._rows.get, photo_ids))

    def index_of(self, photo_id: int) -> QModelIndex:
        row = self.row_of(photo_id)
        return self.index(row, 0) if row is not None else QModelIndex()

    def record(self, photo_id: int) -> Optional[PhotoRecord]:
        return self._records.get(photo_id)

    def records(self) -> dict[int, PhotoRecord]:
        return self._records

    def apply_change(self, change: Change) -> None:
        """Update the records after a catalog mutation and repaint the rows it touched. A develop edit
        re-renders the thumbnails in the background (the old one stays until the new one arrives)."""
        if change.field == "params":
            for pid in change.photo_ids:
                rec = self._records.get(pid)
                if rec is None or pid not in change.after:
                    continue
                rec.edit = change.after[pid]
                if self.cache is not None:
                    self.cache.refresh(pid, rec.path, rec.content_hash, rec.edit)
            return
        if change.field not in CULLING_FIELDS:
            return
        n = len(self._ids)
        # a big change: no row lookups, one repaint of what is on screen (a view repaints only its visible cells;
        # per-row repaints of 3,379 stacked photos scattered over 100,000 rows, "Keep best of each stack", were
        # ~3,000 dataChanged signals: ~250 ms on the GUI thread)
        if len(change.photo_ids) > REPAINT_ROWS_MAX:
            if change.records_set is not self._records:  # not already written into these records on the worker
                set_field(self._records, change.field, change.photo_ids, change.after)
            if n:
                self.dataChanged.emit(self.index(0, 0), self.index(n - 1, 0))
            return
        rows = []
        for pid in change.photo_ids:
            rec = self._records.get(pid)
            if rec is None or pid not in change.after:
                continue
            setattr(rec, change.field, change.after[pid])
            r = self.row_of(pid)  # a few photos: a scan of the ids, not a map of 100,000 rows
            if r is not None:
                rows.append(r)
        self._repaint_rows(rows)

    def _repaint_rows(self, rows: Iterable[int]) -> None:
        rows = sorted(rows)
        if not rows:
            return
        # Contiguous runs: one dataChanged per run, not per row.
        start = prev = rows[0]
        for r in rows[1:] + [None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            self.dataChanged.emit(self.index(start, 0), self.index(prev, 0))
            if r is not None:
                start = prev = r

    def _on_thumbnail(self, photo_id: int) -> None:
        # Not dataChanged: in icon mode QListView re-lays out items on every dataChanged, which at
        # 100k rows stalls scrolling for up to a second per arriving thumbnail. Views repaint the cell.
        r = self._rows.get(photo_id)
        if r is not None:
            self.thumbnailArrived.emit(r)


# ---------------------------------------------------------------------------------------------- thumbnails
def array_to_qimage(arr: np.ndarray) -> QImage:
    """An HxWx3 uint8 array as a QImage that owns its pixels (safe to pass between threads)."""
    arr = np.ascontiguousarray(arr[..., :3], dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def load_thumbnail_image(
    path: str, content_hash: str, cache_dir: os.PathLike | str, max_edge: int, edit: Optional[dict] = None
) -> QImage:
    """Decode (worker thread) the cached thumbnail of a photo, making it from the original if missing;
    with ``edit``, the thumbnail with those develop settings rendered (cached by edit signature)."""
    from piaa_desktop.core.thumbnails import edited_thumbnail_array

    img = array_to_qimage(edited_thumbnail_array(path, content_hash, cache_dir, edit))
    if max(img.width(), img.height()) > max_edge:
        img = img.scaled(
            max_edge, max_edge, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return img


class _ThumbSignals(QObject):
    done = Signal(int, int, object, str)  # photo id, generation, QImage or None (failed), edit signature


class _ThumbJob(QRunnable):
    def __init__(self, signals: _ThumbSignals, pid: int, gen: int, path: str, content_hash: str, cache_dir: Path,
                 edge: int, edit: Optional[dict] = None, sig: str = "", pool: Optional[QThreadPool] = None):
        super().__init__()
        self.setAutoDelete(True)
        self.signals = signals
        self.pool = pool or QThreadPool.globalInstance()
        self.args = (pid, gen, path, content_hash, cache_dir, edge, edit, sig)

    def run(self) -> None:
        pid, gen, path, h, cache_dir, edge, edit, sig = self.args
        rendered = None
        try:
            if sig:
                # an edit: rendered at the cell's size, shown first, cached on disk after
                from piaa_desktop.core.thumbnails import edited_thumbnail_array

                rendered = edited_thumbnail_array(path, h, cache_dir, edit, edge=edge, write_cache=False)
                img = array_to_qimage(rendered)
            else:
                img = load_thumbnail_image(path, h, cache_dir, edge, edit)
        except Exception:  # noqa: BLE001 - a bad file is painted as such, never crashes the grid
            img = None
        try:
            self.signals.done.emit(pid, gen, img, sig)
        except RuntimeError:  # cache deleted while closing
            pass
        if rendered is not None:
            # cached on disk by a job of its own, after the renderings still queued (lowest priority): the
            # other visible cells are not kept waiting for a JPEG encode
            try:
                self.pool.start(_SaveEditedJob(cache_dir, h, sig, rendered, edge), -1)
            except RuntimeError:  # the pool is gone (closing)
                pass


class _SaveEditedJob(QRunnable):
    def __init__(self, cache_dir, content_hash: str, sig: str, rendered, edge: int):
        super().__init__()
        self.setAutoDelete(True)
        self.args = (cache_dir, content_hash, sig, rendered, edge)

    def run(self) -> None:
        from piaa_desktop.core.thumbnails import THUMB_SIZE, edited_thumbnail_path, save_edited_thumbnail

        cache_dir, h, sig, rendered, edge = self.args
        e = min(edge, THUMB_SIZE)
        if not edited_thumbnail_path(cache_dir, h, sig, e).exists():
            save_edited_thumbnail(cache_dir, h, sig, rendered, e)


class ThumbnailCache(QObject):
    """LRU cache of thumbnail pixmaps keyed by photo id, bounded in bytes, filled off the GUI thread.

    Each pixmap shows the photo with its develop edit rendered; :meth:`refresh` re-renders one after an
    edit (the previous pixmap stays on screen until the new one arrives; a stale rendering that arrives
    after a newer edit is dropped).
    """

    loaded = Signal(int)
    failed = Signal(int)

    def __init__(
        self,
        cache_dir: os.PathLike | str,
        max_edge: int = 384,
        max_bytes: int = 256 * 1024 * 1024,
        threads: Optional[int] = None,
        parent: Optional[QObject] = None,
    ):
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self.max_edge = max_edge
        self.max_bytes = max_bytes
        self._lru: "OrderedDict[int, QPixmap]" = OrderedDict()
        self._bytes = 0
        self._pending: set[int] = set()
        self._failed: set[int] = set()
        self._sig: dict[int, str] = {}  # edit signature each photo's pixmap must show
        self._stale: set[int] = set()  # cached pixmaps showing an older edit (a re-render is due)
        self._shown_sig: dict[int, str] = {}  # edit signature each cached pixmap shows
        self._valid_from = 0  # results of load generations before this one are dropped (invalidate())
        self._gen = 0
        self.pool = QThreadPool(self)
        self.pool.setObjectName("piaa-thumbnails")
        self.pool.setMaxThreadCount(threads or max(2, min(4, os.cpu_count() or 2)))
        self._signals = _ThumbSignals(self)
        self._signals.done.connect(self._on_done)
        self.loads = 0  # thumbnails decoded so far (for tests and benchmarks)
        self.refreshes = 0  # re-renders asked for after an edit

    def signature(self, photo_id: int) -> Optional[str]:
        """Edit signature of the photo's cached pixmap ("" unedited), None when none is cached."""
        return self._shown_sig.get(photo_id) if photo_id in self._lru else None

    def pixmap(self, photo_id: int) -> Optional[QPixmap]:
        pm = self._lru.get(photo_id)
        if pm is not None:
            self._lru.move_to_end(photo_id)
        return pm

    def has_failed(self, photo_id: int) -> bool:
        return photo_id in self._failed

    def is_stale(self, photo_id: int) -> bool:
        return photo_id in self._stale

    def request(self, photo_id: int, path: str, content_hash: str, edit: Optional[dict] = None) -> None:
        if photo_id in self._pending or photo_id in self._failed:
            return
        if photo_id in self._lru and photo_id not in self._stale:
            return
        self._start(photo_id, path, content_hash, edit, priority=1 if photo_id in self._stale else 0)

    def _start(self, photo_id: int, path: str, content_hash: str, edit: Optional[dict], priority: int = 0) -> None:
        from piaa_desktop.core.develop import edit_signature

        sig = edit_signature(edit)
        self._sig[photo_id] = sig
        self._pending.add(photo_id)
        self.pool.start(
            _ThumbJob(self._signals, photo_id, self._gen, path, content_hash, self.cache_dir, self.max_edge, edit, sig,
                      self.pool),
            priority,
        )

    def refresh(self, photo_id: int, path: str, content_hash: str, edit: Optional[dict] = None) -> None:
        """The photo's edit changed: render its thumbnail again in the background (ahead of plain
        loads), keeping the current pixmap until then. Photos never shown are left for later."""
        from piaa_desktop.core.develop import edit_signature

        sig = edit_signature(edit)
        self._failed.discard(photo_id)
        if photo_id not in self._lru and photo_id not in self._pending:
            self._sig.pop(photo_id, None)
            return
        if self._sig.get(photo_id) == sig and photo_id not in self._pending:
            self._stale.discard(photo_id)
            return
        self._stale.add(photo_id)
        self._pending.discard(photo_id)
        self._start(photo_id, path, content_hash, edit, priority=1)
        self.refreshes += 1

    def drop_queued(self) -> None:
        """Forget loads that have not started (the rows scrolled out of view); visible rows ask again."""
        self.pool.clear()
        self._gen += 1
        self._pending.clear()

    def invalidate(self, photo_ids: Optional[Iterable[int]] = None) -> None:
        """Drop cached pixmaps (all, or of some photos whose content changed)."""
        if photo_ids is None:
            self._lru.clear()
            self._bytes = 0
            self._failed.clear()
            self._stale.clear()
            # loads already under way decode what is now out of date: their results are dropped
            self.pool.clear()
            self._gen += 1
            self._pending.clear()
            self._valid_from = self._gen
            return
        for pid in photo_ids:
            pm = self._lru.pop(pid, None)
            if pm is not None:
                self._bytes -= _cost(pm)
            self._failed.discard(pid)
            self._stale.discard(pid)

    def put(self, photo_id: int, image: QImage) -> QPixmap:
        pm = QPixmap.fromImage(image)
        old = self._lru.pop(photo_id, None)
        if old is not None:
            self._bytes -= _cost(old)
        self._lru[photo_id] = pm
        self._bytes += _cost(pm)
        while self._bytes > self.max_bytes and len(self._lru) > 1:
            _, ev = self._lru.popitem(last=False)
            self._bytes -= _cost(ev)
        return pm

    def _on_done(self, photo_id: int, gen: int, image, sig: str = "") -> None:
        if gen < self._valid_from:
            return  # decoded before the cache was invalidated
        if sig != self._sig.get(photo_id, sig):
            return  # rendered for an edit that has since changed; the newer job delivers
        if gen == self._gen:
            self._pending.discard(photo_id)
        self._stale.discard(photo_id)
        if image is None or image.isNull():
            self._failed.add(photo_id)
            self.failed.emit(photo_id)
            return
        self.loads += 1
        self.put(photo_id, image)
        self._shown_sig[photo_id] = sig
        self.loaded.emit(photo_id)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._lru)

    def shutdown(self, wait_ms: int = 3000) -> None:
        self.pool.clear()
        self.pool.waitForDone(wait_ms)


def _cost(pm: QPixmap) -> int:
    return max(1, pm.width() * pm.height() * max(1, pm.depth() // 8))


# ---------------------------------------------------------------------------------------------- painting
_STARS: dict[float, QPolygonF] = {}


def star_polygon(cx: float, cy: float, r: float) -> QPolygonF:
    """A five-pointed star of outer radius ``r`` centred on (cx, cy) (the shape is computed once per r)."""
    base = _STARS.get(r)
    if base is None:
        import math

        pts = []
        for k in range(10):
            ang = -math.pi / 2 + k * math.pi / 5
            rad = r if k % 2 == 0 else r * 0.45
            pts.append(QPointF(rad * math.cos(ang), rad * math.sin(ang)))
        base = _STARS[r] = QPolygonF(pts)
    return base.translated(cx, cy)


def paint_stars(p: QPainter, x: float, cy: float, rating: int, r: float = 5.5, gap: float = 2.5, dim: bool = True) -> float:
    """Five stars from ``x``, the first ``rating`` gold; returns the x after the last star."""
    p.save()
    p.setPen(Qt.PenStyle.NoPen)
    for k in range(5):
        cx = x + r + k * (2 * r + gap)
        if k < rating:
            p.setBrush(GOLD)
        elif dim:
            p.setBrush(DIM_STAR)
        else:
            continue
        p.drawPolygon(star_polygon(cx, cy, r))
    p.restore()
    return x + 5 * (2 * r + gap)


def paint_flag(p: QPainter, rect: QRectF, flag: int) -> None:
    """Pick: a white flag; reject: a red cross. Drawn inside ``rect``."""
    if not flag:
        return
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if flag > 0:
        pole = QRectF(rect.left() + rect.width() * 0.22, rect.top(), max(1.5, rect.width() * 0.1), rect.height())
        p.fillRect(pole, PICK)
        path = QPainterPath()
        x0 = pole.right()
        path.moveTo(x0, rect.top())
        path.lineTo(rect.right(), rect.top() + rect.height() * 0.28)
        path.lineTo(x0, rect.top() + rect.height() * 0.56)
        path.closeSubpath()
        p.fillPath(path, PICK)
    else:
        pen = QPen(REJECT, max(2.0, rect.width() * 0.16))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        m = rect.width() * 0.15
        p.drawLine(QPointF(rect.left() + m, rect.top() + m), QPointF(rect.right() - m, rect.bottom() - m))
        p.drawLine(QPointF(rect.right() - m, rect.top() + m), QPointF(rect.left() + m, rect.bottom() - m))
    p.restore()


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints one cell: the card, the thumbnail fitted in a square, the score badge, the file name,
    stars, pick/reject flag and colour label."""

    FOOTER = 40
    MARGIN = 4
    PAD = 8

    def __init__(self, parent: Optional[QObject] = None, cell: int = 180):
        super().__init__(parent)
        self.cell = cell
        self._font = QFont()
        self._font.setPointSizeF(8.5)
        self._badge_font = QFont()
        self._badge_font.setPointSizeF(8.0)
        self._badge_font.setBold(True)
        self.show_scores = True
        self.compact = False  # the denser grid: no footer (stars drawn on the photo), thin margins
        # Thumbnails pre-scaled to the cell (a smooth scale per paint costs ~1 ms a cell; a blit ~0.05)
        self._scaled_cache: "OrderedDict[tuple, QPixmap]" = OrderedDict()
        self.scaled_cache_size = 400

    def _scaled(self, pid: int, pm: QPixmap, tw: float, th: float, dpr: float) -> QPixmap:
        key = (pid, pm.cacheKey(), int(tw * dpr), int(th * dpr))
        out = self._scaled_cache.get(key)
        if out is None:
            out = pm.scaled(key[2], key[3], Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
            out.setDevicePixelRatio(dpr)
            self._scaled_cache[key] = out
            while len(self._scaled_cache) > self.scaled_cache_size:
                self._scaled_cache.popitem(last=False)
        else:
            self._scaled_cache.move_to_end(key)
        return out

    def set_compact(self, on: bool) -> None:
        """The denser grid: the name and the footer go (stars and label are drawn on the photo), the
        margins shrink; the tooltip still names the photo."""
        self.compact = bool(on)
        self.FOOTER, self.MARGIN, self.PAD = (0, 2, 3) if self.compact else (40, 4, 8)
        self._scaled_cache.clear()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(self.cell, self.cell + self.FOOTER)

    def image_rect(self, cell_rect: QRect) -> QRect:
        card = cell_rect.adjusted(self.MARGIN, self.MARGIN, -self.MARGIN, -self.MARGIN)
        side = card.width() - 2 * self.PAD
        return QRect(card.left() + self.PAD, card.top() + self.PAD, side, side)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        rec: Optional[PhotoRecord] = index.data(RecordRole)
        if rec is None:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        is_current = bool(option.state & QStyle.StateFlag.State_HasFocus)
        card = QRectF(option.rect.adjusted(self.MARGIN, self.MARGIN, -self.MARGIN, -self.MARGIN))

        # Card
        bg = QColor("#2a3447") if selected else (QColor("#262a31") if hover else QColor("#1e2126"))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(card, 6, 6)
        if selected or is_current:
            pen = QPen(ACCENT if selected else QColor("#6b7280"), 2 if selected else 1)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(card.adjusted(1, 1, -1, -1), 6, 6)

        # Thumbnail, fitted in the square image area
        area = QRectF(self.image_rect(option.rect))
        pm: Optional[QPixmap] = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is not None and not pm.isNull():
            w, h = pm.width(), pm.height()
            s = min(area.width() / w, area.height() / h)
            tw, th = w * s, h * s
            target = QRectF(area.center().x() - tw / 2, area.center().y() - th / 2, tw, th)
            if rec.flag < 0:
                p.setOpacity(0.35)
            p.drawPixmap(target.topLeft(), self._scaled(rec.id, pm, tw, th, p.device().devicePixelRatioF()))
            p.setOpacity(1.0)
            img_rect = target
        else:
            img_rect = area.adjusted(area.width() * 0.1, area.height() * 0.2, -area.width() * 0.1, -area.height() * 0.2)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#262a31"))
            p.drawRoundedRect(img_rect, 3, 3)
            cache = getattr(index.model(), "cache", None)
            if cache is not None and cache.has_failed(rec.id):
                p.setPen(QColor("#9aa3b2"))
                p.setFont(self._font)
                p.drawText(img_rect, Qt.AlignmentFlag.AlignCenter, "cannot read")

        # Score badge (top right of the image)
        score = index.data(ScoreRole) if self.show_scores else None
        if score is not None:
            kind, value = score
            text = f"{value:.1f}"
            p.setFont(self._badge_font)
            fm = QFontMetrics(self._badge_font)
            bw, bh = fm.horizontalAdvance(text) + 10, fm.height() + 2
            badge = QRectF(img_rect.right() - bw - 4, img_rect.top() + 4, bw, bh)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(20, 22, 26, 200))
            p.drawRoundedRect(badge, 4, 4)
            p.setPen(QColor("#f5b83d") if kind == "personal" else QColor("#e3e6eb"))
            p.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)

        # Flag badge (top left of the image)
        if rec.flag:
            fb = QRectF(img_rect.left() + 4, img_rect.top() + 4, 20, 20)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(20, 22, 26, 200))
            p.drawRoundedRect(fb, 4, 4)
            paint_flag(p, fb.adjusted(4, 4, -4, -4), rec.flag)

        # Technical problems (bottom left of the image): short orange tags
        tech = index.data(TechFlagsRole)
        if tech:
            text = " · ".join(TAG_BADGES[f] for f in sorted(tech) if f in TAG_BADGES)
            p.setFont(self._badge_font)
            fm = QFontMetrics(self._badge_font)
            bw, bh = fm.horizontalAdvance(text) + 10, fm.height() + 2
            lift = 14 if self.compact and (rec.rating or rec.color_label) else 0  # above the compact star strip
            tb = QRectF(img_rect.left() + 4, img_rect.bottom() - bh - 4 - lift, min(bw, img_rect.width() - 8), bh)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(20, 22, 26, 210))
            p.drawRoundedRect(tb, 4, 4)
            p.setPen(QColor("#f0a35e"))
            p.drawText(tb, Qt.AlignmentFlag.AlignCenter, fm.elidedText(text, Qt.TextElideMode.ElideRight, int(tb.width()) - 6))

        if self.compact:  # stars and colour label on the photo's bottom edge, no footer
            if rec.rating or rec.color_label:
                strip = QRectF(img_rect.left(), img_rect.bottom() - 14, img_rect.width(), 14)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(20, 22, 26, 190))
                p.drawRect(strip)
                if rec.rating:
                    paint_stars(p, strip.left() + 3, strip.center().y(), rec.rating, r=4.0, gap=1.5, dim=False)
                if rec.color_label:
                    p.setBrush(QColor(COLOR_LABELS.get(rec.color_label, rec.color_label)))
                    p.drawEllipse(QPointF(strip.right() - 8, strip.center().y()), 4, 4)
            p.restore()
            return

        # Footer: name, then stars and colour label
        foot_top = card.top() + self.PAD + area.height() + 4
        p.setFont(self._font)
        fm = QFontMetrics(self._font)
        name_rect = QRectF(card.left() + self.PAD, foot_top, card.width() - 2 * self.PAD, fm.height())
        p.setPen(QColor("#e3e6eb") if selected else QColor("#9aa3b2"))
        p.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(rec.name, Qt.TextElideMode.ElideMiddle, int(name_rect.width())))
        star_cy = name_rect.bottom() + 10
        paint_stars(p, card.left() + self.PAD, star_cy, rec.rating, r=5.5, dim=True)
        if rec.color_label:
            col = QColor(COLOR_LABELS.get(rec.color_label, rec.color_label))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(col)
            p.drawEllipse(QPointF(card.right() - self.PAD - 6, star_cy), 6, 6)
        p.restore()


# ---------------------------------------------------------------------------------------------- view
class PhotoGridView(UniformCellView):
    """The grid of thumbnails: uniform cells laid out by arithmetic (:mod:`piaa_desktop.gui.cell_view`: a reset,
    a show or a ``scrollTo`` cost the cells on screen at any library size), extended selection, no type-ahead
    (letters are shortcuts)."""

    MIN_CELL = 80
    MAX_CELL = 360
    COMPACT_CELL = 112  # the denser grid's cell: 6 columns in 700 px (a 1280x800 window with both panels)

    def __init__(self, parent=None, cell: int = 180):
        super().__init__(parent, wrapping=True)
        self.setObjectName("PhotoGrid")
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.scroll_step = 24
        self.verticalScrollBar().setSingleStep(24)
        self.setMouseTracking(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet("QAbstractItemView#PhotoGrid { background-color: #16181c; border: none; padding: 6px; }")
        self._target = max(self.MIN_CELL, min(self.MAX_CELL, int(cell)))
        self.delegate = ThumbnailDelegate(self, self._target)
        self.setItemDelegate(self.delegate)
        # Always on: a scroll bar that comes and goes would change the column count back and forth.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def setModel(self, model) -> None:
        old = self.model()
        if old is not None:
            try:
                old.thumbnailArrived.disconnect(self._repaint_row)
            except (RuntimeError, TypeError, AttributeError):
                pass
        super().setModel(model)
        if model is not None and hasattr(model, "thumbnailArrived"):
            model.thumbnailArrived.connect(self._repaint_row)

    def _repaint_row(self, row: int) -> None:
        rect = self.visualRect(self.model().index(row, 0))
        if rect.isValid() and rect.intersects(self.viewport().rect()):
            self.viewport().update(rect)

    def set_compact(self, on: bool) -> None:
        """The denser grid (see :meth:`ThumbnailDelegate.set_compact`), at ``COMPACT_CELL`` px; off, the
        cell size it had before."""
        on = bool(on)
        if on == self.delegate.compact:
            return
        if on:
            self._normal_target = self._target
            self._target = min(self._target, self.COMPACT_CELL)
        else:
            self._target = max(getattr(self, "_normal_target", self._target), self._target)
        self.delegate.set_compact(on)
        self._fit_cells(force=True)

    def is_compact(self) -> bool:
        return self.delegate.compact

    def cell_size(self) -> int:
        """The thumbnail size asked for (cells are stretched a little so the columns fill the width)."""
        return self._target

    def set_cell_size(self, size: int) -> None:
        size = max(self.MIN_CELL, min(self.MAX_CELL, int(size)))
        if size == self._target:
            return
        self._target = size
        self._fit_cells(force=True)

    def _fit_cells(self, force: bool = False) -> None:
        avail = self.viewport().width() - 2
        if avail <= 0:
            return
        cols = max(1, avail // self._target)
        cell = max(self.MIN_CELL // 2, avail // cols)
        if cell == self.delegate.cell and not force:
            return
        self.delegate.cell = cell
        current = self.currentIndex()
        self.doItemsLayout()
        if current.isValid():
            self.scrollTo(current)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_cells()

    def columns(self) -> int:
        return self.layout_columns()

    def keyboardSearch(self, search: str) -> None:  # letters are culling shortcuts, not type-ahead
        return

    def _on_scrolled(self, _value: int) -> None:
        m = self.model()
        cache = getattr(m, "cache", None)
        if cache is not None:
            cache.drop_queued()
        self.viewport().update()

    def visible_rows(self) -> range:
        """Rows (at least partly) visible now: the rows the view paints, hence the thumbnails it loads."""
        return self.visible_row_range()
