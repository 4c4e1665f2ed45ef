"""File › Export: choose what and how, then run :func:`piaa_desktop.core.export.export_photos` on the
job pool with a progress bar and a Cancel button.

``ExportDialog(catalog, photo_ids=None, settings=None, parent=None)``: with ``photo_ids`` (the grid's
selection) the dialog offers "the selected photos" besides picks / top N / top % / at least K stars.
The export runs through the jobs manager on a catalog connection of its own (``with_catalog``). When a
:class:`~piaa_desktop.core.settings.Settings` is given, the export settings are read from it and the
last choices written back (``settings.save()`` is left to the caller).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
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
    ExportCancelled,
    ExportError,
    ExportOptions,
    ExportReport,
    check_template,
    select_for_export,
)
from piaa_desktop.core.jobs import Cancelled
from piaa_desktop.gui.jobs import default_jobs


class ExportDialog(QDialog):
    exportFinished = Signal(object)  # ExportReport (also for a cancelled export), or the exception

    def __init__(self, catalog, photo_ids: Optional[Sequence[int]] = None, settings=None, parent: Optional[QWidget] = None,
                 jobs=None):
        super().__init__(parent)
        self.jobs = jobs or default_jobs()  # the window's JobsManager
        self.setObjectName("ExportDialog")
        self.setWindowTitle("Export photos")
        self.catalog = catalog
        self.photo_ids = list(photo_ids or [])
        self.settings = settings
        self.handle = None
        self.report: Optional[ExportReport] = None
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
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(92)
        form.addRow("JPEG quality:", self.quality_spin)
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
        except (KeyError, ValueError):
            pass

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
        )

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
        return select_for_export(self.catalog, opts)

    def _update(self) -> None:
        running = self.handle is not None
        self.long_edge_spin.setEnabled(self.resize_cb.isChecked())
        self.top_spin.setEnabled(self.rb_top.isChecked())
        self.percent_spin.setEnabled(self.rb_percent.isChecked())
        ok = True
        try:
            check_template(self.template_edit.text())
            example = self.template_edit.text()
            from piaa_desktop.core.export import _context, render_name

            class _P:
                id, path, capture_time, mtime, rating, camera = 42, "/p/IMG_0042.jpg", "2024-05-01T10:11:12", 0.0, 4, "Camera"

            self.template_status.setText("e.g. " + render_name(example, _context(_P, 1, 0.87)) + ".jpg")
        except ValueError as exc:
            self.template_status.setText(str(exc))
            ok = False
        try:
            n = len(self.selected_ids())
            self.count_label.setText(f"{n} photo{'s' if n != 1 else ''} will be exported")
        except ValueError as exc:
            n = 0
            self.count_label.setText(str(exc))
        except sqlite3.Error as exc:  # the catalog went away (the window is closing)
            n = 0
            self.count_label.setText(f"catalog unavailable: {exc}")
        ok = ok and n > 0 and bool(self.dest_edit.text().strip())
        self.export_btn.setEnabled(ok and not running)

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
        text = f"Exported {report.exported} of {len(report.rows)} photos to {report.dest}."
        if report.failed or report.skipped:
            text += f" {report.failed} failed, {report.skipped} skipped (see the report)."
        if report.csv_path:
            text += f"\nReport: {report.csv_path}"
        self.status.setText(text)
        self.exportFinished.emit(report)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ExportCancelled):
            self.report = exc.report
            self.status.setText(f"Export stopped: {exc.report.exported} photos were exported before that; "
                                "no partial file was left.")
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
        if self.handle is not None:
            self.handle.cancel()
        super().closeEvent(event)
