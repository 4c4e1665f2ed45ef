"""The right-hand info panel: rating and flags (clickable), scores with their 5-bin distribution,
EXIF, and the pixel signals of the current photo.

The panel only displays; clicks are turned into requests (``ratingRequested`` ...) that the main
window applies to the whole selection, exactly like the keyboard shortcuts.
"""
from __future__ import annotations

import os
import re
from typing import Optional, Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop.core.personal.operations import EMBEDDING_LABEL
from piaa_desktop.gui.grid import COLOR_LABELS, DIM_STAR, GOLD, star_polygon

FLAG_NAMES = {1: "Pick", 0: "", -1: "Reject"}

# Display ranges of the signals (see core/signals.py): value -> fraction of the bar.
SIGNAL_DISPLAY = (
    ("sharpness", "Sharpness", 0.0, 4.0, "{:.2f}"),
    ("noise", "Noise", 0.0, 8.0, "{:.2f}"),
    ("brightness", "Brightness", 0.0, 1.0, "{:.0%}"),
    ("contrast", "Contrast", 0.0, 0.35, "{:.2f}"),
    ("colorfulness", "Colourfulness", 0.0, 1.2, "{:.2f}"),
    ("saturation", "Saturation", 0.0, 1.0, "{:.0%}"),
    ("clip_high", "Blown highlights", 0.0, 0.1, "{:.1%}"),
    ("clip_low", "Crushed shadows", 0.0, 0.1, "{:.1%}"),
)

# The "why" line's words for the pixel signals (explain() names them by their catalog column) and the embedding
# term: a photographer's words, lower case, from the bars' labels above where there is one.
WHY_WORDS = {key: label.lower() for key, label, *_ in SIGNAL_DISPLAY}
WHY_WORDS.update({"warmth": "warmth", "subject_offset": "subject placement", EMBEDDING_LABEL: "content & style"})


