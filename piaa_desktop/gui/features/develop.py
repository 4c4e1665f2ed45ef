"""Develop: the develop panel (D) following the selection, auto-enhance to my taste (E, the result
stays editable) and "learn my retouching style" (the enhancer trained on the user's own edits in the
background).

Developing happens on the large loupe: opening Develop shows the loupe, unsaved slider changes render
there at once (the panel keeps the sliders and the live histogram), and the crop overlay
(:mod:`piaa_desktop.gui.crop_tool`, Shift+R) lives there."""
from __future__ import annotations

from piaa_desktop.gui.features.base import Feature


class DevelopFeature(Feature):
    name = "develop"

    def __init__(self, win):
        super().__init__(win)
        from piaa_desktop.gui.develop_panel import DevelopPanel

        w = self.win
        self.enhancer_handle = None
        self.last_enhancer_training = None
        self.last_enhancer_error = None
        self.enhancer_error_box = None
        self.panel = DevelopPanel(w.catalog, w.undo_stack, paths=w.paths, jobs=w.jobs)
        self.panel.message.connect(w.say)
        self.dock = w.add_panel("develop", self.panel, "D", title="Develop")
        w.info_dock.raise_()  # Info stays the panel shown at start; D brings Develop forward
        w.selectionChanged.connect(self._develop_follow)
        self.dock.visibilityChanged.connect(self._develop_visible)
        from piaa_desktop.gui.crop_tool import CropOverlay

        d = self.panel
        self.crop_overlay = CropOverlay(w.loupe.view)
        w.loupe.crop_tool = self.crop_overlay
        d.liveEdit.connect(w.loupe.set_live_edit)
        d.liveEnded.connect(lambda _pid: w.loupe.end_live_edit())
        d.cropModeChanged.connect(self._crop_mode)
        d.levelModeChanged.connect(self._level_mode)
        d.geometryChanged.connect(self._sync_crop_overlay)
        w.loupe.previewLoaded.connect(lambda _pid: self._sync_crop_overlay())
        self.crop_overlay.changed.connect(lambda p: d.set_geometry(p, commit=False))
        self.crop_overlay.committed.connect(lambda p: d.set_geometry(p, commit=True))
        self.crop_overlay.levelDrawn.connect(d.add_angle)

        A = w.add_action
        self.act_auto = A("&Auto-enhance to my taste", self.auto_enhance, "E",
                          "Develop settings for the selected photos from your learned retouching style")
        self.act_train_style = A("Learn my &retouching style", self.train_enhancer, None,
                                 "Train auto-enhance on the photos you developed by hand")
        self.act_crop = A("&Crop and straighten", self.toggle_crop, "Shift+R",
                          "Crop, straighten, rotate or flip the photo on the loupe")
        m = w.menu("photo")
        m.addSeparator()
        m.addAction(self.act_auto)
        m.addAction(self.act_crop)
        m.addAction(self.act_train_style)

    # ------------------------------------------------------------------ developing on the loupe
    def _develop_visible(self, visible: bool) -> None:
        if visible:
            self._develop_follow()
            if self.win.current_view() in ("grid", "") and self.win.current_id() is not None:
                self.win.show_view("loupe")  # develop on the large photo
        elif self.panel.crop_btn.isChecked():
            self.panel.set_crop_mode(False)

    def toggle_crop(self) -> None:
        """Shift+R: the crop tool on the loupe (opens Develop and the loupe when needed)."""
        if not self.dock.isVisible():
            self.dock.show()
            self.dock.raise_()
            self._develop_follow()
        if self.win.current_view() != "loupe" and self.win.current_id() is not None:
            self.win.show_view("loupe")
        self.panel.crop_btn.toggle()

    def _crop_mode(self, on: bool) -> None:
        w = self.win
        if on and w.current_view() != "loupe" and w.current_id() is not None:
            w.show_view("loupe")
        self._sync_crop_overlay()
        w.loupe.set_crop_mode(on)

    def _level_mode(self, on: bool) -> None:
        self.crop_overlay.level_mode = bool(on)
        self.win.say("Draw a line along the horizon on the photo" if on else "")

    def _sync_crop_overlay(self) -> None:
        from piaa_desktop.core import develop as D

        d = self.panel
        pid = d.ids[0] if d.ids else None
        size = self.win.loupe.base_size(pid) if pid is not None else None
        if size is None:
            size = d.photo_size()
        if size is None:
            return
        self.crop_overlay.set_state(d.params, D.oriented_size(size[0], size[1], d.params), d.ratio())
        self.win.loupe.view.update()

    def _develop_follow(self, *_args) -> None:
        if not self.dock.isVisible():
            return
        from piaa_desktop.core.thumbnails import load_thumbnail

        ids = self.win.selected_ids()
        cur = self.win.current_id()
        if cur is not None and cur in ids:
            ids = [cur] + [i for i in ids if i != cur]
        preview = None
        if ids:
            photo = self.win.catalog.photo(ids[0])
            if photo is not None:
                preview = load_thumbnail(self.win.paths.thumbnails, photo.content_hash)
        if ids != self.panel.ids:
            self.panel.set_photos(ids, preview)

    def auto_enhance(self) -> None:
        """Show the develop panel on the selection and auto-enhance it (the result stays editable)."""
        self.dock.show()
        self.dock.raise_()
        self._develop_follow()
        self.panel.auto_enhance()

    def train_enhancer(self, **kwargs):
        """Train the auto-enhancer on the user's own retouches in the background; progress in the status bar.

        ``kwargs`` go to :func:`piaa_desktop.core.enhance.train_enhancer_from_catalog` (sizes, for tests)."""
        from piaa_desktop.core.enhance import train_enhancer_from_catalog

        if self.enhancer_handle is not None and not self.enhancer_handle.done:
            return self.enhancer_handle
        self.win.say("Learning your retouching style…")
        self.enhancer_handle = self.win.jobs.submit(
            train_enhancer_from_catalog,
            self.win.paths,
            with_catalog=str(self.win.paths.catalog),
            on_done=self._on_enhancer_trained,
            on_error=self._on_enhancer_failed,
            on_progress=lambda d, t, m: self.win.say(f"Learning your retouching style… {m} {d}/{t}"),
            name="train-enhancer",
            **kwargs,
        )
        return self.enhancer_handle

    def _on_enhancer_failed(self, exc: BaseException) -> None:
        """A failed (not cancelled) training is a dialog with the reason and what to do; auto-enhance keeps
        the style learned before, if any, and says which model it uses."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QMessageBox

        from piaa_desktop.core.jobs import Cancelled

        if isinstance(exc, Cancelled):
            self.win.say("Learning your retouching style was cancelled")
            return
        self.last_enhancer_error = exc
        self.win.say(f"Retouching style not learned: {exc}")
        reason = str(exc) or type(exc).__name__
        box = QMessageBox(QMessageBox.Icon.Warning, "Retouching style not learned",
                          "Your retouching style could not be learned.", parent=self.win)
        todo = "" if "What to do" in reason else (
            "\n\nWhat to do: develop at least two photos yourself (D), then Photo > Learn my retouching style "
            "again. If it fails again, reinstall PIAA Desktop with its dependencies (pip install -e .).")
        box.setInformativeText(f"{reason}{todo}\n\nAuto-enhance keeps using your previous style, or the generic "
                               "model if you have none, and says which.")
        handle = self.enhancer_handle
        if handle is not None and getattr(handle, "traceback", ""):
            box.setDetailedText(handle.traceback)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.enhancer_error_box = box
        box.open()  # non-blocking

    def _on_enhancer_trained(self, result) -> None:
        self.last_enhancer_error = None
        self.last_enhancer_training = result
        self.win.say(f"Auto-enhance now follows your retouching style ({result['n_pairs']} photos): press E")

    def shutdown(self) -> None:
        """Before the catalog closes: write pending develop edits, stop the training."""
        self.panel.shutdown()
        h = self.enhancer_handle
        if h is not None and not h.done:
            h.cancel()
            h.wait(30.0)
