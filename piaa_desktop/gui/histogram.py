"""A small RGB + luminance histogram widget (counts from :func:`piaa_desktop.core.develop.histogram`).

``HistogramWidget.set_counts(counts)`` takes a (4, bins) array (R, G, B, luma) and repaints: the three
channels drawn additively over a dark background, the luminance as a light outline, clipped shadows and
highlights marked by a coloured corner triangle (as in Lightroom). Any view can reuse it.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

CHANNEL_COLOURS = (QColor(229, 83, 75, 150), QColor(76, 185, 99, 150), QColor(79, 141, 245, 150))


class HistogramWidget(QWidget):
    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("Histogram")
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.counts: Optional[np.ndarray] = None
        self.clipped = (0.0, 0.0)  # fraction of pixels at 0 / 255 (luma)

    def sizeHint(self) -> QSize:
        return QSize(280, 110)

    def set_counts(self, counts: Optional[np.ndarray]) -> None:
        self.counts = None if counts is None else np.asarray(counts, dtype=np.float64)
        if self.counts is not None and self.counts.shape[0] >= 4 and self.counts[3].sum() > 0:
            tot = self.counts[3].sum()
            self.clipped = (float(self.counts[:3, 0].max() / tot), float(self.counts[:3, -1].max() / tot))
        else:
            self.clipped = (0.0, 0.0)
        self.update()

    def _path(self, values: np.ndarray, r: QRectF, top: float) -> QPainterPath:
        n = len(values)
        path = QPainterPath(QPointF(r.left(), r.bottom()))
        for i, v in enumerate(values):
            x = r.left() + r.width() * i / max(1, n - 1)
            path.lineTo(x, r.bottom() - r.height() * min(1.0, v / top))
        path.lineTo(r.right(), r.bottom())
        path.closeSubpath()
        return path

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#15171b"))
        r = QRectF(self.rect()).adjusted(4, 6, -4, -4)
        p.setPen(QPen(QColor("#2a2e35"), 1))
        for k in (1, 2, 3):
            x = r.left() + r.width() * k / 4
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        if self.counts is None:
            p.setPen(QColor("#6b7280"))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "No histogram")
            return
        c = self.counts
        # scale to the 99.5th percentile of the inner bins, so one spike does not flatten the rest
        inner = c[:3, 1:-1] if c.shape[1] > 2 else c[:3]
        top = max(1.0, float(np.percentile(inner, 99.5)) * 1.1)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
        p.setPen(Qt.PenStyle.NoPen)
        for i, col in enumerate(CHANNEL_COLOURS):
            p.setBrush(col)
            p.drawPath(self._path(c[i], r, top))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if c.shape[0] >= 4:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(230, 232, 236, 170), 1.2))
            p.drawPath(self._path(c[3], r, top))
        for frac, x, sign in ((self.clipped[0], r.left(), 1), (self.clipped[1], r.right(), -1)):
            if frac > 0.002:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor("#4f8df5") if sign > 0 else QColor("#f5b83d"))
                p.drawPolygon(QPolygonF([QPointF(x, r.top()), QPointF(x + sign * 10, r.top()), QPointF(x, r.top() + 10)]))