def why_rows(reasons: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """The (words, contribution) shown in "Why, for your taste": signals named in words, and the attributes whose
    contribution rounds to 0.00 left out (a "+0.00" or "-0.00" says nothing)."""
    return [(WHY_WORDS.get(name, name.replace("_", " ")), c) for name, c in reasons if round(c, 2) != 0]


def model_words(version: str) -> str:
    """A score's model version in words: "personal-v4" -> "version 4 of your model", "prior-2026-11-27T13:52:08"
    -> "generic model of 2026-11-27" (the ids are for bug reports; the caption's tooltip keeps them)."""
    m = re.fullmatch(r"personal-v(\d+)", version)
    if m:
        return f"version {m.group(1)} of your model"
    m = re.fullmatch(r"prior-(\d{4}-\d{2}-\d{2})(?:T.*)?", version)
    if m:
        return f"generic model of {m.group(1)}"
    return f"model {version}"


def format_shutter(s: Optional[float]) -> str:
    if not s:
        return ""
    if s >= 1:
        return f"{s:g} s"
    return f"1/{round(1 / s):d} s"


def format_exposure(photo) -> str:
    parts = [
        format_shutter(photo.shutter),
        f"f/{photo.aperture:g}" if photo.aperture else "",
        f"ISO {photo.iso}" if photo.iso else "",
    ]
    return "  ·  ".join(p for p in parts if p)


def format_size(n: Optional[int]) -> str:
    if not n:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


# ---------------------------------------------------------------------------------------------- widgets
class StarRatingWidget(QWidget):
    """Five clickable stars; clicking the current rating clears it (0)."""

    ratingClicked = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None, radius: float = 9.0):
        super().__init__(parent)
        self._rating = 0
        self._hover = 0
        self.r = radius
        self.gap = 6.0
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFixedSize(self.sizeHint())
        self.setToolTip("Rating: click a star, or press 0-5")

    def sizeHint(self) -> QSize:
        return QSize(int(5 * (2 * self.r + self.gap) + 2), int(2 * self.r + 6))

    def rating(self) -> int:
        return self._rating

    def setRating(self, rating: int) -> None:
        self._rating = int(rating)
        self.update()

    def _star_at(self, x: float) -> int:
        k = int(x // (2 * self.r + self.gap)) + 1
        return max(0, min(5, k))

    def mouseMoveEvent(self, e) -> None:
        self._hover = self._star_at(e.position().x())
        self.update()

    def leaveEvent(self, e) -> None:
        self._hover = 0
        self.update()

    def mouseReleaseEvent(self, e) -> None:
        if e.button() == Qt.MouseButton.LeftButton and self.isEnabled():
            k = self._star_at(e.position().x())
            self.ratingClicked.emit(0 if k == self._rating else k)

    def paintEvent(self, _e) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        shown = self._hover or self._rating
        for k in range(5):
            cx = 1 + self.r + k * (2 * self.r + self.gap)
            if k < shown:
                c = QColor(GOLD)
                if self._hover and k >= self._rating:
                    c.setAlpha(150)
            else:
                c = DIM_STAR
            p.setBrush(c)
            p.drawPolygon(star_polygon(cx, self.height() / 2, self.r))


class DistributionChart(QWidget):
    """A small bar chart of a score distribution over the bins 1..5 (probabilities)."""

    def __init__(self, parent: Optional[QWidget] = None, color: str = "#4f8df5"):
        super().__init__(parent)
        self._values: list[float] = []
        self._color = QColor(color)
        self.setMinimumHeight(62)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._font = QFont()
        self._font.setPointSizeF(7.5)

    def values(self) -> list[float]:
        return list(self._values)

    def setValues(self, values: Optional[Sequence[float]], color: Optional[str] = None) -> None:
        self._values = [max(0.0, float(v)) for v in values] if values else []
        if color:
            self._color = QColor(color)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, 62)

    def paintEvent(self, _e) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        n = len(self._values) or 5
        fm = QFontMetrics(self._font)
        label_h = fm.height()
        chart = QRectF(self.rect()).adjusted(2, 2, -2, -label_h - 2)
        bw = chart.width() / n
        top = max(self._values) if self._values and max(self._values) > 0 else 1.0
        p.setFont(self._font)
        best = max(range(n), key=lambda i: self._values[i]) if self._values else -1
        for i in range(n):
            x = chart.left() + i * bw
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#262a31"))
            p.drawRoundedRect(QRectF(x + 3, chart.top(), bw - 6, chart.height()), 2, 2)
            if self._values:
                v = self._values[i] / top
                h = max(1.0, v * chart.height())
                c = QColor(self._color)
                if i != best:
                    c.setAlpha(150)
                p.setBrush(c)
                p.drawRoundedRect(QRectF(x + 3, chart.bottom() - h, bw - 6, h), 2, 2)
            p.setPen(QColor("#9aa3b2"))
            p.drawText(QRectF(x, chart.bottom() + 1, bw, label_h), Qt.AlignmentFlag.AlignCenter, str(i + 1))


class ScoreCard(QFrame):
    """One score: title, value out of 5, distribution chart and a caption."""

    def __init__(self, title: str, color: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setProperty("role", "card")
        self._color = color
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(4)
        top = QHBoxLayout()
        self.title = QLabel(title)
        self.title.setProperty("role", "dim")
        self.value = QLabel("–")
        f = self.value.font()
        f.setPointSizeF(15)
        f.setBold(True)
        self.value.setFont(f)
        self._value_style = f"color: {'#e3e6eb' if color == '#4f8df5' else color};"
        self.value.setStyleSheet(self._value_style)
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.value)
        lay.addLayout(top)
        self.chart = DistributionChart(self, color)
        lay.addWidget(self.chart)
        self.caption = QLabel("")
        self.caption.setProperty("role", "dim")
        self.caption.setWordWrap(True)
        cf = self.caption.font()
        cf.setPointSizeF(8)
        self.caption.setFont(cf)
        lay.addWidget(self.caption)

    def _style(self, css: str) -> None:
        if self.value.styleSheet() != css:  # setStyleSheet re-polishes: ~1 ms, skip when unchanged
            self.value.setStyleSheet(css)

    def set_score(self, detail: Optional[dict], empty_text: str = "") -> None:
        if not detail:
            self.value.setText("–")
            self._style("color: #6b7280;")
            self.chart.setValues(None)
            self.chart.setVisible(False)
            self.caption.setText(empty_text)
            return
        self.value.setText(f"{detail['score']:.2f}")
        self._style(self._value_style)
        self.chart.setValues(detail.get("distribution"))
        self.chart.setVisible(bool(detail.get("distribution")))
        mv = detail.get("model_version") or ""
        self.caption.setText(f"out of 5 · {model_words(mv)}" if mv else "out of 5")
        self.caption.setToolTip(mv)  # the exact version, for a bug report


