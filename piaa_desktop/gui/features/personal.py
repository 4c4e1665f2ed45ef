"""The personal model: re-trained in the background after new ratings or preferences (debounced), then
the library is re-scored (the order on screen holds still: "new order ready", F5); reset to the prior; new
photos scored after an import (the order on screen holds still: "new order ready", F5); the attributes behind the current photo's score in the Info panel.

Training runs through the window's jobs manager on a catalog connection of its own; the GUI thread
only receives the result.
"""
from __future__ import annotations

from PySide6.QtCore import QTimer

from piaa_desktop.gui.features.base import Feature

TRAIN_DEBOUNCE_MS = 1500


def rescore_job(catalog, progress=None, cancel=None) -> int:
    """Personal scores for photos imported since the last training (0 without a personal model)."""
    from piaa_desktop.core.personal.operations import active_model, rescore

    if active_model(catalog)[0] is None:
        return 0
    return rescore(catalog, progress=progress, cancel=cancel)


class PersonalFeature(Feature):
    name = "personal"

    def __init__(self, win):
        super().__init__(win)
        self.train_handle = None
        self.last_training = None
        self._train_again = False
        A = win.add_action
        self.act_train = A("Learn my &taste now", self.train_now, "Ctrl+T",
                           "Re-train the personal score from your ratings and preferences")
        self.act_reset = A("Reset personal model to the prior", self.reset_personal, None,
                           "Forget the personal model (your ratings and preferences are kept)")
        m = win.menu("photo")
        m.addSeparator()
        m.addAction(self.act_train)
        m.addAction(self.act_reset)
        self.train_timer = QTimer(self)
        self.train_timer.setSingleShot(True)
        self.train_timer.setInterval(TRAIN_DEBOUNCE_MS)
        self.train_timer.timeout.connect(self.train_now)
        win.catalogChanged.connect(self._on_catalog_change)
        win.importFinished.connect(self._on_import_finished)
        win.currentPhotoChanged.connect(self._explain_current)

    def shutdown(self) -> None:
        """Before the catalog closes: stop the timer and the training."""
        self.train_timer.stop()
        h = self.train_handle
        if h is not None and not h.done:
            h.cancel()
            h.wait(30.0)

    # ------------------------------------------------------------------ personal model
    def _on_catalog_change(self, change) -> None:
        if change.field in ("rating", "preference") and change.photo_ids:
            self.schedule_training()

    def schedule_training(self) -> None:
        self.train_timer.start()

    def training_running(self) -> bool:
        return self.train_handle is not None and not self.train_handle.done

    def train_now(self):
        from piaa_desktop.core.personal.operations import personalize

        if self.training_running():
            self._train_again = True
            return None
        self.train_timer.stop()
        self.win.say("Learning your taste…")
        self.train_handle = self.win.jobs.submit(
            personalize,
            self.win.paths,
            with_catalog=str(self.win.paths.catalog),
            on_done=self._on_trained,
            on_error=self._on_train_error,
            on_finished=self._on_train_finished,
            name="personalize",
        )
        return self.train_handle

    def _on_trained(self, result) -> None:
        self.last_training = result
        if getattr(result, "accepted", False):
            msg = f"Personal model updated from {result.n_ratings} ratings and {result.n_preferences} preferences"
        else:
            msg = f"Personal model kept as it was: {getattr(result, 'message', result)}"
        self.win.refresh_scores()
        self.win.say(msg + (" · new order ready: F5" if self.win.order_is_stale() else ""))
        self._explain_current(self.win.current_id())

    def _on_train_error(self, exc) -> None:
        self.last_training = exc
        self.win.say(f"Personal model not updated: {exc}")

    def _on_train_finished(self) -> None:
        self.train_handle = None
        if self._train_again:
            self._train_again = False
            self.schedule_training()

    def reset_personal(self) -> None:
        from piaa_desktop.core.personal.operations import reset_to_prior

        reset_to_prior(self.win.catalog)
        self.win.say("Personal model reset to the prior; your ratings and preferences are kept")
        self.win.refresh_scores()

    def _on_import_finished(self, result) -> None:
        if isinstance(result, BaseException):
            return
        self.win.jobs.submit(rescore_job, with_catalog=str(self.win.paths.catalog),
                             on_done=lambda n: n and self.win.refresh_scores(), name="rescore")

    def _explain_current(self, photo_id) -> None:
        panel = self.win.side_panel
        if not hasattr(panel, "set_explanation"):
            return
        if photo_id is None:
            panel.set_explanation([], set())
            return
        from piaa_desktop.core.flags import technical_flags
        from piaa_desktop.core.personal.operations import explain, taste_confidence

        try:
            reasons = explain(self.win.catalog, int(photo_id), top=4)  # [] while no personal model exists
        except Exception:  # noqa: BLE001 - no embedding or no prior: nothing to explain
            reasons = []
        if hasattr(panel, "set_confidence"):
            try:
                panel.set_confidence(taste_confidence(self.win.catalog))
            except Exception:  # noqa: BLE001 - a damaged metrics row: say nothing rather than fail
                panel.set_confidence("")
        sig = self.win.catalog.signals([int(photo_id)]).get(int(photo_id))
        panel.set_explanation(reasons, technical_flags(sig) if sig else set())
