"""Resetting the personal model re-scores the library on a worker thread (never on the GUI thread), reads the
new scores there too, then the grid's records get the prior's scores."""
from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from _gui_helpers import open_window  # noqa: E402


def test_reset_to_prior_rescores_on_a_worker(qtbot, app_paths, imported_library, monkeypatch, shipped_prior):
    from piaa_desktop.core.personal import operations as ops

    w = open_window(qtbot, app_paths)
    ids = w.model.ids()
    for pid, stars in zip(ids, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]):
        w.catalog.set_rating([pid], stars)
    assert ops.personalize(w.catalog).accepted
    w.features.personal.train_timer.stop()
    w.refresh_scores()
    qtbot.wait(200)  # the refresh the synchronous personalize above scheduled
    assert w.catalog.score_detail(ids[-1])["personal"]["model_version"].startswith("personal-v")
    on_gui_thread = []
    real = ops.reset_to_prior

    def spy(catalog, *a, **k):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return real(catalog, *a, **k)

    monkeypatch.setattr(ops, "reset_to_prior", spy)
    # the scores are read on the worker too: the GUI thread only puts them into its records
    monkeypatch.setattr(w.catalog, "scores", lambda *a, **k: pytest.fail("scores read on the GUI thread"))
    handle = w.features.personal.reset_personal()
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    assert on_gui_thread == [False]
    assert ops.active_model(w.catalog) == (None, None)
    assert w.catalog.score_detail(ids[-1])["personal"]["model_version"] == "prior"
    qtbot.waitUntil(lambda: "reset to the prior" in w.status_label.text(), timeout=10_000)
    monkeypatch.undo()
    prior_scores = w.catalog.scores("personal")
    assert w.model.records()[ids[-1]].personal == prior_scores[ids[-1]]
    assert all(w.model.records()[i].personal == prior_scores[i] for i in ids)
