"""Faces and eyes in the app: grid badges, the Info panel's faces, the faces pass in the background.

* After an import (and from Photo › Find faces and closed eyes) the faces pass (:func:`core.faces.analyze_catalog`)
  runs on a worker thread with its own catalog connection, with progress in the status bar; closing the
  window cancels it (what it finished is kept, the next pass resumes).
* Grid badges: "eyes closed" and "soft face" join the technical tags at the bottom left of a thumbnail.
* The grid's filter has "Closed eyes", "Soft faces", "No faces" (main_window.FLAG_FILTERS, SQL in the catalog).
* The Info panel lists the current photo's faces: eyes open/closed with the blink score, sharpness.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from piaa_desktop.gui.features.base import Feature

#: grid/flag tags this feature adds to a photo's technical tags
CLOSED_EYES, SOFT_FACE = "closed_eyes", "soft_face"


def faces_job(catalog, progress=None, cancel=None) -> int:
    """The faces pass over the catalog (worker thread, its own connection from the jobs manager)."""
    from piaa_desktop.core.faces import analyze_catalog

    return analyze_catalog(catalog, progress=progress, cancel=cancel)


def face_tags(rows) -> set[str]:
    from piaa_desktop.core.faces import summarize

    s = summarize(rows)
    out = set()
    if s.has_closed_eyes:
        out.add(CLOSED_EYES)
    if s.has_soft_face:
        out.add(SOFT_FACE)
    return out


def describe_faces(rows) -> str:
    """Rich text for the Info panel."""
    from piaa_desktop.core.faces import BADGE_MIN_FACE_PX, SOFT_THRESHOLD

    if rows is None:
        return "<span style='color:#9aa3b2'>Not analysed yet.</span>"
    if not rows:
        return "No faces."
    lines = []
    for k, r in enumerate(sorted(rows, key=lambda r: -r["box"][2] * r["box"][3]), 1):
        w, h = r["box"][2], r["box"][3]
        closed = r["eyes"] == "closed"
        eye_col = "#f0736a" if closed else "#5fcf80"
        soft = r["sharpness"] < SOFT_THRESHOLD
        sharp_col = "#f0a35e" if soft else "#9aa3b2"
        small = min(w, h) < BADGE_MIN_FACE_PX
        note = " <span style='color:#9aa3b2'>(small: not badged)</span>" if small else ""
        lines.append(
            f"Face {k} ({w}×{h} px): <span style='color:{eye_col}'>eyes {r['eyes']}</span> "
            f"(blink {r['blink']:.2f}) · <span style='color:{sharp_col}'>{'soft' if soft else 'sharp'} "
            f"{r['sharpness']:.2f}</span>{note}"
        )
    return "<br>".join(lines)


class FacesFeature(Feature):
    name = "faces"

    def __init__(self, win):
        super().__init__(win)
        self.handle = None
        self._shown_done = 0
        self.signature: Optional[str] = None
        self.last_result = None
        try:
            from piaa_desktop.core.faces import model_signature
            from piaa_desktop.core.models import check_model

            from piaa_desktop.core.faces import MODEL_NAMES

            if all(check_model(n).ok for n in MODEL_NAMES):
                self.signature = model_signature()
        except Exception:  # noqa: BLE001 - no face models: the feature stays off, the app works
            self.signature = None
        self._install_grid()
        self._install_panel()
        self._install_actions()
        self._quiet = False
        self.progress_label = QLabel("")
        self.progress_label.setProperty("role", "dim")
        self.progress_label.hide()
        win.add_status_widget(self.progress_label)
        win.importFinished.connect(self._on_import_finished)
        win.currentPhotoChanged.connect(self.show_faces)

    @property
    def enabled(self) -> bool:
        return self.signature is not None

    # ------------------------------------------------------------------ grid
    def _install_grid(self) -> None:
        model = self.win.model
        previous = model.flag_source

        def source(pid: int):
            tags = set(previous(pid)) if previous is not None else set()
            return tags | self.tags(pid)

        model.flag_source = source

    def tags(self, photo_id: int) -> set[str]:
        if not self.enabled:
            return set()
        rows = self.win.catalog.faces(self.signature, [photo_id]).get(photo_id)
        return face_tags(rows) if rows else set()

    def repaint(self) -> None:
        """New results: drop the grid's cached tags and repaint (the order on screen does not move)."""
        m = self.win.model
        if hasattr(m, "_tech"):
            m._tech.clear()
        self.win.grid.viewport().update()
        self.show_faces(self.win.current_id())

    # ------------------------------------------------------------------ info panel
    def _install_panel(self) -> None:
        panel = self.win.side_panel
        lay = panel.widget().layout()
        from piaa_desktop.gui.side_panel import _section

        self.section = _section("Faces and eyes")
        self.label = QLabel("")
        self.label.setObjectName("FacesLabel")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        # just before the Photo (EXIF) section: after the scores and the "why"
        at = lay.indexOf(panel.why_label) + 1 if hasattr(panel, "why_label") else max(0, lay.count() - 1)
        lay.insertWidget(at, self.section)
        lay.insertWidget(at + 1, self.label)
        self.show_faces(None)

    def show_faces(self, photo_id) -> None:
        if not self.enabled:
            self.label.setText("<span style='color:#9aa3b2'>Face models are missing (see Help › About).</span>")
            return
        if photo_id is None:
            self.label.setText("")
            return
        rows = self.win.catalog.faces(self.signature, [int(photo_id)]).get(int(photo_id))
        self.label.setText(describe_faces(rows))

    # ------------------------------------------------------------------ the pass
    def _install_actions(self) -> None:
        w = self.win
        self.act_faces = w.add_action("Find &faces and closed eyes", self.run_pass, None,
                                      "Find faces, closed eyes and soft faces in the library (background)")
        m = w.menu("photo")
        m.addSeparator()
        m.addAction(self.act_faces)
        self.act_faces.setEnabled(self.enabled)

    def running(self) -> bool:
        return self.handle is not None and not self.handle.done

    def run_pass(self, quiet: bool = False):
        """Find faces in the photos not analysed yet, in the background. Progress shows in a small status-bar
        label; ``quiet`` (the pass after an import) leaves the status message to the import and only speaks up
        at the end when it found closed eyes or soft faces."""
        if not self.enabled or self.running():
            return self.handle
        self._quiet = quiet
        if not quiet:
            self.win.say("Finding faces and closed eyes…")
        self._shown_done = 0
        self.handle = self.win.jobs.submit(
            faces_job,
            with_catalog=str(self.win.paths.catalog),
            on_done=self._on_done,
            on_error=self._on_error,
            on_progress=self._on_progress,
            name="faces",
        )
        return self.handle

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total:
            self.progress_label.setText(f"Faces {done}/{total}")
            self.progress_label.setVisible(done < total)
        if done - self._shown_done >= 16:  # batches were committed: show what is known so far
            self._shown_done = done
            self.repaint()

    def _on_error(self, exc) -> None:
        from piaa_desktop.core.jobs import Cancelled

        self.progress_label.hide()
        if not isinstance(exc, Cancelled):
            self.win.say(f"Faces not analysed: {exc}")

    def _on_done(self, n: int) -> None:
        self.last_result = n
        self.progress_label.hide()
        counts = self.win.catalog.face_counts(self.signature)
        closed = sum(1 for c in counts.values() if c[1])
        soft = sum(1 for c in counts.values() if c[2])
        if not self._quiet or (n and (closed or soft)):
            self.win.say(f"Faces: {n} photos analysed; {closed} with closed eyes, {soft} with a soft face "
                         "(filter: Closed eyes / Soft faces)")
        self.repaint()

    def _on_import_finished(self, result) -> None:
        if isinstance(result, BaseException) or getattr(result, "cancelled", False):
            return  # a cancelled import: the user wants the machine back
        if not self.win.settings.get("faces_after_import"):
            return
        self.run_pass(quiet=True)

    def shutdown(self) -> None:
        if self.running():
            self.handle.cancel()
            self.handle.wait(30.0)


