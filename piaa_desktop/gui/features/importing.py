"""Import: a folder in the background (progress, cancel, a queue), the skipped files, start-up recovery
(interrupted imports offered for resume) and the first-run welcome with the sample library.

The import runs :func:`piaa_desktop.core.sync.import_library` (the same as ``piaa scan``) through the
window's jobs manager, on a catalog connection of its own.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QProgressBar, QToolButton

from piaa_desktop import APP_NAME
from piaa_desktop.core.jobs import CancelToken, Cancelled
from piaa_desktop.gui.features.base import Feature
from piaa_desktop.gui.jobs import JobHandle


class ImportFeature(Feature):
    name = "importing"

    def __init__(self, win):
        super().__init__(win)
        self._import_handle: Optional[JobHandle] = None
        self._import_queue: list[str] = []
        self._import_folder: Optional[str] = None
        self._last_incremental = 0.0
        self._interrupted: list[dict] = []
        self.last_import_result = None
        self.recovery_report = None
        self._build_actions()
        self._build_status_widgets()
        self._check_interrupted_jobs()

    # ------------------------------------------------------------------ construction
    def _build_actions(self) -> None:
        w = self.win
        A = w.add_action
        self.act_import = A("&Import folder…", self.ask_import_folder, "Ctrl+I", "Import a folder of photos (sub-folders included)")
        self.act_cancel_import = A("Cancel import", self.cancel_import, None, "Stop the running import (what is done is kept)")
        self.act_cancel_import.setEnabled(False)
        self.act_skipped = A("&Skipped files…", self.show_skipped_files, None, "Files the imports could not use, and why")
        file_menu = w.menu("file")
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertAction(first, self.act_import)
        file_menu.insertAction(first, self.act_cancel_import)
        w.menu("view").addSeparator()
        w.menu("view").addAction(self.act_skipped)
        imp = QToolButton(w)
        imp.setDefaultAction(self.act_import)
        imp.setText("Import…")
        imp.setToolTip("Import a folder (Ctrl+I)")
        imp.setStyleSheet(
            "QToolButton { background-color: #3b76d9; border: 1px solid #4f8df5; color: white;"
            " padding: 4px 12px; border-radius: 5px; }"
            "QToolButton:hover { background-color: #4f8df5; }"
        )
        w.add_toolbar_widget(imp, first=True)

    def _build_status_widgets(self) -> None:
        w = self.win
        self.skipped_button = QToolButton(w)
        self.skipped_button.setAutoRaise(True)
        self.skipped_button.setStyleSheet("QToolButton { color: #e8c547; }")
        self.skipped_button.clicked.connect(self.show_skipped_files)
        self.skipped_button.setVisible(False)
        w.add_status_widget(self.skipped_button)
        self.resume_button = QToolButton(w)
        self.resume_button.setText("Resume interrupted import")
        self.resume_button.setVisible(False)
        self.resume_button.clicked.connect(self.resume_interrupted_imports)
        w.add_status_widget(self.resume_button)
        self.import_label = QLabel("")
        self.import_label.setProperty("role", "dim")
        self.import_progress = QProgressBar(w)
        self.import_progress.setFixedWidth(220)
        self.import_progress.setMaximumHeight(16)
        self.import_progress.setTextVisible(True)
        self.import_cancel = QToolButton(w)
        self.import_cancel.setText("Cancel")
        self.import_cancel.setToolTip("Stop the import: everything imported so far is kept")
        self.import_cancel.clicked.connect(self.cancel_import)
        for x in (self.import_label, self.import_progress, self.import_cancel):
            x.setVisible(False)
            w.add_status_widget(x)

    # ------------------------------------------------------------------ import
    def ask_import_folder(self) -> None:
        start = self.win.settings.get("last_library") or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self.win, "Import a folder of photos", start, QFileDialog.Option.ShowDirsOnly)
        if folder:
            self.import_folder(folder)

    def import_running(self) -> bool:
        return self._import_handle is not None and not self._import_handle.done

    def import_folder(self, folder: os.PathLike | str) -> Optional[JobHandle]:
        """Import ``folder`` in the background (queued if an import is running). Returns its job handle."""
        from piaa_desktop.core.sync import import_library

        folder = str(Path(folder).expanduser())
        if not Path(folder).is_dir():
            self.win.say(f"Cannot import {folder}: not a folder")
            box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, f"Cannot import {folder}: it is not a folder.", parent=self.win)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()  # non-blocking
            return None
        if self._import_handle is not None:
            self._import_queue.append(folder)
            self.win.say(f"Import of {os.path.basename(folder)} queued")
            return None
        self._import_folder = folder
        self._last_incremental = time.monotonic()
        self._import_started = time.monotonic()  # the status says how long the whole import took
        token = CancelToken()
        self.import_label.setText(f"Importing {os.path.basename(folder.rstrip(os.sep)) or folder}…")
        self.import_progress.setRange(0, 0)
        self.import_cancel.setEnabled(True)
        self.import_cancel.setText("Cancel")
        for w in (self.import_label, self.import_progress, self.import_cancel):
            w.setVisible(True)
        self.act_cancel_import.setEnabled(True)
        self._import_handle = self.win.jobs.submit(
            import_library,
            folder,
            str(self.win.paths.thumbnails),
            settings=self.win.settings,
            with_catalog=True,
            on_done=self._on_import_result,
            on_error=self._on_import_error,
            on_progress=self._on_import_progress,
            on_finished=self._on_import_finished,
            cancel_token=token,
            name="import",
        )
        self.win.say(f"Importing {folder}")
        return self._import_handle

    def cancel_import(self) -> None:
        if self._import_handle is not None and not self._import_handle.done:
            self._import_handle.cancel()
            self._import_queue.clear()
            self.import_cancel.setEnabled(False)
            self.import_cancel.setText("Cancelling…")
            self.win.say("Cancelling the import: what is already imported is kept")

    def _on_import_progress(self, done: int, total: int, message: str) -> None:
        if self.win.is_closed:  # a late signal after the window closed its catalog
            return
        if total > 0:
            self.import_progress.setRange(0, total)
            self.import_progress.setValue(done)
        else:
            self.import_progress.setRange(0, 0)
        if message:
            self.import_progress.setFormat(f"{message}  %p%" if total else message)
            self.import_label.setText(message if total == 0 else message.split(" of ")[0].rstrip("0123456789 ") or message)
        # Show photos as they arrive: a refresh every 2 s while the scan commits batches
        # (at most ~10% of the GUI thread's time: big libraries refresh less often)
        now = time.monotonic()
        if message.startswith("Imported") and now - self._last_incremental > max(2.0, 10 * self.win.last_refresh_s):
            self.win.reload(keep_selection=True, resort=False)
            self._last_incremental = time.monotonic()

    def _on_import_result(self, result) -> None:
        if self.win.is_closed:  # a late signal after the window closed its catalog
            return
        self.last_import_result = result
        name = os.path.basename(result.folder) if getattr(result, "folder", "") else "folder"
        if result.cancelled:
            self.win.say(f"Import of {name} cancelled: {result.summary(only_nonzero=True)}. What was imported is kept; "
                         "import again to finish.")
        else:
            extra = ""
            if result.warnings:
                extra = " · " + "; ".join(result.warnings)
            took = time.monotonic() - getattr(self, "_import_started", time.monotonic() - result.seconds)
            self.win.say(f"Imported {name}: {result.summary(only_nonzero=True)} in {max(took, result.seconds):.1f} s{extra}")
        was_empty = self.win.model.rowCount() == 0
        if self._import_folder:
            self.win.settings.set("last_library", self._import_folder)
        self._hide_import_widgets()

        def shown() -> None:  # the grid shows the new photos: a big library reads them on a worker
            if self.win.is_closed:
                return
            if was_empty and self.win.model.rowCount():
                self.win.select_rows([0], 0)
            self._update_skipped_button()
            self.win.importFinished.emit(result)

        self.win.reload(keep_selection=True, resort=False, then=shown)  # new photos join at the end of a running pass

    def _on_import_error(self, exc: BaseException) -> None:
        if self.win.is_closed:  # a late signal after the window closed its catalog
            return
        if isinstance(exc, Cancelled):
            self.win.say("Import cancelled")
        else:
            handle = self._import_handle
            detail = handle.traceback if handle is not None else ""
            self.win.say(f"Import failed: {exc}")
            box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, f"The import stopped: {exc}", parent=self.win)
            box.setInformativeText("What was imported before the error is kept in the catalog.")
            if detail:
                box.setDetailedText(detail)
            box.open()  # non-blocking
        self._hide_import_widgets()

        def shown() -> None:
            if self.win.is_closed:
                return
            self._update_skipped_button()
            self.win.importFinished.emit(exc)

        self.win.reload(keep_selection=True, then=shown)

    def _on_import_finished(self) -> None:
        if self.win.is_closed:  # a late signal after the window closed its catalog
            return
        self._import_handle = None
        self._hide_import_widgets()
        if self._import_queue:
            nxt = self._import_queue.pop(0)
            QTimer.singleShot(0, lambda: self.import_folder(nxt))

    def _hide_import_widgets(self) -> None:
        """The status bar stops showing an import. Done when the result (or error) is handled, before
        ``importFinished`` is emitted: the job's ``finished`` signal comes in a separate queued event that
        the worker may post only after the GUI thread began handling the result, so a listener (or a test)
        woken by ``importFinished`` would otherwise still see the progress bar. ``finished`` hides them again
        (a job with no result) and starts the next queued import, which shows them again."""
        for w in (self.import_label, self.import_progress, self.import_cancel):
            w.setVisible(False)
        self.act_cancel_import.setEnabled(False)

    def _update_skipped_button(self) -> None:
        n = len(self.win.catalog.import_errors())
        self.skipped_button.setText(f"⚠ {n} skipped file{'s' if n != 1 else ''}")
        self.skipped_button.setVisible(n > 0)

    def show_skipped_files(self):
        from piaa_desktop.gui.dialogs import SkippedFilesDialog

        dlg = SkippedFilesDialog(self.win.catalog.import_errors(), self.win)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        self._skipped_dialog = dlg
        return dlg

    def shutdown(self) -> None:
        if self._import_handle is not None and not self._import_handle.done:
            self._import_handle.cancel()
            self._import_queue.clear()
            self._import_handle.wait(30.0)

    # -- start-up recovery: jobs a crash left behind, damaged catalog, stray temp files, models
    def _check_interrupted_jobs(self) -> None:
        """Cheap part, at construction: only the skipped-files notice (recovery runs off-thread)."""
        self._update_skipped_button()

    def run_startup_checks(self, then: Optional[Callable[[], None]] = None) -> Optional[JobHandle]:
        """Run :func:`piaa_desktop.core.recovery.recover` on a worker (its own connection): marks jobs of
        dead processes interrupted, checks the catalog, cleans stray temp files, verifies the models.
        Its messages go to the status bar; interrupted imports get a "Resume" button.
        Called by :func:`piaa_desktop.gui.app.main` once the window is shown; ``then`` runs after it
        (the import of a folder given on the command line: recovery cleans temp files first)."""
        from piaa_desktop.core.recovery import recover

        def finished() -> None:
            if self.win.is_closed:
                return
            if then is not None:
                then()
            if not self.import_running():  # an import embeds, scores and re-learns the same way
                self.update_models()

        return self.win.jobs.submit(
            recover,
            self.win.paths,
            with_catalog=str(self.win.paths.catalog),  # no backup dir: recovery checks the catalog as it is
            on_done=self._on_recovery,
            on_error=lambda exc: self.win.say(f"Start-up checks failed: {exc}"),
            on_finished=finished,
            name="recovery",
        )

    def update_models(self) -> Optional[JobHandle]:
        """After an update that shipped a new backbone or prior: re-embed, re-score and re-learn the personal
        model on a worker (:func:`piaa_desktop.core.scanner.update_models`; one query when nothing changed)."""
        from piaa_desktop.core.embeddings import EMBEDDING_STAGE

        def progress(done: int, total: int, message: str) -> None:
            if message == EMBEDDING_STAGE and total:
                self.win.say(f"Updating the library for the new taste model: {done} of {total} photos", transient=True)

        def done(result) -> None:
            counts, scores = result
            if scores:
                self.win.refresh_scores(scores)
            if counts["embedded"] or counts["personal"]:
                self.win.say(f"Library updated for the new taste model: {counts['embedded']} photos re-analysed"
                             + ("; your personal model re-learned from your answers" if counts["personal"] else ""))

        return self.win.jobs.submit(update_models_job, str(self.win.paths.thumbnails),
                                    with_catalog=str(self.win.paths.catalog), on_done=done, on_progress=progress,
                                    on_error=lambda exc: self.win.say(f"Library not updated for the new taste model: {exc}"),
                                    name="update models")

    def _on_recovery(self, report) -> None:
        if self.win.is_closed:
            return
        self.recovery_report = report
        messages = list(report)
        if messages:
            more = f" (+{len(messages) - 1} more, see tooltip)" if len(messages) > 1 else ""
            self.win.say(messages[0] + more)
            self.win.status_label.setToolTip("\n".join(messages))
        self._interrupted = list(report.resumable)
        folders = [j["args"].get("folder", "") for j in self._interrupted if j["args"].get("folder")]
        if folders:
            self.resume_button.setText(
                "Resume interrupted import" + (f"s ({len(folders)})" if len(folders) > 1 else "")
            )
            self.resume_button.setToolTip("Did not finish last time (finished photos are kept):\n" + "\n".join(folders))
        self.resume_button.setVisible(bool(folders))
        self._update_skipped_button()

    def resume_interrupted_imports(self) -> None:
        from piaa_desktop.core import recovery

        folders = []
        wanted = {j["args"].get("folder") for j in self._interrupted}
        for j in recovery.interrupted_jobs(self.win.catalog):
            f = j["args"].get("folder")
            if j["kind"] != "import" or f not in wanted:
                continue
            alive = bool(f) and Path(f).is_dir()
            recovery.dismiss_job(self.win.catalog, j["id"], "resumed" if alive else "abandoned")
            if alive and f not in folders:
                folders.append(f)
        self._interrupted = []
        self.resume_button.setVisible(False)
        for f in folders:
            self.import_folder(f)

    # ------------------------------------------------------------------ first run
    def maybe_show_welcome(self) -> bool:
        """First run (settings ``first_run_done`` false): the welcome dialog, then import what it chose.
        Called by :func:`piaa_desktop.gui.app.main` after the window is shown."""
        if self.win.settings.get("first_run_done"):
            return False
        from piaa_desktop.core.sample import copy_sample_library
        from piaa_desktop.gui.welcome import WelcomeDialog

        sample = None
        if self.win.catalog.count_photos() == 0:
            # Something to look at at once: the bundled samples import in the background while the
            # welcome is read (a copy in the data dir: sidecars and edits never touch the install).
            try:
                sample = copy_sample_library(self.win.paths.data_dir)
                self.import_folder(sample)
            except OSError as exc:
                self.win.say(f"Sample library not copied: {exc}")
        dlg = WelcomeDialog(self.win, data_dir=self.win.paths.data_dir)
        accepted = dlg.exec()
        self.win.settings.set("first_run_done", True)
        self.win.save_settings()
        folder = dlg.chosen_folder() if accepted else None
        if folder and (sample is None or Path(folder).resolve() != Path(sample).resolve()):
            self.import_folder(folder)
        return True


def update_models_job(catalog, cache_dir, progress=None, cancel=None) -> tuple[dict, dict]:
    """:func:`core.scanner.update_models` (after an update that shipped new models), then the scores to show
    when anything changed (read on the worker)."""
    from piaa_desktop.core.library import score_maps
    from piaa_desktop.core.scanner import update_models

    counts = update_models(catalog, cache_dir, progress=progress, cancel=cancel)
    return counts, (score_maps(catalog) if counts["scored"] or counts["personal"] else {})
