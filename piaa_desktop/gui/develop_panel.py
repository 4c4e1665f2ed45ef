"""The develop panel: global adjustments, crop and straighten, before/after, copy/paste, history and
auto-enhance.

``DevelopPanel(catalog, undo_stack)`` is self-contained; the main window calls :meth:`set_photos` when
the selection changes (the first id is the active photo; its cached proxy is rendered off the GUI thread
for :attr:`last_rendered` and the crop's score hint) and listens to :attr:`editsChanged` (a list of photo
ids). The photo itself is developed on the large loupe, whose histogram follows every change:
:attr:`liveEdit` ``(photo id, params)`` carries every unsaved change for the loupe to render at once,
:attr:`cropModeChanged` / :attr:`levelModeChanged` switch the loupe's crop overlay
(:mod:`piaa_desktop.gui.crop_tool`), whose drags come back through :meth:`set_geometry` and
:meth:`add_angle`.

* Sliders come from the parameter registry (``core.develop.REGISTRY``, ``slider=True``), grouped as
  tone, colour and geometry: a new parameter there is a new slider here.
* Crop: free or a fixed ratio (original, 1:1, 4:5, 3:2, 16:9...), with the crop's score (personal when
  a personal model exists, else generic) shown against the whole photo's as a hint; straighten with the
  angle slider or by drawing a level line; rotate 90 degrees left/right and flip. Geometry changes the
  active photo only (not the rest of a selection) and is not pasted.

* Edits persist immediately: a slider change is written to the catalog (source ``user``) when the
  slider is released, or 350 ms after the last keyboard/wheel step, as one undoable Change.
* With several photos selected, moving a slider sets that slider on all of them (their other settings
  stay); Paste writes the copied settings to all of them.
* ``\\`` toggles before/after; Ctrl+Shift+A auto-enhance. Copy/Paste (the buttons here; Ctrl+Shift+C /
  Ctrl+Shift+V are the window's Edit menu actions, gui/features/develop.py) copy tone and colour, not the crop.
* Preview renders run on a QThreadPool when the proxy is large, newest request wins.
"""
from __future__ import annotations

import json
import time
from typing import Optional, Sequence

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop.core import develop
from piaa_desktop.core.catalog import Change

