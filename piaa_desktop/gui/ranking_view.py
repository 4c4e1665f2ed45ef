"""Ranking mode: "which do you prefer?" with two photos side by side.

Left/Right arrow (or a click on a photo) picks the preferred one, Down or S skips the pair. Each
photo is captioned with its file name. The status line reacts to every answer: the count at once, then
(within a fraction of a second, from a worker) the running check of
:func:`core.personal.operations.running_check`: each answer is predicted by the model fitted on the answers
given before it, and the view says whether it guessed the last one and how many of the last ones it
guessed, next to the generic score, in :mod:`core.personal.confidence`'s words (nothing is claimed before
enough answers: it says how many more are needed). One check runs at a time: answers given while one runs
start one more when it ends (not a queue), a new answer costs one fit (the earlier answers' predictions are
kept), and a result older than the one on screen is dropped. ``photoInspected(id)`` names the photo the
Info panel should show: the left one of each new pair, the other when the mouse moves onto it. Each
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
PREFETCH_LEFT = 2  # pairs left in the batch when the next one is asked for (on a worker)


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
                 check_source: Optional[Callable] = None, jobs=None):
        """``check_source(catalog, known, progress=None, cancel=None)`` runs on a worker with a catalog
        connection of its own (default :func:`core.personal.operations.running_check`); ``jobs`` is the
        window's :class:`~piaa_desktop.gui.jobs.JobsManager` (a view used alone makes its own)."""
        super().__init__(parent)
        self.catalog = catalog
        self.image_loader = image_loader
        self._pair_source = pair_source or self._active_pairs
        self._check_source = check_source or _running_check
        self._own_jobs = jobs is None
        if jobs is None:
            from piaa_desktop.gui.jobs import JobsManager

            jobs = JobsManager()
        self._jobs = jobs
        path = getattr(catalog, "path", None)
        self._catalog_path = str(path) if path and str(path) != ":memory:" else None
        self.check = None  # the running check on screen (core.personal.operations.RunningCheck)
        self._check_seq = 0  # checks asked for (one per answer, refresh, show)
        self._check_shown = 0  # the request behind the check on screen: an older result never replaces it
        self._check_handle = None
        self._check_again = False
        self.checks_started = 0
        # The active-learning pairs read every photo's features (~0.5-0.9 s at 100,000 photos): a worker
        # finds them, only while the view is shown, the next batch before the last pair of this one
        # (an injected ``pair_source``, or a catalog without a file, answers on the spot)
        self._pairs_async = pair_source is None and self._catalog_path is not None
        self._pairs_handle = None
        self._pairs_seq = 0  # batches asked for
        self._pairs_valid_from = 0  # batches asked for before this one are stale (a refresh)
        self._pairs_again = False
        self.pairs_fetched = 0
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
        self.status.setWordWrap(True)
        self.status.setObjectName("RankingStatus")
        self.status.setStyleSheet("QLabel#RankingStatus { color: #e3e6eb; font-size: 10.5pt; padding: 2px 8px; }")
        from piaa_desktop.core.personal.confidence import RUNNING_EXPLAINED

        self.status.setToolTip(RUNNING_EXPLAINED)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(row, 1)
        lay.addWidget(self.hint)
        lay.addWidget(self.status)
        if self._pairs_async:
            self._show_no_pair("")  # pairs are found when the view is first shown
        else:
            self.next_pair()

    # ---------------------------------------------------------------- pairs
    def _active_pairs(self, n: int, exclude: set) -> list[tuple[int, int]]:
        return _find_pairs(self.catalog, n, exclude)

    def _fetch_pairs(self) -> None:
        """Ask a worker for the next batch (one at a time: asked again while one runs, one more after it)."""
        # busy until the batch's on_finished reached this thread: a job whose body is done (handle.done) but
        # whose on_finished is still queued would otherwise clear the handle of a batch started meanwhile
        if self._pairs_handle is not None:
            self._pairs_again = True
            return
        self._pairs_seq += 1
        seq = self._pairs_seq
        self.pairs_fetched += 1
        try:
            self._pairs_handle = self._jobs.submit(
                _find_pairs, BATCH, set(self._skipped), with_catalog=self._catalog_path, name="ranking pairs",
                on_done=lambda pairs, s=seq: self._pairs_ready(s, pairs), on_finished=self._pairs_finished)
        except RuntimeError:  # the window is closing
            self._pairs_handle = None

    def _pairs_ready(self, seq: int, pairs) -> None:
        if seq < self._pairs_valid_from:
            return  # asked for before a refresh (new scores): the next batch is on its way
        queued = {frozenset(p) for p in self._queue}
        if self.current is not None:
            queued.add(frozenset(self.current))
        self._queue += [tuple(p) for p in pairs if frozenset(p) not in queued and frozenset(p) not in self._skipped]
        if self.current is None:
            if self._queue:
                self.next_pair()
            elif not self._pairs_again:
                self._show_no_pair("No pair to compare yet: scan some photos first.")

    def _pairs_finished(self) -> None:
        self._pairs_handle = None
        if self._pairs_again:
            self._pairs_again = False
            self._fetch_pairs()

    def answered_total(self) -> int:
        """Every "which do you prefer?" answer stored so far (this session and earlier ones)."""
        return self.catalog.preference_count()  # one indexed count (the GUI thread, after every answer)

    def progress_text(self) -> str:
        """"N answered · <the last answer>" and, on a second line, the running check's words."""
        n = self.answered_total()
        text = f"{n} answered"
        c = self.check
        if c is None:  # the first check (up to 30 fits: a second or two) is still running
            return text + (" · checking your answers…" if n and self._check_handle is not None else "")
        if c.last_words and c.n_answers == n:  # about the newest answer only while it is the newest
            text += f" · {c.last_words}"
        return f"{text}\n{c.words}"

    # ---------------------------------------------------------------- the running check (on a worker)
    def request_check(self) -> None:
        """Check the answers again, off the GUI thread: at once, or (one more) when the running check ends."""
        self._check_seq += 1
        if self._catalog_path is None:
            return
        if self._check_handle is not None:  # cleared by its on_finished only (see _fetch_pairs)
            self._check_again = True
            return
        self._start_check()

    def _start_check(self) -> None:
        seq = self._check_seq
        known = dict(self.check.margins) if self.check is not None else {}
        self.checks_started += 1
        try:
            self._check_handle = self._jobs.submit(
                self._check_source, known, with_catalog=self._catalog_path, name="ranking check",
                on_done=lambda r, s=seq: self._checked(s, r), on_finished=self._check_finished)
        except RuntimeError:  # the window is closing
            self._check_handle = None
            return
        if self.check is None and self.current is not None:
            self.status.setText(self.progress_text())  # "· checking your answers…"

    def _checked(self, seq: int, result) -> None:
        if seq <= self._check_shown:
            return  # a newer answer's check is already on screen
        self._check_shown = seq
        self.check = result
        if self.current is not None:
            self.status.setText(self.progress_text())

    def _check_finished(self) -> None:
        self._check_handle = None
        if self._check_again:
            self._check_again = False
            self._start_check()
        elif self.check is None and self.current is not None:
            self.status.setText(self.progress_text())  # no check to show (no prior): the count alone

    def shutdown(self, wait_s: float = 10.0) -> None:
        """Stop the running check (the view's own jobs only: a window's manager is shut down by the window)."""
        self._check_again = False
        if self._own_jobs:
            self._jobs.shutdown(wait_s)
        elif self._check_handle is not None:
            self._check_handle.cancel()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._pairs_async and self.current is None and not self._queue:
            self.next_pair()  # the first pairs (or those a refresh asked for while hidden)
        elif self._pairs_async and not self._queue:
            self._fetch_pairs()
        self.request_check()  # answers may have come from elsewhere (drag-to-order, another session)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self._own_jobs:
            self.shutdown()
        super().closeEvent(event)

    def refresh(self) -> None:
        """Forget queued pairs (e.g. after re-training) and show a fresh one. With pairs from a worker the
        pair on screen stays until answered; the new batch is found now if the view is shown, else when it
        is next shown (scores change in the background all the time: nothing is computed for a hidden view)."""
        self._queue.clear()
        if not self._pairs_async:
            self.next_pair()
            return
        self._pairs_valid_from = self._pairs_seq + 1
        if self.isVisible():
            self._fetch_pairs()

    def _inspect(self, side: int) -> None:
        if self.current:
            self.photoInspected.emit(int(self.current[side]))

    def _name(self, pid: int) -> str:
        p = self.catalog.photo(pid)
        return p.name if p is not None else ""

    def next_pair(self) -> None:
        while self._queue and frozenset(self._queue[0]) in self._skipped:
            self._queue.pop(0)
        if not self._queue and not self._pairs_async:
            self._queue = list(self._pair_source(BATCH, set(self._skipped)))
            while self._queue and frozenset(self._queue[0]) in self._skipped:
                self._queue.pop(0)
        if not self._queue:
            if self._pairs_async:
                self._fetch_pairs()
                self._show_no_pair("Finding the next pair…")
            else:
                self._show_no_pair("No pair to compare yet: scan some photos first.")
            return
        self.current = self._queue.pop(0)
        if self._pairs_async and len(self._queue) <= PREFETCH_LEFT:
            self._fetch_pairs()  # the next batch while this one is answered
        a, b = self.current
        self.left.set_image(self._load(a))
        self.right.set_image(self._load(b))
        self.left_name.setText(self._name(a))
        self.right_name.setText(self._name(b))
        self.status.setText(self.progress_text())
        self.photoInspected.emit(int(a))

    def _show_no_pair(self, text: str) -> None:
        self.current = None
        self.left.set_image(None)
        self.right.set_image(None)
        self.left_name.setText("")
        self.right_name.setText("")
        self.status.setText(text)

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
        self.next_pair()  # the count changes at once; the check follows from the worker
        self.request_check()

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


