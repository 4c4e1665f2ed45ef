"""Culling, keyboard first (Lightroom / Photo Mechanic keys): ``0``-``5`` stars, ``P`` pick, ``X``
reject, ``U`` unflag, ``6``-``9`` colour labels, ``Ctrl+Z`` / ``Ctrl+Shift+Z`` undo / redo; XMP
sidecars written after every change; *keep best of each stack*.

Every action applies to the window's target photos (the selection, else the current photo) and is
written to the catalog at once (a few rows in one transaction: fine on the GUI thread). The sidecars are
written by a background writer (``core.sync``: marked pending in the change's transaction, written in
order by one worker thread), so rating a big selection or cropping never waits for file writes; a sidecar
that cannot be written is said in the status bar. The window's close flushes the writer (``shutdown``);
sidecars a killed app left pending are written at the next start.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Optional

from PySide6.QtCore import Signal

from piaa_desktop.core.catalog import CULLING_FIELDS, Change
from piaa_desktop.gui.features.base import Feature
from piaa_desktop.gui.grid import COLOR_LABELS

COLOR_KEYS = {"6": "red", "7": "yellow", "8": "green", "9": "blue"}  # as in Lightroom
# The sidecar writer waits for this quiet moment after the last change: a crop dragged or stars pressed in a
# row are written once, after the thumbnails were re-rendered (a flush, the trash or closing writes at once)
SIDECAR_DELAY_S = 0.4
SIDECAR_CLOSE_WAIT_S = 20.0  # the window's close waits this long for the writer, at most
BULK_MIN = 5000  # a rating/flag/label (or its undo) of this many photos is written on a worker
NO_STACKS = "No stacks: no photos taken within seconds of each other that look alike"  # keep best found none


class CullingFeature(Feature):
    name = "culling"
    sidecarFailed = Signal(str, str)  # path, reason (emitted on the writer thread, delivered on the GUI's)

    def __init__(self, win):
        super().__init__(win)
        self._writes: deque = deque()  # changes waiting for a big one being written (gui thread)
        self._write_job = None
        self._install_sidecars()
        self._build_actions()

    # ------------------------------------------------------------------ sidecars
    def _install_sidecars(self) -> None:
        from piaa_desktop.core.sync import install_sidecar_hook

        self.sidecar_errors: list[tuple[str, str]] = []
        self._errors_lock = threading.Lock()
        self._errors_in: list[tuple[str, str]] = []  # from the writer thread, not yet said
        self._errors_signalled = False
        self._last_sidecar_error = [0.0, 0]  # when the last burst of errors began, how many since
        self.sidecarFailed.connect(self._sidecar_failed)
        self.sidecars = install_sidecar_hook(self.win.catalog, self.win.settings, background=True,
                                             on_error=self._sidecar_error_from_writer, delay=SIDECAR_DELAY_S)
        left = self.sidecars.writer.queue_left_pending()  # what a killed app left unwritten
        if left:
            self.win.say(f"Writing {left} XMP sidecar{'s' if left != 1 else ''} left from the last session")

    def _sidecar_error_from_writer(self, path: str, reason: str) -> None:  # writer thread
        # errors gather here; one signal wakes the GUI thread for all that came before it handles them (a
        # whole library re-rated in an unplugged or read-only folder: not 100,000 queued signals)
        with self._errors_lock:
            self._errors_in.append((path, reason))
            if self._errors_signalled:
                return
            self._errors_signalled = True
        try:
            self.sidecarFailed.emit(path, reason)
        except RuntimeError:  # the window is gone
            pass

    def _sidecar_failed(self, _path: str = "", _reason: str = "") -> None:
        import os

        with self._errors_lock:
            got, self._errors_in, self._errors_signalled = self._errors_in, [], False
        if not got:
            return
        self.sidecar_errors.extend(got)
        path, reason = got[-1]
        if self.win.is_closed:
            return
        now = time.monotonic()
        if now - self._last_sidecar_error[0] > 3.0:
            self._last_sidecar_error = [now, 0]
        self._last_sidecar_error[1] += len(got)
        n = self._last_sidecar_error[1]
        name = os.path.basename(path) or path
        if n == 1:
            self.win.say(f"XMP sidecar of {name} not written: {reason}")
        else:  # a big selection in a read-only folder: one message that counts, not one per photo
            last = reason if name in reason else f"{name}: {reason}"
            self.win.say(f"XMP sidecars of {n} photos not written; the last: {last}")

    def flush_sidecars(self, timeout: Optional[float] = None) -> bool:
        """Wait until every pending sidecar is written (tests; the window's close)."""
        return self.sidecars.flush(timeout)

    def shutdown(self) -> None:
        self.finish_writes()  # a big rating in flight committed and announced, the ones after it written
        # pending sidecars written before the catalog closes; a backlog longer than that (a whole library
        # re-rated) stays marked in the catalog and is written at the next start
        self.sidecars.close(timeout=SIDECAR_CLOSE_WAIT_S)

    # ------------------------------------------------------------------ actions and menus
    def _build_actions(self) -> None:
        w = self.win
        A = w.add_action
        self.act_undo = A("&Undo", self.undo, "Ctrl+Z")
        self.act_redo = A("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.rating_actions = [
            A(f"{'★' * r if r else 'No'} star{'s' if r != 1 else ''}" if r else "Clear rating",
              lambda r=r: self.set_rating(r), str(r), f"Rate the selected photos {r} star{'s' if r != 1 else ''}")
            for r in range(6)
        ]
        self.act_pick = A("&Pick", lambda: self.set_flag(1), "P", "Flag the selected photos as picks")
        self.act_reject = A("Re&ject", lambda: self.set_flag(-1), "X", "Flag the selected photos as rejects")
        self.act_unflag = A("&Unflag", lambda: self.set_flag(0), "U", "Remove the pick/reject flag")
        self.color_actions = {}
        keys = {v: k for k, v in COLOR_KEYS.items()}
        for name in COLOR_LABELS:
            self.color_actions[name] = A(name.capitalize(), lambda n=name: self.set_color_label(n), keys.get(name))
        self.act_no_color = A("No colour label", lambda: self.set_color_label(None), None)
        self.act_stacks = A("&Keep best of each stack", self.keep_best_of_stacks, None,
                            "Bursts and near-duplicates: pick the best of each stack, reject the rest (undoable)")

        edit = w.menu("edit")
        first = edit.actions()[0] if edit.actions() else None
        edit.insertAction(first, self.act_undo)
        edit.insertAction(first, self.act_redo)
        edit.insertSeparator(first)
        m = w.menu("photo")
        rm = m.addMenu("Set &rating")
        for a in self.rating_actions[1:] + self.rating_actions[:1]:
            rm.addAction(a)
        m.addSeparator()
        m.addAction(self.act_pick)
        m.addAction(self.act_reject)
        m.addAction(self.act_unflag)
        m.addSeparator()
        cm = m.addMenu("&Colour label")
        for a in self.color_actions.values():
            cm.addAction(a)
        cm.addAction(self.act_no_color)
        m.addSeparator()
        m.addAction(self.act_stacks)

        # Keys that act on the grid's selection; a view added without culling_keys gets them itself.
        w.register_culling_actions([
            *self.rating_actions, self.act_pick, self.act_reject, self.act_unflag, *self.color_actions.values(),
        ])
        w.side_panel.ratingRequested.connect(self.set_rating)
        w.side_panel.flagRequested.connect(self.set_flag)
        w.side_panel.colorLabelRequested.connect(self.set_color_label)
        self._update_undo_actions()

    # ------------------------------------------------------------------ culling
    def set_rating(self, rating: int) -> Optional[Change]:
        ids = self.win.target_ids()
        if not ids:
            return None
        words = (f"{'Cleared the rating of' if not rating else 'Rated'} {_n(ids)}" + (f" {'★' * rating}" if rating else ""))
        busy = f"{'Clearing the rating of' if not rating else 'Rating'} {_n(ids)}…"
        return self._write(lambda cat: cat.set_rating(ids, rating), len(ids), busy, words)

    def set_flag(self, flag: int) -> Optional[Change]:
        ids = self.win.target_ids()
        if not ids:
            return None
        verb = {1: "Pick", -1: "Reject", 0: "Unflagg"}[flag]
        return self._write(lambda cat: cat.set_flag(ids, flag), len(ids), f"{verb}ing {_n(ids)}…", f"{verb}ed {_n(ids)}")

    def set_color_label(self, label: Optional[str]) -> Optional[Change]:
        ids = self.win.target_ids()
        if not ids:
            return None
        return self._write(lambda cat: cat.set_color_label(ids, label), len(ids),
                           f"Colour label {label or 'removed'}: {_n(ids)}…", f"Colour label {label or 'removed'}: {_n(ids)}")

    def undo(self) -> Optional[Change]:
        return self._undo_redo(redo=False)

    def redo(self) -> Optional[Change]:
        return self._undo_redo(redo=True)

    def _undo_redo(self, redo: bool) -> Optional[Change]:
        top = self.win.undo_stack.peek(redo=redo)
        if self._writes or self._write_job is not None or (top is not None and self._big(top[0], top[1])):
            self._queue_write(lambda: self._undo_redo_now(redo))  # after the writes before it, in order
            return None
        return self._undo_redo_here(redo)

    def _undo_redo_here(self, redo: bool) -> Optional[Change]:
        """Undo or redo on this thread (a small change), and say it."""
        change = self.win.undo_stack.redo() if redo else self.win.undo_stack.undo()
        self.win.say(f"{'Redid' if redo else 'Undid'} {_describe(change)}" if change
                     else f"Nothing to {'redo' if redo else 'undo'}", transient=True)
        return change

    def _undo_redo_now(self, redo: bool) -> None:
        stack = self.win.undo_stack
        top = stack.peek(redo=redo)
        if top is None or not self._big(top[0], top[1]):
            self._undo_redo_here(redo)
            return
        entry = stack.take_redo(packed=True) if redo else stack.take_undo(packed=True)  # unpacked on the worker
        what = _describe(entry)

        def write(cat):
            change = stack.unpack(entry)
            return cat.apply_change(change if redo else change.inverse())

        self._start_write(write, f"{'Redoing' if redo else 'Undoing'} {what}…", f"{'Redid' if redo else 'Undid'} {what}",
                          settle=lambda ok: stack.settle(None, undone=not redo, ok=ok, packed=entry), pack=False)

    # ------------------------------------------------------------------ writing, in order
    # A change of BULK_MIN photos or more (Ctrl+A in a big library, then a key) is written on a worker, its own
    # catalog connection, one transaction (the sidecar marks inside it); the window's records, the sidecar
    # writer and the undo stack learn it when it is committed. Meanwhile the status bar says so, and every
    # further rating, flag, label, undo or redo waits in a queue: written after it, in the order pressed.
    def _big(self, field: str, n: int) -> bool:
        return n >= BULK_MIN and field in CULLING_FIELDS

    def _write(self, op, n: int, busy: str, words: str) -> Optional[Change]:
        if not self._writes and self._write_job is None and n < BULK_MIN:
            return self._write_here(op, words)
        self._queue_write(lambda: self._write_here(op, words) if n < BULK_MIN
                          else self._start_write(op, busy, words, push=True))
        return None

    def _write_here(self, op, words: str) -> Change:
        """Write ``op(catalog)`` on this thread (a small change), push it on the undo stack and say it."""
        change = self.win.undo_stack.push(op(self.win.catalog))
        self.win.say(words, transient=True)
        return change

    def _queue_write(self, step) -> None:
        self._writes.append(step)
        self._next_write()

    def _next_write(self) -> None:
        while self._writes and self._write_job is None and not self.win.is_closed:
            step = self._writes.popleft()
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - one failed write is said; the ones after it still run
                self.win.say(f"Not saved: {exc}")

    def _start_write(self, op, busy: str, words, push: bool = False, settle=None, pack: bool = True) -> None:
        """Write ``op(catalog)`` (a Change, or None: nothing written) on a worker; ``words``: what the status bar
        says when it is done (a string, or a function of the change)."""
        hooks = list(self.win.catalog.in_transaction)  # the sidecar marks, inside the worker's transaction
        records = self.win.model.records()  # the grid's records now (a reload may replace them meanwhile)

        def write(cat):
            from piaa_desktop.core.catalog import pack_change
            from piaa_desktop.core.library import set_field

            cat.in_transaction[:] = hooks
            change = op(cat)
            if change is None:  # nothing to write (keep best: no stacks)
                return None, None
            if change.field in CULLING_FIELDS:
                # committed: its values go into the records here, not in the GUI thread's announce (~50 ms at
                # 100,000 photos); the grid repaints, or writes them itself if other records are shown by then
                try:
                    set_field(records, change.field, change.photo_ids, change.after)
                    change.records_set = records
                except Exception:  # noqa: BLE001 - the announce writes them on the GUI thread instead
                    change.records_set = None
            return change, (pack_change(change) if pack else None)  # what the undo stack keeps, packed here

        def done(result) -> None:
            change, packed = result
            self._write_job = None
            try:
                if change is None:
                    if settle is not None:
                        settle(True)
                    self.win.say(words(None) if callable(words) else words, transient=True)
                    return
                if push:
                    self.win.undo_stack.push(change, packed=packed)
                if settle is not None:
                    settle(True)
                self.win.catalog.announce(change)  # records, sidecars, the views: as if written here
                change.records_set = None  # the undo stack may keep the change: not the records with it
                self.win.say(words(change) if callable(words) else words, transient=True)
            finally:
                self._next_write()  # what waits behind it, even if a listener failed

        def failed(exc: BaseException) -> None:
            self._write_job = None
            if settle is not None:
                settle(False)
            self.win.say(f"Not saved: {exc}")
            self._next_write()

        self.win.say(busy)
        self._write_job = self.win.jobs.submit(write, with_catalog=True, on_done=done, on_error=failed,
                                               name="culling-write")

    def writing(self) -> bool:
        """Whether a big change is being written or changes wait for their turn."""
        return self._write_job is not None or bool(self._writes)

    def finish_writes(self, timeout: float = 120.0) -> bool:
        """Wait for the write in flight and write what waits after it, on this thread (the window's close, tests)."""
        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout
        while self.writing() and time.monotonic() < deadline:
            job = self._write_job
            if job is not None:
                job.wait(max(0.0, deadline - time.monotonic()))
            QCoreApplication.processEvents()  # its on_done: announce, undo stack, the next write
            if self._write_job is None and self._writes:
                self._next_write()
        return not self.writing()

    def _update_undo_actions(self) -> None:
        self.act_undo.setEnabled(True)  # kept enabled so the shortcut always answers (with "Nothing to undo")
        self.act_redo.setEnabled(True)

    # ------------------------------------------------------------------ stacks
    def keep_best_of_stacks(self):
        """Pick the best photo of every stack and reject the rest, one undoable change. In a library of
        ``BULK_MIN`` photos or more (finding the stacks reads every photo: seconds at 100,000) the stacks are
        found and the flags written on a worker, in order with the other writes, and None is returned; the
        status bar says what it did when it is done."""
        from piaa_desktop.core.stacks import find_stacks, keep_best_of_each_stack

        s = self.win.settings
        limits = {"max_gap_s": s.get("stack_max_gap_s"), "max_dist": s.get("stack_max_dist")}
        records = self.win.model.records()  # every photo of the library, kept current by catalog changes
        if self._writes or self._write_job is not None or len(records) >= BULK_MIN:
            shown = list(records.values())  # taken here: the worker never iterates the window's dict

            def op(cat):  # the photos of the window's records (the library), on the worker
                from piaa_desktop.core.stacks import timestamps_of

                changes = keep_best_of_each_stack(cat, records=records, timestamps=timestamps_of(shown), **limits)
                return changes[0] if changes else None

            def words(change) -> str:
                if change is None:
                    return NO_STACKS
                return f"Kept the best of each stack: {_n([i for i, f in change.after.items() if f == -1])} rejected (Ctrl+Z undoes)"

            self._queue_write(lambda: self._start_write(op, "Finding stacks and keeping the best of each…", words,
                                                        push=True))
            return None
        stacks = find_stacks(self.win.catalog, **limits)
        if not stacks:
            self.win.say(NO_STACKS, transient=True)
            return []
        changes = keep_best_of_each_stack(self.win.catalog, stacks=stacks, undo_stack=self.win.undo_stack)
        self.win.say(f"Kept the best of {len(stacks)} stacks (Ctrl+Z undoes)", transient=True)
        self.win.refresh(keep_selection=True, reload=False)  # the flags reached the records as catalog changes
        return changes


def _n(ids) -> str:
    return f"{len(ids):,} photo{'s' if len(ids) != 1 else ''}"


def _describe(change: Optional[Change]) -> str:
    if change is None:
        return ""
    what = {"rating": "rating", "flag": "flag", "color_label": "colour label", "params": "edit",
            "keywords": "keywords", "trashed": "move to trash"}.get(change.field, change.field)
    return f"{what} of {_n(change.photo_ids)}"
