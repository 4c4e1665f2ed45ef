"""The loupe's behaviour: it follows the current photo (its place in the order, "new order ready", the
EXIF line, the neighbours decoded ahead), renders develop edits and culling changes as they happen,
arrows step through the grid's order, a double-click in the grid opens it, and full screen (Shift+F /
F11; Esc in the loupe leaves it).

The window arranges the loupe widget (:class:`~piaa_desktop.gui.loupe.LoupeView`, ``win.loupe``) as the
"loupe" view beside the grid; this feature is what makes it follow the library. It is installed first,
so the loupe shows the new photo before other features hear of the change (the develop panel's live
edits render on the loupe's photo)."""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QDockWidget

from piaa_desktop.gui.features.base import Feature


class LoupeFeature(Feature):
    name = "loupe"

    def __init__(self, win):
        super().__init__(win)
        w = self.win
        lp = w.loupe
        lp.navigate.connect(w.step)
        lp.attach_filmstrip(w.model, w.grid.selectionModel())
        lp.escapePressed.connect(lambda: self.full_screen_on() and self.toggle_full_screen())
        w.grid.doubleClicked.connect(lambda _i: w.show_view("loupe"))
        w.positionChanged.connect(self._position_changed)
        w.catalogChanged.connect(self._catalog_changed)
        self._full_screen_saved: Optional[tuple] = None
        self.act_full_screen = w.add_action(
            "&Full screen", self.toggle_full_screen, ["Shift+F", "F11"],
            "Full screen: only the photos (Shift+F / F11 again, or Esc in the loupe, to leave)", checkable=True)
        w.menu("view").addAction(self.act_full_screen)

    # ------------------------------------------------------------------ following the current photo
    def _position_changed(self) -> None:
        if self.win.current_view() == "loupe":
            self.sync()

    def sync(self) -> None:
        """Show the current photo on the loupe, with its place in the order and its EXIF line, and decode
        its neighbours ahead."""
        w = self.win
        pid = w.current_id()
        rec = w.model.record(pid) if pid is not None else None
        if rec is None:
            w.loupe.set_photo(None)
            return
        row = w.model.row_of(pid)
        position = f"{row + 1} of {w.model.rowCount()}"
        if w.order_is_stale():
            position = "new order ready (F5)  ·  " + position
        from piaa_desktop.gui.loupe import exif_line

        w.loupe.set_photo(rec, w.thumbs.pixmap(pid), position, exif_line(w.catalog.photo(pid)))
        neighbours = [w.model.record(w.model.id_at(r)) for r in (row + 1, row - 1) if w.model.id_at(r) is not None]
        w.loupe.prefetch(neighbours)

    def _catalog_changed(self, change) -> None:
        w = self.win
        if change.field == "params":  # develop edits: the loupe renders them (the grid already re-renders)
            for pid in change.photo_ids:
                w.loupe.edit_changed(pid)
        cur = w.current_id()
        if cur is not None and cur in change.photo_ids:
            rec = w.model.record(cur)
            if rec is not None:
                w.loupe.update_record(rec)

    # ------------------------------------------------------------------ full screen
    def full_screen_on(self) -> bool:
        return self._full_screen_saved is not None

    def toggle_full_screen(self) -> None:
        """Shift+F / F11: the central view alone on the whole screen (menus, toolbar, panels and status
        bar hidden; the shortcuts keep working); again (or Esc in the loupe) restores the window."""
        w = self.win
        if self._full_screen_saved is None:
            chrome = [w.menuBar(), w.toolbar, w.statusBar(), *w.findChildren(QDockWidget)]
            shown = [c for c in chrome if c.isVisible()]
            self._full_screen_saved = (w.isMaximized(), shown)
            for c in shown:
                c.hide()
            w.showFullScreen()
        else:
            was_max, shown = self._full_screen_saved
            self._full_screen_saved = None
            for c in shown:
                c.show()
            w.showMaximized() if was_max else w.showNormal()
        self.act_full_screen.setChecked(self._full_screen_saved is not None)
        w.focus_current_view()