INLINE_RENDER_PIXELS = 0  # proxies up to this size render on the GUI thread (0: every render on the pool)


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    a = rgb if rgb.dtype == np.uint8 else (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    a = np.ascontiguousarray(a[..., :3])
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _RenderSignals(QObject):
    done = Signal(int, object)


class _RenderTask(QRunnable):
    def __init__(self, gen: int, rgb: np.ndarray, params: dict, signals: _RenderSignals):
        super().__init__()
        self.gen, self.rgb, self.params, self.signals = gen, rgb, params, signals

    def run(self) -> None:
        try:
            out = develop.render(self.rgb, self.params)
        except Exception:  # noqa: BLE001 - a failed preview must not take the app down
            out = None
        self.signals.done.emit(self.gen, out)


# Who made a history step, as the list says it ("user": the photographer, said by nothing).
HISTORY_SOURCES = {"user": "", "auto": "Auto-enhance: "}


def history_words(changed: dict) -> list[str]:
    """A history step's changes in the panel's words: "Exposure +0.35", "Straighten +2°", "Crop" (four crop edges
    are one crop), "Rotate", "Flip"; not the stored names ("crop_top +0.0781")."""
    labels = {q.name: q.label for q in develop.REGISTRY}
    out: list[str] = []
    for name, v in changed.items():
        if name.startswith("crop_"):
            if "Crop" not in out:
                out.append("Crop")
        elif name == "angle":
            out.append(f"Straighten {v:+.3g}°")
        elif name == "rotate":
            out.append("Rotate")
        elif name == "flip":
            out.append("Flip")
        else:
            out.append(f"{labels.get(name, name)} {v:+.3g}")
    return out


class CopySettingsDialog(QDialog):
    """Edit › Copy develop settings, choose… (Lightroom's Copy Settings dialog): which groups of the current
    photo's settings to copy, each with the settings it holds. Tone and colour are checked, the crop is not."""

    def __init__(self, photo_name: str, checked: Sequence[str] = develop.DEFAULT_COPY_GROUPS,
                 parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("CopySettingsDialog")
        self.setWindowTitle("Copy develop settings")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Copy from {photo_name}:"))
        labels: dict[str, list[str]] = {g: [] for g in develop.COPY_GROUPS}
        for q in develop.REGISTRY:
            text = q.label.split(" (")[0]
            if q.name.startswith("crop_"):
                text = "Crop"
            if text not in labels[q.group]:
                labels[q.group].append(text)
        self.boxes: dict[str, QCheckBox] = {}
        for group, words in develop.COPY_GROUPS.items():
            title = {"geometry": "Crop and straighten (also quarter turns and flip)"}.get(group, words.capitalize())
            cb = QCheckBox(title)
            cb.setChecked(group in checked)
            cb.toggled.connect(self._update)
            hint = QLabel(", ".join(labels[group]))
            hint.setObjectName("Hint")
            hint.setWordWrap(True)
            hint.setContentsMargins(24, 0, 0, 6)
            lay.addWidget(cb)
            lay.addWidget(hint)
            self.boxes[group] = cb
        note = QLabel("As in Lightroom the crop is not copied unless you tick it: each photo keeps its own framing.")
        note.setWordWrap(True)
        lay.addWidget(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.copy_button = self.buttons.addButton("Copy", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self._update()

    def groups(self) -> tuple[str, ...]:
        return tuple(g for g, cb in self.boxes.items() if cb.isChecked())

    def _update(self, *_args) -> None:
        self.copy_button.setEnabled(bool(self.groups()))


class ParamSlider(QWidget):
    """A labelled slider over one develop parameter (integer ticks of ``param.step``)."""

    valueChanged = Signal(str, float)
    committed = Signal(str)

    def __init__(self, param: develop.Param, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.param = param
        self._scale = 1.0 / param.step
        self.label = QLabel(param.label)
        self.value_label = QLabel()
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setMinimumWidth(44)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(param.min * self._scale), round(param.max * self._scale))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(max(1, round(10 * param.step * self._scale)) if param.step < 1 else 10)
        self.slider.setToolTip(f"{param.label} ({param.min:g} to {param.max:g}); double-click the label to reset")
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 0, 0)
        lay.addWidget(self.value_label, 0, 1)
        lay.addWidget(self.slider, 1, 0, 1, 2)
        self.slider.valueChanged.connect(self._changed)
        self.slider.sliderReleased.connect(lambda: self.committed.emit(self.param.name))
        self.set_value(param.default)

    def value(self) -> float:
        return round(self.slider.value() / self._scale, 4)

    def set_value(self, v: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(self.param.clamp(v) * self._scale))
        self.slider.blockSignals(False)
        self._show()

    def _show(self) -> None:
        v = self.value()
        self.value_label.setText(f"{v:+.2f}" if self.param.step < 1 else f"{v:+.0f}")

    def _changed(self, _raw: int) -> None:
        self._show()
        self.valueChanged.emit(self.param.name, self.value())

    def mouseDoubleClickEvent(self, event) -> None:  # reset this slider
        self.slider.setValue(round(self.param.default * self._scale))
        self.committed.emit(self.param.name)


class DevelopPanel(QWidget):
    """Develop sliders and preview for the selected photos (see the module docstring)."""

    editsChanged = Signal(list)
    message = Signal(str)
    liveEdit = Signal(int, object)  # (photo id, params) not yet written: the loupe shows them at once
    liveEnded = Signal(int)
    cropModeChanged = Signal(bool)
    levelModeChanged = Signal(bool)
    geometryChanged = Signal()  # crop/turn/ratio changed: the crop overlay follows

    def __init__(self, catalog, undo_stack, parent: Optional[QWidget] = None, paths=None, jobs=None):
        super().__init__(parent)
        self.catalog = catalog
        self.undo_stack = undo_stack
        self.paths = paths
        self.jobs = jobs  # the window's JobsManager (gui.jobs.default_jobs() when used alone)
        self.ids: list[int] = []
        self.params: dict = develop.default_params()
        self.preview_rgb: Optional[np.ndarray] = None
        self.clipboard: Optional[dict] = None
        self.clipboard_from: Optional[int] = None  # the photo the copy came from
        self.show_before = False
        self._pending: set[str] = set()
        self._gen = 0
        self._shown_gen = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._rsig = _RenderSignals()
        self._rsig.done.connect(self._render_done)
        self._auto_job = None
        self._hint_job = None
        self._hint_again = False
        self.last_hint: Optional[dict] = None
        self.last_rendered: Optional[np.ndarray] = None
        self.status = QLabel()
        self.status.setWordWrap(True)

        self.before_btn = QPushButton("Before/After (\\)")
        self.before_btn.setCheckable(True)
        self.before_btn.toggled.connect(self.set_before)
        self.reset_btn = QPushButton("Reset")
        self.reset_btn.clicked.connect(self.reset)
        self.copy_btn = QPushButton("Copy")
        self.copy_btn.setToolTip("Copy this photo's tone and colour settings, not its crop (Ctrl+Shift+C)")
        self.copy_btn.clicked.connect(lambda _checked=False: self.copy_settings())
        self.paste_btn = QPushButton("Paste")
        self.paste_btn.setToolTip("Paste the copied settings onto the selected photos; each keeps its own crop "
                                  "(Ctrl+Shift+V)")
        self.paste_btn.clicked.connect(lambda _checked=False: self.paste_settings())
        self.auto_btn = QPushButton("Auto-enhance")
        self.auto_btn.setToolTip("Let the enhancer (trained on your own edits when you have some) develop the selection")
        self.auto_btn.clicked.connect(self.auto_enhance)
        self.undo_btn = QPushButton("Undo")
        self.undo_btn.clicked.connect(self.undo)

        buttons = QGridLayout()
        for k, b in enumerate((self.before_btn, self.reset_btn, self.copy_btn, self.paste_btn, self.auto_btn, self.undo_btn)):
            buttons.addWidget(b, k // 3, k % 3)

        self.sliders: dict[str, ParamSlider] = {}
        sl_host = QWidget()
        sl_lay = QVBoxLayout(sl_host)
        group = None
        for p in develop.REGISTRY:
            if not p.slider:
                continue
            if p.group != group:
                group = p.group
                head = QLabel(group.capitalize())
                head.setStyleSheet("font-weight: 600; color: #9aa3b2; padding-top: 4px;")
                sl_lay.addWidget(head)
            s = ParamSlider(p)
            s.valueChanged.connect(self._slider_moved)
            s.committed.connect(self._commit_now)
            self.sliders[p.name] = s
            sl_lay.addWidget(s)
        sl_lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(sl_host)

        self.history = QListWidget()
        self.history.setMaximumHeight(80)
        self.history.setToolTip("Edit history of the active photo: double-click a step to go back to it")
        self.history.itemDoubleClicked.connect(self._history_restore)

        geo = QGroupBox("Crop and straighten")
        g = QGridLayout(geo)
        self.crop_btn = QPushButton("Crop (Shift+R)")
        self.crop_btn.setCheckable(True)
        self.crop_btn.setToolTip("Frame the photo on the loupe: drag the corners, the edges or the inside")
        self.crop_btn.toggled.connect(self.set_crop_mode)
        self.ratio_box = QComboBox()
        for name, _r in develop.ASPECT_RATIOS:
            self.ratio_box.addItem(name)
        self.ratio_box.setToolTip("Crop ratio: free, the photo's own, or a fixed one")
        self.ratio_box.currentIndexChanged.connect(self._ratio_changed)
        self.level_btn = QPushButton("Level line")
        self.level_btn.setCheckable(True)
        self.level_btn.setToolTip("Draw a line along the horizon (or a vertical) on the loupe: the photo turns to make it level")
        self.level_btn.toggled.connect(self.set_level_mode)
        self.left_btn = QPushButton("⟲ 90°")
        self.left_btn.setToolTip("Rotate left (Ctrl+[)")
        self.left_btn.clicked.connect(lambda: self.turn(-1))
        self.right_btn = QPushButton("⟳ 90°")
        self.right_btn.setToolTip("Rotate right (Ctrl+])")
        self.right_btn.clicked.connect(lambda: self.turn(1))
        self.flip_btn = QPushButton("Flip")
        self.flip_btn.setToolTip("Mirror left-right")
        self.flip_btn.clicked.connect(self.flip)
        self.geo_reset_btn = QPushButton("Reset crop")
        self.geo_reset_btn.clicked.connect(self.reset_geometry)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setToolTip("The aesthetic score of the cropped photo against the whole one (a hint, not a rule)")
        g.addWidget(self.crop_btn, 0, 0)
        g.addWidget(self.ratio_box, 0, 1)
        g.addWidget(self.level_btn, 0, 2)
        g.addWidget(self.left_btn, 1, 0)
        g.addWidget(self.right_btn, 1, 1)
        g.addWidget(self.flip_btn, 1, 2)
        g.addWidget(self.geo_reset_btn, 2, 0)
        # the hint on its own row, the tools' whole width: beside "Reset crop" it wrapped to three lines that the
        # group's rows cut at the top and bottom; two lines are reserved so the panel does not jump when it comes
        g.addWidget(self.hint, 3, 0, 1, 3)
        self.hint.setMinimumHeight(2 * self.hint.fontMetrics().lineSpacing())
        self._hint_timer = QTimer(self)
        self._hint_timer.setSingleShot(True)
        self._hint_timer.setInterval(400)
        self._hint_timer.timeout.connect(self.update_hint)

        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(geo)
        lay.addWidget(scroll, 4)
        lay.addWidget(QLabel("History"))
        lay.addWidget(self.history)
        lay.addWidget(self.status)

        self._commit_timer = QTimer(self)
        self._commit_timer.setSingleShot(True)
        self._commit_timer.setInterval(350)
        self._commit_timer.timeout.connect(self.commit)

        for seq, fn in (
            ("\\", self.before_btn.toggle),
            ("Ctrl+Shift+A", self.auto_enhance),
        ):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        self._update_enabled()

    # ------------------------------------------------------------------ selection
    def set_photos(self, ids: list[int], preview_rgb: Optional[np.ndarray]) -> None:
        """Show the develop settings of ``ids[0]`` and its proxy (uint8 or float RGB, or None)."""
        self.commit()
        self.ids = [int(i) for i in ids]
        self.preview_rgb = None if preview_rgb is None else develop.to_float(preview_rgb)
        self._load_params()
        self._update_enabled()
        self._refresh_history()
        self.update_preview()
        self.geometryChanged.emit()
        self.last_hint = None
        self.hint.setText("")
        if self.crop_btn.isChecked():
            self._hint_timer.start()

    def _load_params(self) -> None:
        stored = self.catalog.get_edit(self.ids[0]) if self.ids else None
        try:
            self.params = develop.normalize_params(stored)
        except ValueError:
            self.params = develop.default_params()
            self.message.emit("this photo's stored develop settings were unreadable; showing defaults")
        for name, s in self.sliders.items():
            s.set_value(self.params[name])
        self.geometryChanged.emit()

    def _update_enabled(self) -> None:
        on = bool(self.ids)
        for w in (self.before_btn, self.reset_btn, self.copy_btn, self.auto_btn, *self.sliders.values(), self.crop_btn,
                  self.ratio_box, self.level_btn, self.left_btn, self.right_btn, self.flip_btn, self.geo_reset_btn):
            w.setEnabled(on)
        self.paste_btn.setEnabled(on and self.clipboard is not None)
        self.undo_btn.setEnabled(self.undo_stack.can_undo())
        n = len(self.ids)
        self.status.setText("" if n <= 1 else f"{n} photos selected: changes apply to all of them")

    # ------------------------------------------------------------------ preview
    def set_before(self, on: bool) -> None:
        self.show_before = bool(on)
        if self.before_btn.isChecked() != self.show_before:
            self.before_btn.setChecked(self.show_before)
        self.update_preview()
        if self.ids:
            if self.show_before:
                self.liveEdit.emit(self.ids[0], {})
            else:
                self.liveEnded.emit(self.ids[0])

    def update_preview(self) -> None:
        """Render the proxy with the current settings (off the GUI thread)."""
        if self.preview_rgb is None:
            self.last_rendered = None
            return
        self._gen += 1
        if self.show_before:
            self._show(self.preview_rgb, self._gen)
            return
        if self.preview_rgb.shape[0] * self.preview_rgb.shape[1] <= INLINE_RENDER_PIXELS:
            self._show(develop.render(self.preview_rgb, self.params), self._gen)
        else:
            self._pool.start(_RenderTask(self._gen, self.preview_rgb, dict(self.params), self._rsig))

    def _render_done(self, gen: int, out) -> None:
        if out is not None and gen >= self._shown_gen and gen == self._gen:
            self._show(out, gen)

    def _show(self, rgb: np.ndarray, gen: int) -> None:
        self._shown_gen = gen
        self.last_rendered = rgb

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Write pending edits and stop background work (call before closing the catalog)."""
        self.commit()
        self._commit_timer.stop()
        self._pool.waitForDone(wait_ms)
        self._hint_timer.stop()
        if self._hint_job is not None:
            self._hint_job.cancel()
        if self._auto_job is not None:
            self._auto_job.cancel()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def wait_for_render(self, ms: int = 5000) -> None:
        """Tests: block until background renders are done and delivered."""
        from PySide6.QtCore import QCoreApplication

        self._pool.waitForDone(ms)
        QCoreApplication.processEvents()
        t0 = time.monotonic()
        while self._shown_gen != self._gen and time.monotonic() - t0 < ms / 1000:
            QCoreApplication.processEvents()
            time.sleep(0.002)

    # ------------------------------------------------------------------ editing
    def _slider_moved(self, name: str, value: float) -> None:
        self.params[name] = value
        self._pending.add(name)
        self.update_preview()
        self._emit_live()
        if name in develop.GEOMETRY_NAMES:
            self.geometryChanged.emit()
        if not any(s.slider.isSliderDown() for s in self.sliders.values()):
            self._commit_timer.start()

    def _commit_now(self, name: str) -> None:
        self._pending.add(name)
        self.commit()

    def commit(self) -> Optional[Change]:
        """Write the pending slider changes to the catalog (one undoable Change for the selection)."""
        self._commit_timer.stop()
        if not self._pending or not self.ids:
            self._pending.clear()
            return None
        names = set(self._pending)
        self._pending.clear()
        after = {}
        for pid in self.ids:
            if pid == self.ids[0]:
                p = dict(self.params)
            else:
                if not names - set(develop.GEOMETRY_NAMES):
                    continue  # geometry is the active photo's own
                try:
                    p = develop.normalize_params(self.catalog.get_edit(pid))
                except ValueError:
                    p = develop.default_params()
                for n in names:
                    if n not in develop.GEOMETRY_NAMES:
                        p[n] = self.params[n]
            after[pid] = None if develop.is_identity(p) else p
        change = self._write(after)
        if names & set(develop.GEOMETRY_NAMES) and self.crop_btn.isChecked():
            self._hint_timer.start()
        return change

    def _write(self, after: dict, source: str = "user") -> Optional[Change]:
        if source == "user":
            change = self.catalog.apply_change(Change("edit", "params", list(after), after=after))
        else:
            change = Change("edit", "params", [], {}, {})
            for pid, p in after.items():
                ch = self.catalog.set_edit([pid], p, source=source)
                change.photo_ids.extend(ch.photo_ids)
                change.before.update(ch.before)
                change.after.update(ch.after)
        self.undo_stack.push(change)
        self._refresh_history()
        self._update_enabled()
        self.editsChanged.emit(list(change.photo_ids))
        return change

    def set_params(self, params: Optional[dict]) -> None:
        """Set all sliders of the active photo (does not write: call :meth:`commit`)."""
        self.params = develop.normalize_params(params)
        for name, s in self.sliders.items():
            s.set_value(self.params[name])
        self._pending.update(develop.default_params())
        self.update_preview()
        self._emit_live()
        self.geometryChanged.emit()

    def _emit_live(self) -> None:
        if self.ids and not self.show_before:
            self.liveEdit.emit(self.ids[0], dict(self.params))

    # ------------------------------------------------------------------ geometry
    def set_crop_mode(self, on: bool) -> None:
        """Crop tool on the loupe on/off (Shift+R in the main window)."""
        if self.crop_btn.isChecked() != bool(on):
            self.crop_btn.setChecked(bool(on))
            return
        if not on and self.level_btn.isChecked():
            self.level_btn.setChecked(False)
        self.cropModeChanged.emit(bool(on))
        self.geometryChanged.emit()
        if on:
            self._hint_timer.start()

    def set_level_mode(self, on: bool) -> None:
        if on and not self.crop_btn.isChecked():
            self.crop_btn.setChecked(True)
        self.levelModeChanged.emit(bool(on))

    def photo_size(self) -> Optional[tuple[int, int]]:
        """(width, height) of the active photo as shown before our geometry (EXIF-oriented)."""
        if not self.ids:
            return None
        ph = self.catalog.photo(self.ids[0])
        if ph is not None and ph.width and ph.height:
            return int(ph.width), int(ph.height)
        if self.preview_rgb is not None:
            return self.preview_rgb.shape[1], self.preview_rgb.shape[0]
        return None

    def ratio(self) -> Optional[float]:
        """The crop ratio chosen (width / height in pixels of the turned photo), None for free."""
        r = develop.ASPECT_RATIOS[max(0, self.ratio_box.currentIndex())][1]
        if r == "original":
            size = self.photo_size()
            if size is None:
                return None
            W, H = develop.oriented_size(size[0], size[1], self.params)
            return W / H
        return r

    def _ratio_changed(self, _index: int) -> None:
        r = self.ratio()
        size = self.photo_size()
        if r is not None and size is not None and self.ids:
            self.set_geometry(develop.crop_to_ratio(self.params, size[0], size[1], r), commit=True)
        self.geometryChanged.emit()

    def set_geometry(self, params: dict, commit: bool = True) -> None:
        """Take the geometry parameters of ``params`` (a crop drag, a turn); write them when ``commit``."""
        if not self.ids:
            return
        n = develop.normalize_params(params)
        for k in develop.GEOMETRY_NAMES:
            if self.params.get(k) != n[k]:
                self.params[k] = n[k]
                self._pending.add(k)
        if "angle" in self.sliders:
            self.sliders["angle"].set_value(self.params["angle"])
        self.update_preview()
        self._emit_live()
        self.geometryChanged.emit()
        if commit:
            self.commit()

    def add_angle(self, delta: float) -> None:
        """Straighten by ``delta`` more degrees (the level-line tool)."""
        p = dict(self.params)
        p["angle"] = max(-45.0, min(45.0, p["angle"] + float(delta)))
        self.set_geometry(p)
        self.message.emit(f"straightened by {delta:+.1f}°")

    def turn(self, quarter_turns: int) -> None:
        self.set_geometry(develop.turn(self.params, quarter_turns))

    def flip(self) -> None:
        self.set_geometry(develop.flip_horizontal(self.params))

    def reset_geometry(self) -> None:
        p = dict(self.params)
        for q in develop.GEOMETRY_PARAMS:
            p[q.name] = q.default
        self.ratio_box.setCurrentIndex(0)
        self.set_geometry(p)

    def update_hint(self) -> None:
        """Score the crop against the whole photo in the background (a hint shown under the tools)."""
        if not self.ids or self.preview_rgb is None:
            return
        if self._hint_job is not None:
            self._hint_again = True
            return
        from piaa_desktop.core.crop_score import crop_hint
        from piaa_desktop.gui.jobs import default_jobs

        thumb = (np.clip(self.preview_rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
        cat_path = getattr(self.paths, "catalog", None) if self.paths is not None else None
        pid = self.ids[0]
        # through the jobs manager: a result arriving after the window closed is dropped
        self._hint_job = (self.jobs or default_jobs()).submit(
            crop_hint, thumb, dict(self.params), cat_path,
            on_done=lambda r, pid=pid: self._hint_done(pid, r),
            on_error=lambda exc, pid=pid: self._hint_done(pid, None, exc),
            name="crop-hint",
        )

    def _hint_done(self, pid: int, result: Optional[dict], exc: Optional[BaseException] = None) -> None:
        from piaa_desktop.gui.compare_view import shiboken_valid

        self._hint_job = None
        if not shiboken_valid(self) or not shiboken_valid(self.hint):
            return
        if result is not None and self.ids and self.ids[0] == pid:
            self.last_hint = result
            who = "your personal score" if result["kind"] == "personal" else "generic score"
            d = result["crop"] - result["whole"]
            verdict = "better" if d > 0.05 else "worse" if d < -0.05 else "about the same"
            self.hint.setText(f"Crop {result['crop']:.2f} vs whole {result['whole']:.2f} ({who}): {verdict}")
        elif exc is not None:
            self.hint.setText("No score hint (the scoring model is not available)")
        if self._hint_again:
            self._hint_again = False
            self.update_hint()

    def wait_for_hint(self, ms: int = 60000) -> bool:
        """Tests: process events until the crop hint job has delivered."""
        from PySide6.QtCore import QCoreApplication

        t0 = time.monotonic()
        while (self._hint_job is not None or self._hint_timer.isActive()) and time.monotonic() - t0 < ms / 1000:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        return self._hint_job is None

    def reset(self) -> None:
        """Clear the develop settings of the selection."""
        if not self.ids:
            return
        self.commit()
        self._write({pid: None for pid in self.ids})
        self._load_params()
        self.update_preview()

    def copy_settings(self, pid: Optional[int] = None,
                      groups: Sequence[str] = develop.DEFAULT_COPY_GROUPS) -> Optional[dict]:
        """Copy the develop settings of ``pid`` (default: the active photo) in ``groups`` (tone and colour:
        as in Lightroom, not the crop) to :attr:`clipboard`; the active photo's unsaved changes count."""
        if pid is None:
            if not self.ids:
                return None
            pid = self.ids[0]
        if self.ids and pid == self.ids[0]:
            self.commit()
            params = self.params
        else:
            try:
                params = develop.normalize_params(self.catalog.get_edit(pid))
            except ValueError:
                self.message.emit("this photo's stored develop settings are unreadable: nothing copied")
                return None
        self.clipboard = develop.copy_params(params, groups)
        self.clipboard_from = int(pid)
        self._update_enabled()
        self.message.emit(f"Copied the develop settings ({self.clipboard_words()})")
        return self.clipboard

    def clipboard_words(self) -> str:
        """What the copy holds, in words: 'tone and colour; not the crop'."""
        if self.clipboard is None:
            return ""
        words = develop.copied_groups(self.clipboard)
        text = " and ".join(words) if len(words) <= 2 else ", ".join(words[:-1]) + " and " + words[-1]
        if "crop" not in words:
            text += "; not the crop"
        return text

    def paste_settings(self, ids: Optional[Sequence[int]] = None, copied: Optional[dict] = None) -> Optional[Change]:
        """Paste ``copied`` (default: :attr:`clipboard`) onto ``ids`` (default: the panel's photos) as one
        undoable change; each photo keeps what the copy does not hold (its own crop, by default)."""
        ids = [int(i) for i in (self.ids if ids is None else ids)]
        copied = self.clipboard if copied is None else copied
        if not ids or copied is None:
            return None
        self.commit()
        after = {pid: develop.paste_params(self.catalog.get_edit(pid), copied) for pid in ids}
        change = self._write(after)
        if self.ids and self.ids[0] in after:
            self._load_params()
            self.update_preview()
            self._emit_live()
        n = len(ids)
        self.message.emit(f"Pasted settings onto {n} photo{'s' if n != 1 else ''}")
        return change

    def undo(self) -> None:
        self.commit()
        ch = self.undo_stack.undo()
        if ch is not None:
            self._load_params()
            self.update_preview()
            self._refresh_history()
            self.editsChanged.emit(list(ch.photo_ids))
        self._update_enabled()

    # ------------------------------------------------------------------ history
    def _refresh_history(self) -> None:
        self.history.clear()
        if not self.ids:
            return
        rows = self.catalog.edit_history(self.ids[0], limit=51)
        parsed = []
        for params, source, created in rows:
            try:
                p = json.loads(params) if params else None
                parsed.append((p, source, created, develop.normalize_params(p)))
            except ValueError:
                continue
        for k, (p, source, created, n) in enumerate(parsed[:50]):
            # each step says what it changed from the step before (newest first)
            older = parsed[k + 1][3] if k + 1 < len(parsed) else develop.default_params()
            changed = {q: v for q, v in n.items() if abs(v - older[q]) >= 1e-9}
            words = history_words(changed) if p else ["Reset"]
            text = ", ".join(words[:3]) or "no change"
            if len(words) > 3:
                text += ", ..."
            who = HISTORY_SOURCES.get(source, f"{source}: ")
            item = QListWidgetItem(f"{time.strftime('%H:%M:%S', time.localtime(created))}  {who}{text}")
            item.setToolTip(who + ", ".join(words))
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.history.addItem(item)

    def _history_restore(self, item: QListWidgetItem) -> None:
        p = item.data(Qt.ItemDataRole.UserRole)
        if not self.ids:
            return
        self._write({self.ids[0]: p})
        self._load_params()
        self.update_preview()

    # ------------------------------------------------------------------ auto-enhance
    def auto_enhance(self) -> None:
        """Auto-enhance the selection in the background; the result lands as editable settings."""
        if not self.ids or self._auto_job is not None:
            return
        self.commit()
        from piaa_desktop.gui.jobs import default_jobs

        photos = [(pid, ph.path) for pid in self.ids if (ph := self.catalog.photo(pid)) is not None]
        self.auto_btn.setEnabled(False)
        self.message.emit("auto-enhancing...")
        self._auto_job = (self.jobs or default_jobs()).submit(
            _auto_params_job,
            photos,
            self.paths,
            on_done=self._auto_done,
            on_error=self._auto_failed,
            name="auto-enhance",
        )

    def _auto_done(self, result: tuple) -> None:
        from piaa_desktop.core.enhance.env import merge_params

        self._auto_job = None
        self._update_enabled()
        result, source = result
        if not result:
            self.message.emit("auto-enhance: no photo could be read")
            return
        # the enhancer sets tone and colour only: crop, rotation and other settings stay as they were
        self._write({pid: merge_params(self.catalog.get_edit(pid), p) for pid, p in result.items()}, source="auto")
        self._load_params()
        self.update_preview()
        if source == "personal":
            self.message.emit(f"auto-enhanced {len(result)} photo(s) with your retouching style: adjust the sliders "
                              "to teach it your taste")
        else:
            self.message.emit(f"auto-enhanced {len(result)} photo(s) with the generic model: develop a few photos "
                              "yourself, then Photo > Learn my retouching style")

    def _auto_failed(self, exc: BaseException) -> None:
        self._auto_job = None
        self._update_enabled()
        self.message.emit(f"auto-enhance failed: {exc}")
        self.status.setText(f"Auto-enhance failed: {exc}")

    def wait_for_auto(self, ms: int = 30000) -> bool:
        """Tests: process events until the auto-enhance job has delivered its result."""
        from PySide6.QtCore import QCoreApplication, QElapsedTimer

        t = QElapsedTimer()
        t.start()
        while self._auto_job is not None and t.elapsed() < ms:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        return self._auto_job is None


def _auto_params_job(photos: list[tuple[int, str]], paths, progress=None, cancel=None) -> dict:
    """Worker: parameters for each (id, path) with the personal (else shipped) enhancer; no catalog access."""
    from piaa_desktop.core.enhance.operations import PROXY_SIDE, _load_proxy
    from piaa_desktop.core.enhance.model import load_enhancer
    from piaa_desktop.core.imageio import ImageError
    from piaa_desktop.core.jobs import ensure

    progress, cancel = ensure(progress, cancel)
    model = load_enhancer(paths)
    out = {}
    for k, (pid, path) in enumerate(photos):
        cancel.raise_if_cancelled()
        try:
            rgb = _load_proxy(path, PROXY_SIDE)
        except (ImageError, OSError):
            continue
        out[pid] = model.enhance(rgb)
        progress(k + 1, len(photos), "auto-enhance")
    return out, model.meta.get("source", "shipped")
