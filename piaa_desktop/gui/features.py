"""Plugs the feature views and background jobs into the main window.

* **Ranking** ("which do you prefer?", R), **drag-to-reorder** (O), **compare** (C) / **survey** (N)
  central views.
* **Develop** panel (D) following the selection; auto-enhance (E) lives in it.
* **Export** dialog (Ctrl+E), **keep best of each stack**, XMP sidecars after every culling change.
* **Personal model** re-trained in the background after new ratings or preferences (debounced), then
  the library is re-scored; the order on screen holds still ("new order ready", F5). Training runs on a worker
  thread with its own catalog connection; the GUI thread only receives the result.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from piaa_desktop.core.catalog import Catalog
from piaa_desktop.gui.workers import run_job

TRAIN_DEBOUNCE_MS = 1500


def personalize_job(catalog_path: str, paths, progress=None, cancel=None):
    """Re-train the personal model from the catalog's feedback (worker thread, own connection)."""
    from piaa_desktop.core.personal.jobs import personalize

    cat = Catalog.open(catalog_path)
    try:
        return personalize(cat, paths, progress=progress, cancel=cancel)
    finally:
        cat.close()


def train_enhancer_job(catalog_path: str, paths, progress=None, cancel=None) -> dict:
    """Learn the user's retouching style from their own edits (worker thread, own connection)."""
    from piaa_desktop.core.enhance import train_enhancer_from_catalog

    cat = Catalog.open(catalog_path)
    try:
        return train_enhancer_from_catalog(cat, paths, progress=progress, cancel=cancel)
    finally:
        cat.close()


def rescore_job(catalog_path: str, progress=None, cancel=None) -> int:
    """Personal scores for photos imported since the last training (worker thread)."""
    from piaa_desktop.core.personal.jobs import active_model, rescore

    cat = Catalog.open(catalog_path)
    try:
        if active_model(cat)[0] is None:
            return 0
        return rescore(cat, progress=progress, cancel=cancel)
    finally:
        cat.close()


class _Rebuilt(QWidget):
    """A central view whose content is rebuilt from the selection each time it is shown."""

    def __init__(self, factory, parent=None):
        super().__init__(parent)
        self.factory = factory
        self.inner: Optional[QWidget] = None
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel("Select two or more photos in the grid first.")
        self._lay.addWidget(self.empty)

    def rebuild(self, ids: list[int]) -> None:
        if self.inner is not None:
            self.inner.setParent(None)
            self.inner.deleteLater()
            self.inner = None
        self.empty.setVisible(len(ids) < 2)
        if len(ids) >= 2:
            self.inner = self.factory(ids)
            self._lay.addWidget(self.inner)
            self.inner.setFocus()


