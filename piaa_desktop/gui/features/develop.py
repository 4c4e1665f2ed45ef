"""Develop: the develop panel (D) following the selection, auto-enhance to my taste (E, the result
stays editable) and "learn my retouching style" (the enhancer trained on the user's own edits in the
background).

Developing happens on the large loupe: opening Develop shows the loupe, unsaved slider changes render
there at once (the panel keeps the sliders and the live histogram), and the crop overlay
(:mod:`piaa_desktop.gui.crop_tool`, Shift+R) lives there."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from piaa_desktop.gui.features.base import Feature


def develop_words(params) -> str:
    """The settings that differ from 'as shot', in the develop history's words ('Exposure +0.50, ...')."""
    from piaa_desktop.core import develop
    from piaa_desktop.gui.develop_panel import history_words

    words = history_words(develop.changed_params(params))
    return ", ".join(words[:4]) + (", ..." if len(words) > 4 else "")


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
        from piaa_desktop.core.develop import DEFAULT_COPY_GROUPS

        self.copy_groups = DEFAULT_COPY_GROUPS  # what the choose dialog ticks (the last choice this session)
        self.copy_dialog = None
        self.previous_id: Optional[int] = None  # the photo current before this one (Paste from previous)
        self._current_id: Optional[int] = None
        w.currentPhotoChanged.connect(self._track_previous)
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
        # Lightroom's keys (darktable's selective copy too): one photo's settings onto the selection
        self.act_copy_settings = A(
            "&Copy develop settings", self.copy_settings, "Ctrl+Shift+C",
            "Copy the current photo's tone and colour settings (not its crop or straighten, as in Lightroom)")
        self.act_paste_settings = A(
            "&Paste develop settings", self.paste_settings, "Ctrl+Shift+V",
            "Paste the copied settings onto every selected photo; each keeps its own crop and straighten "
            "(the crop is not pasted). Ctrl+Z undoes the whole paste")
        self.act_copy_choose = A(
            "Copy develop settings, c&hoose…", self.choose_and_copy, "Ctrl+Alt+C",
            "Choose which of the current photo's settings to copy: tone, colour, crop and straighten")
        self.act_paste_previous = A(
            "Paste settings from p&revious photo", self.paste_from_previous, "Ctrl+Alt+V",
            "Paste the tone and colour of the photo you were on before onto the selected photos (Lightroom's "
            "Paste from previous; the crop is not pasted)")
        edit = w.menu("edit")
        edit.addSeparator()
        edit.addAction(self.act_copy_settings)
        edit.addAction(self.act_copy_choose)
        edit.addAction(self.act_paste_settings)
        edit.addAction(self.act_paste_previous)
        edit.addSeparator()  # what later features add (Search) is a group of its own
        edit.setToolTipsVisible(True)
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

    # ------------------------------------------------------------------ copy / paste settings
    def copy_settings(self) -> Optional[dict]:
        """Ctrl+Shift+C: the current photo's tone and colour settings (grid or loupe, panel open or not)."""
        pid = self.win.current_id()
        if pid is None:
            self.win.say("No photo to copy from: click a photo first", transient=True)
            return None
        copied = self.panel.copy_settings(pid)
        if copied is not None:
            self._say_copied(pid)
        return copied

    def _say_copied(self, pid: int) -> None:
        photo = self.win.catalog.photo(pid)
        name = Path(photo.path).name if photo is not None else f"photo {pid}"
        changed = develop_words(self.panel.clipboard)
        self.win.say(f"Copied the develop settings of {name} ({self.panel.clipboard_words()}"
                     f"{': ' + changed if changed else ': as shot'}) · Ctrl+Shift+V pastes them onto the "
                     "selected photos", transient=True)

    def choose_and_copy(self):
        """Ctrl+Alt+C: a dialog ticks which groups of the current photo's settings to copy (the crop too, if
        wanted); Copy copies them. Returns the dialog (open, non-blocking)."""
        from piaa_desktop.gui.develop_panel import CopySettingsDialog

        pid = self.win.current_id()
        if pid is None:
            self.win.say("No photo to copy from: click a photo first", transient=True)
            return None
        photo = self.win.catalog.photo(pid)
        dlg = CopySettingsDialog(Path(photo.path).name if photo is not None else f"photo {pid}", self.copy_groups,
                                 self.win)

        def copy() -> None:
            self.copy_groups = dlg.groups()
            if self.panel.copy_settings(pid, self.copy_groups) is not None:
                self._say_copied(pid)

        dlg.accepted.connect(copy)
        self.copy_dialog = dlg
        dlg.open()
        return dlg

    def _track_previous(self, pid) -> None:
        if pid is not None and pid != self._current_id:
            if self._current_id is not None:
                self.previous_id = self._current_id
            self._current_id = pid

    def paste_from_previous(self):
        """Ctrl+Alt+V: the tone and colour of the photo that was current before onto the selected photos (the
        copy clipboard is left as it is)."""
        from piaa_desktop.core import develop

        prev = self.previous_id
        photo = self.win.catalog.photo(prev) if prev is not None else None
        if photo is None:
            self.win.say("No previous photo yet: move to another photo first", transient=True)
            return None
        ids = [i for i in self.win.target_ids() if i != prev]
        if not ids:
            self.win.say("Select the photos to paste onto (not the previous photo itself)", transient=True)
            return None
        try:
            copied = develop.copy_params(self.win.catalog.get_edit(prev))
        except ValueError:
            self.win.say(f"The develop settings of {Path(photo.path).name} are unreadable: nothing pasted")
            return None
        change = self.panel.paste_settings(ids, copied)
        n = len(ids)
        self.win.say(f"Pasted the settings of {Path(photo.path).name} (the previous photo) onto {n} "
                     f"photo{'s' if n != 1 else ''} (tone and colour; not the crop) · Ctrl+Z undoes the paste",
                     transient=True)
        return change

    def paste_settings(self):
        """Ctrl+Shift+V: the copied settings onto every selected photo, as one undo step."""
        if self.panel.clipboard is None:
            self.win.say("Nothing copied yet: Ctrl+Shift+C on a photo first", transient=True)
            return None
        ids = self.win.target_ids()
        if not ids:
            self.win.say("No photo selected to paste onto", transient=True)
            return None
        change = self.panel.paste_settings(ids)
        n = len(ids)
        what = self.panel.clipboard_words()
        self.win.say(f"Pasted settings onto {n} photo{'s' if n != 1 else ''} ({what}) · Ctrl+Z undoes the paste",
                     transient=True)
        return change

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
