"""Ranking mode: "which do you prefer?" with two photos side by side.

Left/Right arrow (or a click on a photo) picks the preferred one, Down or S skips the pair. Each
photo is captioned with its file name; the status line shows the progress ("12 answered · the model is
73 % sure which you prefer", :func:`core.personal.operations.preference_certainty`, computed when a
batch of pairs is fetched). ``photoInspected(id)`` names the photo the Info panel should show: the left
one of each new pair, the other when the mouse moves onto it. Each
answer is stored with ``catalog.add_preference(winner, loser, source='ranking')`` and announced with
``preferenceAdded(winner, loser)`` (the integrator debounces re-training on it). Pairs come from the
active-learning selector (core.personal.operations.next_pairs) in small batches; call :meth:`refresh` after
the personal model changed to ask again with the new model.
"""
from __future__ import annotations

import random
from typing import Callable, Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

BATCH = 6


class _PhotoPane(QLabel):
    clicked = Signal()
    entered = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(160, 120))
        self.setStyleSheet("QLabel { background: #202020; color: #aaa; border: 2px solid #303030; }")
        self._pix: Optional[QPixmap] = None

    def set_image(self, image) -> None:
        if isinstance(image, QImage):
            image = QPixmap.fromImage(image)
        self._pix = image if isinstance(image, QPixmap) and not image.isNull() else None
        if self._pix is None:
            self.setPixmap(QPixmap())
            self.setText("(no preview)")
        else:
            self.setText("")
            self._rescale()

    def _rescale(self) -> None:
        if self._pix is not None:
            self.setPixmap(self._pix.scaled(self.size() - QSize(8, 8), Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)

    def enterEvent(self, event) -> None:  # noqa: N802
        self.entered.emit()
        super().enterEvent(event)


class RankingView(QWidget):
    """Self-contained ranking widget. ``image_loader(photo_id) -> QPixmap | QImage``."""

    preferenceAdded = Signal(int, int)  # winner, loser
    pairSkipped = Signal(int, int)
    photoInspected = Signal(int)  # the photo the Info panel should show

    def __init__(self, catalog, image_loader: Callable[[int], object], parent=None,
                 pair_source: Optional[Callable[[int, set], list]] = None,
                 certainty_source: Optional[Callable[[], Optional[float]]] = None):
        super().__init__(parent)
        self.catalog = catalog
        self.image_loader = image_loader
        self._pair_source = pair_source or self._active_pairs
        self._certainty_source = certainty_source or self._model_certainty
        self.certainty: Optional[float] = None
        self._queue: list[tuple[int, int]] = []
        self._skipped: set[frozenset] = set()
        self.current: Optional[tuple[int, int]] = None
        self.answered = 0
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.title = QLabel("Which do you prefer?")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.left = _PhotoPane()
        self.right = _PhotoPane()
        self.left.clicked.connect(self.choose_left)
        self.right.clicked.connect(self.choose_right)
        self.left.entered.connect(lambda: self._inspect(0))
        self.right.entered.connect(lambda: self._inspect(1))
        self.left_name = QLabel("")
        self.right_name = QLabel("")
        row = QHBoxLayout()
        for pane, name in ((self.left, self.left_name), (self.right, self.right_name)):
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            name.setObjectName("RankingName")
            name.setStyleSheet("QLabel#RankingName { color: #c9ced6; font-size: 10.5pt; padding: 2px; }")
            col = QVBoxLayout()
            col.addWidget(pane, 1)
            col.addWidget(name)
            row.addLayout(col)
        self.hint = QLabel("← left   ·   → right   ·   ↓ or S skip")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status = QLabel("")
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(row, 1)
        lay.addWidget(self.hint)
        lay.addWidget(self.status)
        self.next_pair()

    # ---------------------------------------------------------------- pairs
    def _active_pairs(self, n: int, exclude: set) -> list[tuple[int, int]]:
        pairs: list = []
        try:
            from piaa_desktop.core.personal.operations import next_pairs

            pairs = next_pairs(self.catalog, n)
        except Exception:  # no prior or no embeddings yet
            pairs = []
        if not pairs:  # fall back to random pairs of photos that are not rejected
            ids = [p.id for p in self.catalog.photos() if p.flag >= 0]
            if len(ids) < 2:
                return []
            pairs = [tuple(random.sample(ids, 2)) for _ in range(n)]
        return [p for p in pairs if frozenset(p) not in exclude]

    def _model_certainty(self) -> Optional[float]:
        try:
            from piaa_desktop.core.personal.operations import preference_certainty

            return preference_certainty(self.catalog)
        except Exception:  # noqa: BLE001 - no prior or no embeddings yet: no figure
            return None

    def answered_total(self) -> int:
        """Every "which do you prefer?" answer stored so far (this session and earlier ones)."""
        return len(self.catalog.preferences())

    def progress_text(self) -> str:
        n = self.answered_total()
        text = f"{n} answered"
        if self.certainty is not None:
            text += f" · the model is {round(self.certainty * 100)} % sure which you prefer"
        return text

    def refresh(self) -> None:
        """Forget queued pairs (e.g. after re-training) and show a fresh one."""
        self._queue.clear()
        self.next_pair()

    def _inspect(self, side: int) -> None:
        if self.current:
            self.photoInspected.emit(int(self.current[side]))

    def _name(self, pid: int) -> str:
        p = self.catalog.photo(pid)
        return p.name if p is not None else ""

    def next_pair(self) -> None:
        if not self._queue:
            self._queue = list(self._pair_source(BATCH, set(self._skipped)))
            self.certainty = self._certainty_source()
        while self._queue and frozenset(self._queue[0]) in self._skipped:
            self._queue.pop(0)
        if not self._queue:
            self.current = None
            self.left.set_image(None)
            self.right.set_image(None)
            self.left_name.setText("")
            self.right_name.setText("")
            self.status.setText("No pair to compare yet: scan some photos first.")
            return
        self.current = self._queue.pop(0)
        a, b = self.current
        self.left.set_image(self._load(a))
        self.right.set_image(self._load(b))
        self.left_name.setText(self._name(a))
        self.right_name.setText(self._name(b))
        self.status.setText(self.progress_text())
        self.photoInspected.emit(int(a))

    def _load(self, pid: int):
        try:
            return self.image_loader(pid)
        except Exception:
            return None

    # ---------------------------------------------------------------- answers
    def _record(self, winner: int, loser: int) -> None:
        self.catalog.add_preference(winner, loser, source="ranking")
        self.answered += 1
        self.preferenceAdded.emit(int(winner), int(loser))
        self.next_pair()

    def choose_left(self) -> None:
        if self.current:
            a, b = self.current
            self._record(a, b)

    def choose_right(self) -> None:
        if self.current:
            a, b = self.current
            self._record(b, a)

    def skip(self) -> None:
        if self.current:
            a, b = self.current
            self._skipped.add(frozenset((a, b)))
            self.pairSkipped.emit(int(a), int(b))
            self.next_pair()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Left:
            self.choose_left()
        elif key == Qt.Key.Key_Right:
            self.choose_right()
        elif key in (Qt.Key.Key_Down, Qt.Key.Key_S):
            self.skip()
        else:
            super().keyPressEvent(event)
