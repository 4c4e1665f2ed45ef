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
EXPLAIN_DEBOUNCE_MS = 120


def _explain_job(catalog, photo_id: int):
    """Worker: (photo id, reasons, confidence words, signals) for the Info panel."""
    from piaa_desktop.core.personal.operations import explain, taste_confidence

    try:
        reasons = explain(catalog, int(photo_id), top=4)  # [] while no personal model exists
    except Exception:  # noqa: BLE001 - no embedding or no prior: nothing to explain
        reasons = []
    try:
        confidence = taste_confidence(catalog)
    except Exception:  # noqa: BLE001 - a damaged metrics row: say nothing rather than fail
        confidence = ""
    return int(photo_id), reasons, confidence, catalog.signals([int(photo_id)]).get(int(photo_id))


def _scores(catalog) -> dict:
    """The personal scores (the only kind these jobs change), read on the worker with their arrays
    (core.library.ScoreMap): the GUI thread then only puts them into its records and sort column."""
    from piaa_desktop.core.library import score_maps

    return score_maps(catalog, ("personal",))


def rescore_job(catalog, progress=None, cancel=None) -> tuple[int, dict]:
    """Personal scores for photos imported since the last training (0 without a personal model); a stale
    personal model is re-trained (core.personal.operations.rescore_personal); and the scores to show."""
    from piaa_desktop.core.personal.operations import rescore_personal

    n = rescore_personal(catalog, progress=progress, cancel=cancel)
    return n, (_scores(catalog) if n else {})


def personalize_job(catalog, paths, records=None, progress=None, cancel=None):
    """:func:`core.personal.operations.personalize`, then the scores to show (read on the worker). ``records``:
    the window's records, given the new scores here too (``ScoreMap.records_set``), so the GUI thread does not
    spend ~40 ms on 100,000 records when it shows them (benchmarks/gui_actions.py, the re-training after a
    whole-library rating); :meth:`MainWindow.refresh_scores` puts them itself into any other records."""
    from piaa_desktop.core.library import put_scores
    from piaa_desktop.core.personal.operations import personalize

    result = personalize(catalog, paths, progress=progress, cancel=cancel)
    scores = _scores(catalog)
    if records is not None:
        try:
            put_scores(records, "personal", scores["personal"])
            scores["personal"].records_set = records
        except RuntimeError:  # the dict changed size while read here: the GUI thread puts them
            pass
    return result, scores


def reset_job(catalog, progress=None, cancel=None):
    """:func:`core.personal.operations.reset_to_prior`, then the scores to show (read on the worker)."""
    from piaa_desktop.core.personal import operations

    return operations.reset_to_prior(catalog, progress=progress, cancel=cancel), _scores(catalog)