class SignalBar(QWidget):
    """A label, a thin bar and a value: one pixel signal."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.frac = 0.0
        self.setFixedHeight(6)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_fraction(self, f: float) -> None:
        self.frac = max(0.0, min(1.0, float(f)))
        self.update()

    def paintEvent(self, _e) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        r = QRectF(self.rect())
        p.setBrush(QColor("#2c3038"))
        p.drawRoundedRect(r, 3, 3)
        p.setBrush(QColor("#6b7f9e"))
        p.drawRoundedRect(QRectF(r.left(), r.top(), r.width() * self.frac, r.height()), 3, 3)


def _section(title: str) -> QLabel:
    lab = QLabel(title.upper())
    f = lab.font()
    f.setPointSizeF(8)
    f.setBold(True)
    f.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 1.0)
    lab.setFont(f)
    lab.setStyleSheet("color: #7d8595; padding-top: 10px;")
    return lab


class _ColorSwatch(QToolButton):
    def __init__(self, name: Optional[str], parent=None):
        super().__init__(parent)
        self.name = name
        self.setCheckable(True)
        self.setFixedSize(22, 22)
        self.setToolTip(f"Colour label: {name}" if name else "No colour label")
        col = COLOR_LABELS.get(name or "", "#3a3f4a")
        self.setStyleSheet(
            f"QToolButton {{ background-color: {col}; border: 2px solid #1f2228; border-radius: 11px; }}"
            "QToolButton:checked { border: 2px solid #ffffff; }"
            "QToolButton:hover { border: 2px solid #9aa3b2; }"
        )


# ---------------------------------------------------------------------------------------------- panel
class SidePanel(QScrollArea):
    """Info on the current photo. ``show_photo(photo, scores, signals, n_selected)``."""

    ratingRequested = Signal(int)
    flagRequested = Signal(int)
    colorLabelRequested = Signal(object)  # str or None

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("SidePanel")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(270)
        body = QWidget()
        body.setObjectName("SidePanelBody")
        self.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(14, 10, 14, 14)
        lay.setSpacing(6)

        self.name_label = QLabel("No photo selected")
        nf = self.name_label.font()
        nf.setPointSizeF(11.5)
        nf.setBold(True)
        self.name_label.setFont(nf)
        self.name_label.setWordWrap(True)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sub_label = QLabel("")
        self.sub_label.setProperty("role", "dim")
        self.sub_label.setWordWrap(True)
        lay.addWidget(self.name_label)
        lay.addWidget(self.sub_label)

        # Rating, flag, colour label
        lay.addWidget(_section("Rating"))
        self.stars = StarRatingWidget(self)
        self.stars.ratingClicked.connect(self.ratingRequested)
        row = QHBoxLayout()
        row.addWidget(self.stars)
        row.addStretch(1)
        self.pick_button = QToolButton(self)
        self.pick_button.setText("Pick")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip("Flag as pick (P)")
        self.reject_button = QToolButton(self)
        self.reject_button.setText("Reject")
        self.reject_button.setCheckable(True)
        self.reject_button.setToolTip("Flag as reject (X)")
        self.pick_button.clicked.connect(lambda on: self.flagRequested.emit(1 if on else 0))
        self.reject_button.clicked.connect(lambda on: self.flagRequested.emit(-1 if on else 0))
        self.reject_button.setStyleSheet("QToolButton:checked { background-color: #5a2624; border-color: #e5534b; }")
        row.addWidget(self.pick_button)
        row.addWidget(self.reject_button)
        lay.addLayout(row)
        swatches = QHBoxLayout()
        swatches.setSpacing(4)
        self.swatches: list[_ColorSwatch] = []
        for name in [None, *COLOR_LABELS]:
            sw = _ColorSwatch(name, self)
            sw.clicked.connect(lambda _on, n=name: self.colorLabelRequested.emit(n))
            self.swatches.append(sw)
            swatches.addWidget(sw)
        swatches.addStretch(1)
        lay.addLayout(swatches)

        # Scores
        lay.addWidget(_section("Scores"))
        self.generic_card = ScoreCard("Generic aesthetic", "#4f8df5", self)
        self.personal_card = ScoreCard("Personal (your taste)", "#f5b83d", self)
        lay.addWidget(self.generic_card)
        lay.addWidget(self.personal_card)
        self.confidence_label = QLabel("", self)
        self.confidence_label.setObjectName("ConfidenceLabel")
        self.confidence_label.setWordWrap(True)
        self.confidence_label.setProperty("role", "dim")
        lay.addWidget(self.confidence_label)
        self.why_label = QLabel("", self)
        self.why_label.setObjectName("WhyLabel")
        self.why_label.setWordWrap(True)
        self.why_label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.why_label)

        # EXIF
        lay.addWidget(_section("Photo"))
        self.exif_grid = QGridLayout()
        self.exif_grid.setHorizontalSpacing(10)
        self.exif_grid.setVerticalSpacing(3)
        self.exif_grid.setColumnStretch(1, 1)
        self.exif_labels: dict[str, QLabel] = {}
        for r, (key, title) in enumerate(
            (
                ("captured", "Captured"),
                ("camera", "Camera"),
                ("lens", "Lens"),
                ("exposure", "Exposure"),
                ("focal", "Focal length"),
                ("dimensions", "Dimensions"),
                ("file", "File"),
                ("folder", "Folder"),
            )
        ):
            t = QLabel(title)
            t.setProperty("role", "dim")
            t.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            v = QLabel("")
            v.setWordWrap(True)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.exif_grid.addWidget(t, r, 0)
            self.exif_grid.addWidget(v, r, 1)
            self.exif_labels[key] = v
        lay.addLayout(self.exif_grid)

        # Signals
        lay.addWidget(_section("Pixel signals"))
        sig_grid = QGridLayout()
        sig_grid.setHorizontalSpacing(8)
        sig_grid.setVerticalSpacing(4)
        sig_grid.setColumnStretch(1, 1)
        self.signal_rows: dict[str, tuple[SignalBar, QLabel]] = {}
        for r, (key, title, _lo, _hi, _fmt) in enumerate(SIGNAL_DISPLAY):
            t = QLabel(title)
            t.setProperty("role", "dim")
            bar = SignalBar(self)
            val = QLabel("")
            val.setMinimumWidth(44)
            val.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            sig_grid.addWidget(t, r, 0)
            sig_grid.addWidget(bar, r, 1)
            sig_grid.addWidget(val, r, 2)
            self.signal_rows[key] = (bar, val)
        lay.addLayout(sig_grid)
        lay.addStretch(1)
        self.show_photo(None)

    # ------------------------------------------------------------------ content
    def show_photo(
        self,
        photo,
        scores: Optional[dict] = None,
        signals: Optional[dict] = None,
        n_selected: int = 0,
        folder_path: str = "",
        empty_hint: str = "",
    ) -> None:
        """Display ``photo`` (a catalog Photo or None), its ``score_detail`` and ``signals``; without a photo,
        ``empty_hint`` says why and what to do (default: import a folder)."""
        self._photo = photo
        enabled = photo is not None
        for w in (self.stars, self.pick_button, self.reject_button, *self.swatches):
            w.setEnabled(enabled)
        if photo is None:
            self.name_label.setText("No photo selected")
            self.sub_label.setText(empty_hint or "Import a folder with File › Import folder… (Ctrl+I)")
            self.sub_label.setVisible(True)
            self.stars.setRating(0)
            self.pick_button.setChecked(False)
            self.reject_button.setChecked(False)
            for sw in self.swatches:
                sw.setChecked(False)
            self.generic_card.set_score(None, "")
            self.personal_card.set_score(None, "")
            for v in self.exif_labels.values():
                v.setText("")
            for bar, val in self.signal_rows.values():
                bar.set_fraction(0)
                val.setText("")
            return
        self.name_label.setText(photo.name)
        sub = f"{n_selected} photos selected · showing the current one" if n_selected > 1 else ""
        self.sub_label.setText(sub)
        self.sub_label.setVisible(bool(sub))
        self.set_culling(photo.rating, photo.flag, photo.color_label)
        scores = scores or {}
        self.generic_card.set_score(scores.get("generic"), "Not scored yet (scores are computed at import).")
        self.personal_card.set_score(
            scores.get("personal"), "Not trained yet."  # the words below (set_confidence) say why and how
        )
        e = self.exif_labels
        # as the loupe's EXIF line writes it ("2019-06-06 07:29:51", not ISO's "T"); "–" like every other unknown
        e["captured"].setText(str(photo.capture_time).replace("T", " ") if photo.capture_time else "–")
        e["camera"].setText(photo.camera or "–")
        e["lens"].setText(photo.lens or "–")
        e["exposure"].setText(format_exposure(photo) or "–")
        e["focal"].setText(f"{photo.focal_length:g} mm" if photo.focal_length else "–")
        if photo.width and photo.height:
            mp = photo.width * photo.height / 1e6
            e["dimensions"].setText(f"{photo.width} × {photo.height}  ({mp:.1f} MP)")
        else:
            e["dimensions"].setText("–")
        e["file"].setText(" · ".join(x for x in (photo.format or "", format_size(photo.size)) if x))
        e["folder"].setText(folder_path or os.path.dirname(photo.path))
        e["folder"].setToolTip(photo.path)
        for key, _title, lo, hi, fmt in SIGNAL_DISPLAY:
            bar, val = self.signal_rows[key]
            v = (signals or {}).get(key)
            if v is None:
                bar.set_fraction(0)
                val.setText("–")
            else:
                bar.set_fraction((v - lo) / (hi - lo))
                val.setText(fmt.format(v))

    def set_confidence(self, text: str) -> None:
        """How well the personal model knows the user's taste (core.personal.confidence.describe)."""
        self.confidence_label.setText(text)
        self.confidence_label.setVisible(bool(text))

    def set_explanation(self, reasons: Sequence[tuple[str, float]], flags: set[str]) -> None:
        """The attributes that push this photo's personal score up or down, and its technical flags."""
        parts = []
        if reasons:
            rows = []
            for label, contrib in why_rows(reasons):
                colour = "#5fcf80" if contrib >= 0 else "#f0736a"
                arrow = "▲" if contrib >= 0 else "▼"
                rows.append(f"<span style='color:{colour}'>{arrow} {label} {contrib:+.2f}</span>")
            if rows:
                parts.append("<b>Why, for your taste:</b> " + " · ".join(rows))
        if flags:
            from piaa_desktop.core.flags import FLAG_LABELS

            parts.append("<b>Technical:</b> <span style='color:#f0a35e'>"
                         + ", ".join(FLAG_LABELS.get(f, f) for f in sorted(flags)) + "</span>")
        self.why_label.setText("<br>".join(parts))
        self.why_label.setVisible(bool(parts))

    def set_culling(self, rating: int, flag: int, color_label: Optional[str]) -> None:
        self.stars.setRating(rating)
        self.pick_button.setChecked(flag == 1)
        self.reject_button.setChecked(flag == -1)
        for sw in self.swatches:
            sw.setChecked(sw.name == color_label)
