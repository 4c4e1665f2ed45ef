"""File › Export: choose what and how, then run :func:`piaa_desktop.core.export.export_photos` on the
job pool with a progress bar and a Cancel button.

``ExportDialog(catalog, photo_ids=None, settings=None, parent=None, view_ids=None, scope="")``: with
``photo_ids`` (the grid's selection) the dialog offers "the selected photos" besides picks / top N /
top % / at least K stars. With ``view_ids`` (the photos the grid shows: its folder, search or collection
and filters, described by ``scope``) those choices are made among the photos shown, unless the user
picks "the whole library". The dialog says which ranking "best" means ("the best 10 by your personal
score, from folder "lib""). Output: format (JPEG, PNG, 16-bit TIFF or the original file), quality,
colour space (as the original, sRGB, Display P3, Adobe RGB), output sharpening, file-name template and
presets (built-in and the user's own, saved in the settings).
The export runs through the jobs manager on a catalog connection of its own (``with_catalog``). When a
:class:`~piaa_desktop.core.settings.Settings` is given, the export settings are read from it and the
last choices written back (``settings.save()`` is left to the caller).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Optional, Sequence

from PySide6.QtCore import QTimer, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QInputDialog,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop.core.export import (
    DEFAULT_TEMPLATE,
    TEMPLATE_FIELDS,
    apply_preset,
    describe_selection,
    preset_of,
    presets,
    ExportCancelled,
    ExportError,
    ExportOptions,
    ExportReport,
    check_template,
    select_for_export,
)
from piaa_desktop.core.jobs import Cancelled
from piaa_desktop.gui.jobs import default_jobs


CHOOSE_FOLDER = "Choose a folder to export to (Choose…), then Export."
CHECK_DELAY_MS = 250  # the folder is checked once the choices rest this long (typing a path, spinning a number)


class ExportDialog(QDialog):
    exportFinished = Signal(object)  # ExportReport (also for a cancelled export), or the exception

    def __init__(self, catalog, photo_ids: Optional[Sequence[int]] = None, settings=None, parent: Optional[QWidget] = None,
                 jobs=None, view_ids: Optional[Sequence[int]] = None, scope: str = ""):
        super().__init__(parent)
        self.jobs = jobs or default_jobs()  # the window's JobsManager
        self.setObjectName("ExportDialog")
        self.setWindowTitle("Export photos")
        self.catalog = catalog
        self.photo_ids = list(photo_ids or [])
        self.view_ids = list(view_ids) if view_ids is not None else None
        self.scope = scope or ""
        self.settings = settings
        self.handle = None
        self.report: Optional[ExportReport] = None
        # what the folder already holds (core.export.preview_export on a worker, after the choices rest)
        self.preview = None  # (key, ExportPreview) of the last check that came back
        self._check = None  # the check running
        self._check_key = None
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self._start_check)
        self._build()
        self._load_settings()
        self._update()

    # ------------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        lay = QVBoxLayout(self)

        row = QHBoxLayout()
        self.dest_edit = QLineEdit()
        self.dest_edit.setPlaceholderText("Folder to export to")
        self.browse_btn = QPushButton("Choose…")
        self.browse_btn.clicked.connect(self._browse)
        row.addWidget(QLabel("Export to:"))
        row.addWidget(self.dest_edit, 1)
        row.addWidget(self.browse_btn)
        lay.addLayout(row)

        what = QGroupBox("Which photos")
        wl = QVBoxLayout(what)
        r = QHBoxLayout()
        r.addWidget(QLabel("From:"))
        self.from_combo = QComboBox()
        self.from_combo.setObjectName("exportFrom")
        if self.view_ids is not None:
            shown = f"the photos shown ({len(self.view_ids)})" + (f": {self.scope}" if self.scope else "")
            self.from_combo.addItem(shown, "view")
        self.from_combo.addItem("the whole library", "library")
        r.addWidget(self.from_combo, 1)
        wl.addLayout(r)
        self.mode_group = QButtonGroup(self)
        self.rb_selected = QRadioButton(f"The selected photos ({len(self.photo_ids)})")
        self.rb_picks = QRadioButton("Picks")
        self.rb_top = QRadioButton("The best")
        self.rb_percent = QRadioButton("The best percent")
        self.rb_all = QRadioButton("All photos that are not rejected")
        self.top_spin = QSpinBox()
        self.top_spin.setRange(1, 1_000_000)
        self.top_spin.setValue(50)
        self.top_spin.setSuffix(" photos")
        self.percent_spin = QSpinBox()
        self.percent_spin.setRange(1, 100)
        self.percent_spin.setValue(10)
        self.percent_spin.setSuffix(" %")
        for k, rb in enumerate((self.rb_selected, self.rb_picks, self.rb_top, self.rb_percent, self.rb_all)):
            self.mode_group.addButton(rb, k)
        self.rb_selected.setEnabled(bool(self.photo_ids))
        (self.rb_selected if self.photo_ids else self.rb_picks).setChecked(True)
        wl.addWidget(self.rb_selected)
        wl.addWidget(self.rb_picks)
        r = QHBoxLayout()
        r.addWidget(self.rb_top)
        r.addWidget(self.top_spin)
        r.addStretch(1)
        wl.addLayout(r)
        r = QHBoxLayout()
        r.addWidget(self.rb_percent)
        r.addWidget(self.percent_spin)
        r.addStretch(1)
        wl.addLayout(r)
        wl.addWidget(self.rb_all)
        r = QHBoxLayout()
        r.addWidget(QLabel("With at least"))
        self.stars_spin = QSpinBox()
        self.stars_spin.setRange(0, 5)
        self.stars_spin.setSuffix(" stars")
        r.addWidget(self.stars_spin)
        r.addStretch(1)
        wl.addLayout(r)
        self.rejected_cb = QCheckBox("Include rejected photos")
        wl.addWidget(self.rejected_cb)
        self.count_label = QLabel()
        self.count_label.setObjectName("exportCount")
        self.count_label.setWordWrap(True)
        wl.addWidget(self.count_label)
        lay.addWidget(what)

        how = QGroupBox("How")
        form = QFormLayout(how)
        self.edits_cb = QCheckBox("Apply each photo's edits (full resolution)")
        form.addRow(self.edits_cb)
        r = QHBoxLayout()
        self.resize_cb = QCheckBox("Resize to a long edge of")
        self.long_edge_spin = QSpinBox()
        self.long_edge_spin.setRange(16, 100_000)
        self.long_edge_spin.setValue(2048)
        self.long_edge_spin.setSuffix(" px")
        r.addWidget(self.resize_cb)
        r.addWidget(self.long_edge_spin)
        r.addStretch(1)
        form.addRow(r)
        r = QHBoxLayout()
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("exportPreset")
        self.preset_combo.addItem("Presets…", None)
        self.preset_combo.activated.connect(self._preset_chosen)
        self.save_preset_btn = QPushButton("Save as preset…")
        self.save_preset_btn.clicked.connect(self._save_preset)
        r.addWidget(self.preset_combo, 1)
        r.addWidget(self.save_preset_btn)
        form.addRow("Preset:", r)
        from piaa_desktop.core.output import COLOR_SPACES, FORMAT_LABELS, SHARPEN

        self.format_combo = QComboBox()
        for key, label in FORMAT_LABELS.items():
            self.format_combo.addItem(label, key)
        form.addRow("Format:", self.format_combo)
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(92)
        form.addRow("JPEG quality:", self.quality_spin)
        self.color_combo = QComboBox()
        self.color_combo.addItem("As the original (its profile kept)", None)
        for key, label in COLOR_SPACES.items():
            self.color_combo.addItem(label, key)
        form.addRow("Colour space:", self.color_combo)
        self.sharpen_combo = QComboBox()
        for key, label in (("none", "None"), ("screen", "For screen"), ("print", "For print")):
            if key in SHARPEN:
                self.sharpen_combo.addItem(label, key)
        form.addRow("Output sharpening:", self.sharpen_combo)
        self.template_edit = QLineEdit(DEFAULT_TEMPLATE)
        self.template_edit.setToolTip("Fields: " + ", ".join("{" + k + "} " + v for k, v in TEMPLATE_FIELDS.items()))
        form.addRow("File names:", self.template_edit)
        self.template_status = QLabel()
        self.template_status.setObjectName("templateStatus")
        form.addRow("", self.template_status)
        self.xmp_cb = QCheckBox("Write rating and labels into the exported JPEGs (XMP)")
        form.addRow(self.xmp_cb)
        lay.addWidget(how)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.status = QLabel()
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)

        btns = QHBoxLayout()
        btns.addStretch(1)
        self.export_btn = QPushButton("Export")
        self.export_btn.setDefault(True)
        self.export_btn.clicked.connect(self.start_export)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self._cancel_or_close)
        btns.addWidget(self.export_btn)
        btns.addWidget(self.cancel_btn)
        lay.addLayout(btns)

        for w in (self.top_spin, self.percent_spin, self.stars_spin):
            w.valueChanged.connect(self._update)
        self.mode_group.idToggled.connect(lambda *_: self._update())
        self.rejected_cb.toggled.connect(self._update)
        self.resize_cb.toggled.connect(self._update)
        self.template_edit.textChanged.connect(self._update)
        self.dest_edit.textChanged.connect(self._update)
        for combo in (self.from_combo, self.format_combo, self.color_combo, self.sharpen_combo):
            combo.currentIndexChanged.connect(lambda *_: self._update())
        self._fill_presets()

    def _load_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        try:
            self.dest_edit.setText(s.get("export_dir"))
            self.template_edit.setText(s.get("export_template"))
            self.quality_spin.setValue(int(s.get("export_quality")))
            le = int(s.get("export_long_edge"))
            self.resize_cb.setChecked(le > 0)
            if le > 0:
                self.long_edge_spin.setValue(le)
            self.edits_cb.setChecked(bool(s.get("export_edits")))
            self.xmp_cb.setChecked(bool(s.get("export_embed_xmp")))
            self._set_combo(self.format_combo, s.get("export_format"))
            cs = s.get("export_color_space")
            self._set_combo(self.color_combo, None if cs == "original" else cs)
            self._set_combo(self.sharpen_combo, s.get("export_sharpening"))
        except (KeyError, ValueError):
            pass

    def _save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        try:
            s.set("export_dir", self.dest_edit.text().strip())
            s.set("export_template", self.template_edit.text())
            s.set("export_quality", self.quality_spin.value())
            s.set("export_long_edge", self.long_edge_spin.value() if self.resize_cb.isChecked() else 0)
            s.set("export_edits", self.edits_cb.isChecked())
            s.set("export_embed_xmp", self.xmp_cb.isChecked())
            s.set("export_format", self.format_combo.currentData())
            s.set("export_color_space", self.color_combo.currentData() or "original")
            s.set("export_sharpening", self.sharpen_combo.currentData())
        except (KeyError, ValueError):
            pass

    @staticmethod
    def _set_combo(combo: QComboBox, value) -> None:
        k = combo.findData(value)
        if k >= 0:
            combo.setCurrentIndex(k)

    # ------------------------------------------------------------------------------------------ presets
    def _user_presets(self) -> dict:
        try:
            return dict(self.settings.get("export_presets")) if self.settings is not None else {}
        except (KeyError, ValueError, TypeError):
            return {}

    def _fill_presets(self) -> None:
        self.preset_combo.blockSignals(True)
        while self.preset_combo.count() > 1:
            self.preset_combo.removeItem(1)
        for name in presets(self._user_presets()):
            self.preset_combo.addItem(name, name)
        self.preset_combo.setCurrentIndex(0)
        self.preset_combo.blockSignals(False)

    def apply_preset(self, name: str) -> None:
        """Set the output controls from a preset (what to export stays as chosen)."""
        p = presets(self._user_presets())[name]
        o = apply_preset(self.options(), p)
        self._set_combo(self.format_combo, o.format)
        self.quality_spin.setValue(int(o.quality))
        self._set_combo(self.color_combo, o.color_space)
        self._set_combo(self.sharpen_combo, o.sharpening)
        self.resize_cb.setChecked(bool(o.long_edge))
        if o.long_edge:
            self.long_edge_spin.setValue(int(o.long_edge))
        self.edits_cb.setChecked(bool(o.edits))
        self.template_edit.setText(o.template)
        self.xmp_cb.setChecked(bool(o.embed_xmp))
        self.status.setText(f"Preset: {name}")
        self._update()

    def _preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name:
            self.apply_preset(name)
        self.preset_combo.setCurrentIndex(0)

    def save_preset(self, name: str) -> None:
        if self.settings is None or not name.strip():
            return
        user = self._user_presets()
        user[name.strip()] = preset_of(self.options())
        self.settings.set("export_presets", user)
        self._fill_presets()
        self.status.setText(f"Preset “{name.strip()}” saved")

    def _save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name of the preset:")
        if ok and name.strip():
            self.save_preset(name)

    # ------------------------------------------------------------------------------------------ state
    def options(self) -> ExportOptions:
        mode = self.mode_group.checkedId()
        return ExportOptions(
            picks=mode == 1,
            top_n=self.top_spin.value() if mode == 2 else None,
            top_percent=float(self.percent_spin.value()) if mode == 3 else None,
            min_stars=self.stars_spin.value(),
            include_rejected=self.rejected_cb.isChecked(),
            edits=self.edits_cb.isChecked(),
            long_edge=self.long_edge_spin.value() if self.resize_cb.isChecked() else None,
            quality=self.quality_spin.value(),
            template=self.template_edit.text(),
            embed_xmp=self.xmp_cb.isChecked(),
            format=self.format_combo.currentData(),
            color_space=self.color_combo.currentData(),
            sharpening=self.sharpen_combo.currentData(),
            scope=self.scope_text(),
        )

    def within(self) -> Optional[list[int]]:
        """The photos the choice is made among: those shown, or None for the whole library."""
        return self.view_ids if self.from_combo.currentData() == "view" else None

    def scope_text(self) -> str:
        if self.from_combo.currentData() != "view":
            return ""
        return self.scope or f"the {len(self.view_ids or [])} photos shown"

    def describe(self) -> str:
        """What the export takes, in words (the ranking named)."""
        if self.mode_group.checkedId() == 0:
            return f"the {len(self.photo_ids)} selected photos, in grid order"
        if not hasattr(self, "_personal_model"):  # read once: whether the ranking is yours or still the generic one
            from piaa_desktop.core.personal.operations import active_model

            self._personal_model = active_model(self.catalog)[0] is not None
        return describe_selection(self.options(), self.scope_text(), personal_model=self._personal_model)

    def selected_ids(self) -> list[int]:
        opts = self.options()
        if self.mode_group.checkedId() == 0:
            ids = list(self.photo_ids)
            if opts.min_stars or not opts.include_rejected:
                photos = {p.id: p for p in self.catalog.photos(ids)}
                ids = [
                    i for i in ids
                    if i in photos and photos[i].rating >= opts.min_stars
                    and (opts.include_rejected or photos[i].flag >= 0)
                ]
            return ids
        return select_for_export(self.catalog, opts, within=self.within())

    def _update(self) -> None:
        running = self.handle is not None
        self.long_edge_spin.setEnabled(self.resize_cb.isChecked())
        self.quality_spin.setEnabled(self.format_combo.currentData() in ("jpeg", "original"))
        self.top_spin.setEnabled(self.rb_top.isChecked())
        self.percent_spin.setEnabled(self.rb_percent.isChecked())
        ok = True
        try:
            check_template(self.template_edit.text())
            example = self.template_edit.text()
            from piaa_desktop.core.export import _context, render_name

            class _P:
                id, path, capture_time, mtime, rating, camera = 42, "/p/IMG_0042.jpg", "2024-05-01T10:11:12", 0.0, 4, "Camera"

            from piaa_desktop.core.output import FORMATS

            ext = FORMATS.get(self.format_combo.currentData(), ".jpg")
            self.template_status.setText("e.g. " + render_name(example, _context(_P, 1, 0.87)) + ext)
        except ValueError as exc:
            self.template_status.setText(str(exc))
            ok = False
        try:
            ids = self.selected_ids()
            n = len(ids)
            self.count_label.setText(self._count_text(ids))
        except ValueError as exc:
            n = 0
            self.count_label.setText(str(exc))
        except sqlite3.Error as exc:  # the catalog went away (the window is closing)
            n = 0
            self.count_label.setText(f"catalog unavailable: {exc}")
        has_dest = bool(self.dest_edit.text().strip())
        ok = ok and n > 0 and has_dest
        self.export_btn.setEnabled(ok and not running)
        # a greyed Export button says nothing by itself: say what it waits for (and stop saying it once done)
        if not running and n > 0 and not has_dest and not self.status.text():
            self.status.setText(CHOOSE_FOLDER)
        elif has_dest and self.status.text() == CHOOSE_FOLDER:
            self.status.setText("")

    # ------------------------------------------------------------------------------------------ already there?
    def _check_of(self, ids: list[int]) -> Optional[tuple]:
        """What a check of the folder depends on (None: nothing to check)."""
        dest = self.dest_edit.text().strip()
        if not ids or not dest:
            return None
        o = self.options()
        return (tuple(ids), dest, o.template, o.format, o.edits, o.long_edge, o.embed_xmp, o.quality,
                o.color_space, o.sharpening)

    def _count_text(self, ids: list[int]) -> str:
        """'8 photos will be exported: …'; once the folder is checked, how many are already there
        ('8 photos (…): 6 already there (identical files), 2 to export')."""
        n = len(ids)
        plain = f"{n} photo{'s' if n != 1 else ''} will be exported: {self.describe()}"
        key = self._check_of(ids)
        if key is None or self.handle is not None:
            return plain
        if self.preview is not None and self.preview[0] == key:
            p = self.preview[1]
            if p.to_export == p.total:
                return plain
            return p.describe(f"({self.describe()})")
        if key != self._check_key:
            self._check_key = key
            self._check_timer.start()  # checked once the choices rest
        return plain + "\nChecking what the folder already holds…"

    def _start_check(self) -> None:
        key = self._check_key
        if key is None or self.handle is not None:
            return
        if self._check is not None:
            self._check.cancel()
        from piaa_desktop.core.export import preview_export

        job: dict = {}

        def done(preview, key=key) -> None:
            if self._check is job.get("handle"):
                self._check = None
            self.preview = (key, preview)
            if key == self._check_key:
                self._update()

        def failed(exc: BaseException, key=key) -> None:
            if self._check is job.get("handle"):
                self._check = None
            if key == self._check_key and not isinstance(exc, Cancelled):
                self.preview = None
                self.count_label.setText(self.count_label.text().split("\n")[0] + f"\n(The folder could not be checked: {exc})")

        job["handle"] = self._check = self.jobs.submit(
            preview_export, list(key[0]), key[1], self.options(), with_catalog=str(self.catalog.path),
            on_done=done, on_error=failed, name="export-check")

    def checking(self) -> bool:
        """Whether the folder is being checked (until its answer is shown), or will be once the choices rest."""
        return self._check_timer.isActive() or self._check is not None

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to", self.dest_edit.text() or str(Path.home()))
        if d:
            self.dest_edit.setText(d)

    # ------------------------------------------------------------------------------------------ running
    def start_export(self):
        """Start the export in the job pool; returns the job handle (None if nothing to do)."""
        if self.handle is not None:
            return self.handle
        dest = self.dest_edit.text().strip()
        opts = self.options()
        try:
            opts.validate()
            ids = self.selected_ids()
        except ValueError as exc:
            self.status.setText(str(exc))
            return None
        if not ids or not dest:
            self.status.setText("Nothing to export." if not ids else "Choose a folder to export to.")
            return None
        self._save_settings()
        self.report = None
        self.progress.setRange(0, len(ids))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText(f"Exporting {len(ids)} photos…")
        self.cancel_btn.setText("Stop")
        from piaa_desktop.core.export import export_photos  # looked up now (tests hold the worker with a stand-in)

        self.handle = self.jobs.submit(
            export_photos,
            ids,
            dest,
            opts,
            with_catalog=str(self.catalog.path),
            on_done=self._done,
            on_error=self._failed,
            on_progress=self._progress,
            on_finished=self._finished,
            name="export",
        )
        self._update()
        return self.handle

    def _progress(self, done: int, total: int, message: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _done(self, report: ExportReport) -> None:
        self.report = report
        self.preview, self._check_key = None, None  # the folder changed: checked again
        said = report.describe()
        text = said[:1].upper() + said[1:] + "."
        if report.failed or report.skipped:
            text += " See the report for why."
        if report.csv_path:
            text += f"\nReport: {report.csv_path}"
        self.status.setText(text)
        self.exportFinished.emit(report)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ExportCancelled):
            self.report = exc.report
            there = exc.report.already_there
            self.status.setText(f"Export stopped: {exc.report.exported} photos were exported before that"
                                + (f" ({there} already there, skipped)" if there else "")
                                + "; no partial file was left.")
        elif isinstance(exc, Cancelled):
            self.status.setText("Export stopped before any photo was exported.")
        elif isinstance(exc, ExportError):
            self.report = exc.report
            self.status.setText(f"Export failed: {exc}")
        else:
            self.status.setText(f"Export failed: {type(exc).__name__}: {exc}")
        self.exportFinished.emit(exc)

    def _finished(self) -> None:
        self.handle = None
        self.cancel_btn.setText("Close")
        self._update()

    def _cancel_or_close(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.status.setText("Stopping after the current photo…")
        else:
            self.reject()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        self._check_timer.stop()
        if self._check is not None:
            self._check.cancel()
        if self.handle is not None:
            self.handle.cancel()
        super().closeEvent(event)