class PersonalFeature(Feature):
    name = "personal"

    def __init__(self, win):
        super().__init__(win)
        self.train_handle = None
        self.last_training = None
        self._train_again = False
        self._shut_down = False  # after shutdown() no training starts (a write the closing window finishes
        # late, e.g. the culling feature's big rating, would start the timer again)
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
        # the "why this score" of the current photo, computed off the GUI thread (explain() reads every
        # embedding of the library: seconds at 100,000 photos), once the current photo stays 120 ms
        self._explain_pid = None
        self._explain_handle = None
        self._explain_seq = 0  # a result older than the last explanation shown is dropped
        self._explain_timer = QTimer(self)
        self._explain_timer.setSingleShot(True)
        self._explain_timer.setInterval(EXPLAIN_DEBOUNCE_MS)
        self._explain_timer.timeout.connect(self._explain_start)
        win.currentPhotoChanged.connect(self.explain_later)

    def shutdown(self) -> None:
        """Before the catalog closes: stop the timers and the training."""
        self._shut_down = True
        self.train_timer.stop()
        self._explain_timer.stop()
        h = self.train_handle
        if h is not None and not h.done:
            h.cancel()
            h.wait(30.0)

    # ------------------------------------------------------------------ personal model
    def _on_catalog_change(self, change) -> None:
        if change.field in ("rating", "preference") and change.photo_ids:
            self.schedule_training()

    def schedule_training(self) -> None:
        if not self._shut_down:
            self.train_timer.start()

    def training_running(self) -> bool:
        return self.train_handle is not None and not self.train_handle.done

    def train_now(self):
        if self._shut_down:
            return None
        if self.training_running():
            self._train_again = True
            return None
        self.train_timer.stop()
        self.win.say("Learning your taste…")
        self.train_handle = self.win.jobs.submit(
            personalize_job,
            self.win.paths,
            self.win.model.records(),
            with_catalog=str(self.win.paths.catalog),
            on_done=self._on_trained,
            on_error=self._on_train_error,
            on_finished=self._on_train_finished,
            name="personalize",
        )
        return self.train_handle

    def _on_trained(self, done) -> None:
        result, scores = done
        self.last_training = result
        if getattr(result, "accepted", False):
            msg = f"Personal model updated from {result.n_ratings} ratings and {result.n_preferences} preferences"
        else:
            msg = f"Personal model kept as it was: {getattr(result, 'message', result)}"
        self.win.refresh_scores(scores)
        self.win.say(msg + (" · new order ready: F5" if self.win.order_is_stale() else ""), transient=True)
        self.explain_later(self.win.current_id())

    def _on_train_error(self, exc) -> None:
        self.last_training = exc
        self.win.say(f"Personal model not updated: {exc}")

    def _on_train_finished(self) -> None:
        self.train_handle = None
        if self._train_again:
            self._train_again = False
            self.schedule_training()

    def reset_personal(self):
        """Back to the prior, re-scoring the library on a worker (the window never waits for it)."""

        def done(result) -> None:
            self.win.say("Personal model reset to the prior; your ratings and preferences are kept")
            self.win.refresh_scores(result[1])

        return self.win.jobs.submit(reset_job, with_catalog=str(self.win.paths.catalog), on_done=done,
                                    on_error=lambda exc: self.win.say(f"Personal model not reset: {exc}"),
                                    name="reset personal model")

    def _on_import_finished(self, result) -> None:
        if isinstance(result, BaseException):
            return
        self.win.jobs.submit(rescore_job, with_catalog=str(self.win.paths.catalog),
                             on_done=lambda r: r[0] and self.win.refresh_scores(r[1]), name="rescore")

    def explain_later(self, photo_id) -> None:
        """Explain ``photo_id``'s score in the Info panel soon, on a worker (the GUI thread never waits)."""
        self._explain_pid = photo_id
        if photo_id is None:
            self._explain_timer.stop()
            self._explain_current(None)
            return
        self._explain_timer.start()

    def _explain_start(self) -> None:
        if self._explain_handle is not None and not self._explain_handle.done:
            self._explain_timer.start()  # one at a time: the latest photo is explained after this one
            return
        pid = self._explain_pid
        if pid is None or self.win.is_closed:
            return
        self._explain_seq += 1
        seq = self._explain_seq
        self._explain_handle = self.win.jobs.submit(_explain_job, int(pid), with_catalog=True, name="explain",
                                                    on_done=lambda r, s=seq: self._explained(s, r))

    def _explained(self, seq: int, result) -> None:
        pid, reasons, confidence, sig = result
        if seq != self._explain_seq or pid != self.win.current_id():
            return  # the user moved on (or it was explained since): the newer explanation stands
        from piaa_desktop.core.flags import technical_flags

        panel = self.win.side_panel
        if not hasattr(panel, "set_explanation"):
            return
        if hasattr(panel, "set_confidence"):
            panel.set_confidence(confidence)
        panel.set_explanation(reasons, technical_flags(sig) if sig else set())

    def _explain_current(self, photo_id) -> None:
        """Explain now, on the calling thread (tests; :meth:`explain_later` is what the window uses)."""
        self._explain_seq += 1
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
