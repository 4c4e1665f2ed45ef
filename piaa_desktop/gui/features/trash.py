"""Photo > Move rejected to trash… (Ctrl+Backspace): the rejected photos of what the grid shows (its
folder, collection or search; whatever the flag filter) go to the system trash with their sidecars,
after a confirmation that says how many files and from where. Edit > Undo brings them back while the
app runs (the catalog kept their records); Photo > Restore from trash… later.

The files are moved by a worker job with its own catalog connection; the GUI thread then reloads the
grid. Undo/redo of a trash move run through the window's undo stack, which hands them to a worker job too
(``core.trash.apply_change``; one trash job at a time), as does Restore from trash…. Sidecars still being
written by the background writer are flushed first, so they go to the trash complete.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox

from piaa_desktop.core import trash
from piaa_desktop.gui.features.base import Feature


def trash_job(catalog, ids: list[int], progress=None, cancel=None):
    return trash.move_to_trash(catalog, ids, progress=progress, cancel=cancel)


class TrashFeature(Feature):
    name = "trash"
    trashFinished = Signal(object)  # TrashResult
    replayFinished = Signal(object)  # the Change applied by an undo/redo of a trash move, or a restore

    def __init__(self, win):
        super().__init__(win)
        self.handle = None
        self.last_question = ("", "")
        win.undo_stack.handlers[trash.TRASH_FIELD] = self._replay
        self.act_trash = win.add_action("Move rejected to trash…", self.trash_rejected, "Ctrl+Backspace",
                                        "Move the rejected photos shown (and their XMP sidecars) to the system trash")
        self.act_restore = win.add_action("Restore from trash…", self.restore_all, None,
                                          "Put every photo this app moved to the trash back where it was")
        m = win.menu("photo")
        m.addSeparator()
        m.addAction(self.act_trash)
        m.addAction(self.act_restore)

    # ------------------------------------------------------------------ which photos
    def rejected_in_view(self) -> list[int]:
        """Rejected photos of the grid's scope (folder, collection, search), whatever the flag filter."""
        recs = self.win.model.records()
        ids = [r.id for r in recs.values() if r.flag == -1]
        return sorted(self.win.narrow_ids(ids), key=lambda i: recs[i].path)

    def confirmation_text(self, plan: dict) -> tuple[str, str]:
        scope = ""
        where = self.win.scope_text()
        if where:
            scope = f" in {where}"
        n, s = plan["photos"], plan["sidecars"]
        title = f"Move {n} rejected photo{'s' if n != 1 else ''}{scope} to the trash?"
        detail = (
            f"{n} photo file{'s' if n != 1 else ''}"
            + (f" and {s} XMP sidecar{'s' if s != 1 else ''}" if s else "")
            + f" ({plan['bytes'] / 1e6:.1f} MB) go to the system trash; nothing is deleted.\n\n"
            "Edit > Undo (Ctrl+Z) brings them back while PIAA Desktop is open; later, use "
            "Photo > Restore from trash… or your system's trash. Their ratings, keywords and edits are kept."
        )
        return title, detail

    # ------------------------------------------------------------------ actions
    def shutdown(self) -> None:
        h = self.handle
        if h is not None and not h.done:
            h.wait(30.0)  # files half-moved are recorded only when the job returns: let it finish

    def trash_rejected(self, confirm: Optional[bool] = None):
        """Ask, then move. ``confirm`` True/False answers the dialog (tests); returns the job or None."""
        if self.handle is not None and not self.handle.done:
            self.win.say("Moving to the trash already")
            return None
        cull = getattr(self.win.features, "culling", None)
        if cull is not None:
            cull.finish_writes()  # a reject (or unflag) of a big selection pressed just before counts
        ids = self.rejected_in_view()
        from piaa_desktop.core.sync import flush_pending

        flush_pending(self.win.catalog)  # the sidecars of photos just rejected are counted (and moved)
        plan = trash.plan(self.win.catalog, ids)
        if not plan["photos"]:
            self.win.say("No rejected photos here (reject with X)")
            return None
        title, detail = self.confirmation_text(plan)
        self.last_question = (title, detail)
        if confirm is None:
            box = QMessageBox(QMessageBox.Icon.Warning, "Move to trash", title, parent=self.win)
            box.setInformativeText(detail)
            ok = box.addButton(f"Move {plan['photos']} to Trash", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            confirm = box.clickedButton() is ok
        if not confirm:
            self.win.say("Nothing moved")
            return None
        self.win.say(f"Moving {plan['photos']} photos to the trash…")
        self.handle = self.win.jobs.submit(trash_job, plan["ids"], with_catalog=True, on_done=self._done,
                                           on_error=lambda e: self.win.say(f"Not moved to the trash: {e}"),
                                           name="trash")
        return self.handle

    def _done(self, result) -> None:
        res, change = result
        if self.win.is_closed:
            return
        if change.photo_ids:
            self.win.undo_stack.push(change)
        msg = res.summary() + (" · Ctrl+Z to undo" if res.trashed else "")
        if res.failed:
            msg += f" · first problem: {res.failed[0][0]}: {res.failed[0][1]}"
        self.win.say(msg)
        self.win.reload(keep_selection=True, then=lambda: self.trashFinished.emit(res))

    def _one_at_a_time(self) -> None:
        h = self.handle
        if h is not None and not h.done:
            h.wait(30.0)  # an undo pressed while files are still moving: after them, never beside them

    def _replay(self, change):
        """The undo stack's handler: the files move on a worker; returns the change being applied."""
        self._one_at_a_time()
        back = not any(change.after.get(i) for i in change.photo_ids)
        self.win.say(("Restoring" if back else "Moving") + f" {_n(change.photo_ids)}"
                     + (" from the trash…" if back else " to the trash again…"))
        self.handle = self.win.jobs.submit(trash.apply_change, change, with_catalog=True, name="trash",
                                           on_done=lambda out: self._replayed(out, back),
                                           on_error=lambda e: self.win.say(f"Trash move not undone: {e}"))
        return change

    def _replayed(self, out, back: bool) -> None:
        if self.win.is_closed:
            return
        self.win.say(("Undid move to trash: " if back else "Redid move to trash: ")
                     + f"{_n(out.photo_ids)} " + ("restored" if back else "moved to the trash"))
        self.win.reload(keep_selection=True, then=lambda: self.replayFinished.emit(out))

    def restore_all(self):
        """Restore every trashed photo of the library (a worker job); returns the job or None."""
        rows = self.win.catalog.trashed()
        if not rows:
            self.win.say("Nothing of this library is in the trash")
            return None
        self._one_at_a_time()
        self.win.say(f"Restoring {_n(rows)} from the trash…")
        self.handle = self.win.jobs.submit(trash.restore, [r["id"] for r in rows], with_catalog=True, name="trash",
                                           on_done=self._restored,
                                           on_error=lambda e: self.win.say(f"Not restored: {e}"))
        return self.handle

    def _restored(self, result) -> None:
        res, change = result
        if self.win.is_closed:
            return
        msg = f"{len(res.restored)} photo{'s' if len(res.restored) != 1 else ''} restored from the trash"
        if res.failed:
            msg += f"; {len(res.failed)} not: {res.failed[0][1]}"
        self.win.say(msg)
        self.win.reload(keep_selection=True, then=lambda: self.replayFinished.emit(change))


def _n(ids) -> str:
    return f"{len(ids)} photo{'s' if len(ids) != 1 else ''}"