def _find_pairs(catalog, n: int, exclude: set, progress=None, cancel=None) -> list[tuple[int, int]]:
    """``n`` pairs to ask about (:func:`core.personal.operations.next_pairs`, the active-learning choice),
    else random pairs of photos that are not rejected; none in ``exclude`` (frozensets)."""
    pairs: list = []
    try:
        from piaa_desktop.core.personal.operations import next_pairs

        pairs = next_pairs(catalog, n)
    except Exception:  # noqa: BLE001 - no prior or no embeddings yet
        pairs = []
    if not pairs:  # fall back to random pairs of photos that are not rejected
        ids = [r[0] for r in catalog.record_rows() if r[5] >= 0]
        if len(ids) < 2:
            return []
        pairs = [tuple(random.sample(ids, 2)) for _ in range(n)]
    return [p for p in pairs if frozenset(p) not in exclude]


def _running_check(catalog, known, progress=None, cancel=None):
    """Worker: :func:`core.personal.operations.running_check` (None without a prior or backbone: no words)."""
    from piaa_desktop.core.personal.operations import running_check

    try:
        return running_check(catalog, known, progress=progress, cancel=cancel)
    except Exception as exc:  # noqa: BLE001 - no prior or backbone model: the count alone is shown
        from piaa_desktop.core.jobs import Cancelled

        if isinstance(exc, Cancelled):
            raise
        return None