class Features(QObject):
    """Owns the feature views of one MainWindow (see the module docstring)."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.train_handle = None
        self.enhancer_handle = None
        self.last_training = None
        self.last_enhancer_training = None
        self._train_again = False
        self._install_sidecars()
        self._install_ranking()
        self._install_compare()
        self._install_develop()
        self._install_actions()
        self.train_timer = QTimer(self)
        self.train_timer.setSingleShot(True)
        self.train_timer.setInterval(TRAIN_DEBOUNCE_MS)
        self.train_timer.timeout.connect(self.train_now)
        win.catalogChanged.connect(self._on_catalog_change)
        win.importFinished.connect(self._on_import_finished)
        win.currentPhotoChanged.connect(self._explain_current)

    # ------------------------------------------------------------------ sidecars
    def _install_sidecars(self) -> None:
        from piaa_desktop.core.sync import install_sidecar_hook

        self.sidecars = install_sidecar_hook(self.win.catalog, self.win.settings)

    # ------------------------------------------------------------------ ranking
    def _install_ranking(self) -> None:
        from piaa_desktop.gui.ranking_view import RankingView

        self.ranking = RankingView(self.win.catalog, self.win.image_loader)
        self.ranking.preferenceAdded.connect(lambda *_: self.schedule_training())
        self.win.add_view("ranking", self.ranking, "R", title="Rank")
        from piaa_desktop.gui.reorder_view import ReorderView

        self.reorder = ReorderView(self.win.catalog, self.win.image_loader)
        self.reorder.orderSaved.connect(lambda *_: self.schedule_training())
        self.win.add_view("reorder", self.reorder, "O", title="Order")
        self.win.viewChanged.connect(self._on_view_changed)

    # ------------------------------------------------------------------ compare and survey
    def _install_compare(self) -> None:
        from piaa_desktop.gui.compare_view import CompareView, SurveyView

        w = self.win
        self.compare = _Rebuilt(lambda ids: CompareView(w.catalog, ids, w.image_loader, w.undo_stack))
        self.survey = _Rebuilt(lambda ids: SurveyView(w.catalog, ids, w.image_loader, w.undo_stack))
        w.add_view("compare", self.compare, "C", title="Compare")
        w.add_view("survey", self.survey, "N", title="Survey")

    def _compare_ids(self) -> list[int]:
        ids = self.win.selected_ids()
        if len(ids) >= 2:
            return ids
        cur = self.win.current_id()
        order = self.win.model.ids() if hasattr(self.win.model, "ids") else []
        if cur is not None and cur in order:
            k = order.index(cur)
            return order[k : k + 2]
        return ids

    def _on_view_changed(self, name: str) -> None:
        if name == "compare":
            self.compare.rebuild(self._compare_ids())
        elif name == "survey":
            self.survey.rebuild(self._compare_ids())
        elif name == "ranking":
            self.ranking.refresh()
        elif name == "reorder":
            self.reorder.set_photos(self._compare_ids())
        elif name == "grid":
            self.win.refresh(keep_selection=True)

    # ------------------------------------------------------------------ develop
    def _install_develop(self) -> None:
        from piaa_desktop.gui.develop_panel import DevelopPanel

        w = self.win
        self.develop = DevelopPanel(w.catalog, w.undo_stack, paths=w.paths)
        self.develop.message.connect(w._say)
        self.develop_dock = w.add_panel("develop", self.develop, "D", title="Develop")
        w.info_dock.raise_()  # Info stays the panel shown at start; D brings Develop forward
        w.selectionChanged.connect(self._develop_follow)
        self.develop_dock.visibilityChanged.connect(lambda visible: visible and self._develop_follow())

    def _develop_follow(self, *_args) -> None:
        if not self.develop_dock.isVisible():
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
        if ids != self.develop.ids:
            self.develop.set_photos(ids, preview)

    # ------------------------------------------------------------------ menus
    def _install_actions(self) -> None:
        w = self.win
        A = w._action
        self.act_export = A("&Export…", self.show_export, "Ctrl+E", "Export picks, top photos or a selection")
        w.file_menu.insertAction(w.act_quit, self.act_export)
        w.file_menu.insertSeparator(w.act_quit)
        self.act_train = A("Learn my &taste now", self.train_now, "Ctrl+T",
                           "Re-train the personal score from your ratings and preferences")
        self.act_train_style = A("Learn my &retouching style", self.train_enhancer, None,
                                 "Train auto-enhance on the photos you developed by hand")
        self.act_reset = A("Reset personal model to the prior", self.reset_personal, None,
                           "Forget the personal model (your ratings and preferences are kept)")
        self.act_stacks = A("&Keep best of each stack", self.keep_best_of_stacks, None,
                            "Bursts and near-duplicates: pick the best of each stack, reject the rest (undoable)")
        self.act_auto = A("&Auto-enhance to my taste", self.auto_enhance, "E",
                          "Develop settings for the selected photos from your learned retouching style")
        m = w.photo_menu
        m.addSeparator()
        m.addAction(self.act_auto)
        m.addAction(self.act_train_style)
        m.addAction(self.act_stacks)
        m.addSeparator()
        m.addAction(self.act_train)
        m.addAction(self.act_reset)

    def auto_enhance(self) -> None:
        """Show the develop panel on the selection and auto-enhance it (the result stays editable)."""
        self.develop_dock.show()
        self.develop_dock.raise_()
        self._develop_follow()
        self.develop.auto_enhance()

    def train_enhancer(self):
        """Train the auto-enhancer on the user's own retouches in the background; progress in the status bar."""
        if self.enhancer_handle is not None and not self.enhancer_handle.done:
            return self.enhancer_handle
        self.win._say("Learning your retouching style…")
        self.enhancer_handle = run_job(
            train_enhancer_job,
            str(self.win.paths.catalog),
            self.win.paths,
            on_result=self._on_enhancer_trained,
            on_error=lambda exc: self.win._say(f"Retouching style not learned: {exc}"),
            on_progress=lambda d, t, m: self.win._say(f"Learning your retouching style… {m} {d}/{t}"),
            name="train-enhancer",
        )
        return self.enhancer_handle

    def _on_enhancer_trained(self, result) -> None:
        self.last_enhancer_training = result
        self.win._say(f"Auto-enhance now follows your retouching style ({result['n_pairs']} photos): press E")

    def shutdown(self) -> None:
        """Before the catalog closes: write pending develop edits, stop background jobs."""
        self.train_timer.stop()
        self.develop.shutdown()
        for h in (self.train_handle, self.enhancer_handle):
            if h is not None and not h.done:
                h.cancel()
                h.wait(30.0)

    def show_export(self):
        from piaa_desktop.gui.export_dialog import ExportDialog

        dlg = ExportDialog(self.win.catalog, self.win.selected_ids(), self.win.settings, self.win)
        dlg.open()
        return dlg

    def keep_best_of_stacks(self):
        from piaa_desktop.core.stacks import find_stacks, keep_best_of_each_stack

        s = self.win.settings
        stacks = find_stacks(self.win.catalog, max_gap_s=s.get("stack_max_gap_s"), max_dist=s.get("stack_max_dist"))
        if not stacks:
            self.win._say("No stacks: no photos taken within seconds of each other that look alike")
            return []
        changes = keep_best_of_each_stack(self.win.catalog, stacks=stacks, undo_stack=self.win.undo_stack)
        self.win._say(f"Kept the best of {len(stacks)} stacks (Ctrl+Z undoes)")
        self.win.refresh(keep_selection=True)
        return changes

    # ------------------------------------------------------------------ personal model
    def _on_catalog_change(self, change) -> None:
        if change.field in ("rating", "preference") and change.photo_ids:
            self.schedule_training()

    def schedule_training(self) -> None:
        self.train_timer.start()

    def training_running(self) -> bool:
        return self.train_handle is not None and not self.train_handle.done

    def train_now(self):
        if self.training_running():
            self._train_again = True
            return None
        self.train_timer.stop()
        self.win._say("Learning your taste…")
        self.train_handle = run_job(
            personalize_job,
            str(self.win.paths.catalog),
            self.win.paths,
            on_result=self._on_trained,
            on_error=self._on_train_error,
            on_finished=self._on_train_finished,
            name="personalize",
        )
        return self.train_handle

    def _on_trained(self, result) -> None:
        self.last_training = result
        if getattr(result, "accepted", False):
            self.win._say(f"Personal model updated from {result.n_ratings} ratings and "
                          f"{result.n_preferences} preferences (new order ready: F5)")
        else:
            self.win._say(f"Personal model kept as it was: {getattr(result, 'message', result)}")
        self.win.refresh_scores()
        self.ranking.refresh()
        self._explain_current(self.win.current_id())

    def _on_train_error(self, exc) -> None:
        self.last_training = exc
        self.win._say(f"Personal model not updated: {exc}")

    def _on_train_finished(self) -> None:
        self.train_handle = None
        if self._train_again:
            self._train_again = False
            self.schedule_training()

    def reset_personal(self) -> None:
        from piaa_desktop.core.personal.jobs import reset_to_prior

        reset_to_prior(self.win.catalog)
        self.win._say("Personal model reset to the prior; your ratings and preferences are kept")
        self.win.refresh_scores()

    def _on_import_finished(self, result) -> None:
        if isinstance(result, BaseException):
            return
        run_job(rescore_job, str(self.win.paths.catalog),
                on_result=lambda n: n and self.win.refresh_scores(), name="rescore")

    def _explain_current(self, photo_id) -> None:
        panel = self.win.side_panel
        if not hasattr(panel, "set_explanation"):
            return
        if photo_id is None:
            panel.set_explanation([], set())
            return
        from piaa_desktop.core.flags import technical_flags
        from piaa_desktop.core.personal.jobs import explain

        try:
            reasons = explain(self.win.catalog, int(photo_id), top=4)
        except Exception:  # noqa: BLE001 - no embedding or no prior: nothing to explain
            reasons = []
        sig = self.win.catalog.signals([int(photo_id)]).get(int(photo_id))
        panel.set_explanation(reasons, technical_flags(sig) if sig else set())


def install(win) -> Features:
    win.features = Features(win)
    return win.features
