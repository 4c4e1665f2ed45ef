"""The "why this score" of the current photo is computed off the GUI thread (explain() reads every
embedding of the library) and shown when the current photo stays; a stale result never overwrites."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from _gui_helpers import open_window  # noqa: E402


def test_explanation_follows_the_current_photo_in_the_background(qtbot, app_paths, imported_library, monkeypatch,
                                                                  shipped_prior):
    from piaa_desktop.core.personal import operations as ops

    w = open_window(qtbot, app_paths)  # on small_library's 12 photos as the window imported them
    ids = w.model.ids()
    assert len(ids) == 12
    for pid, stars in zip(ids, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 5, 1]):
        w.catalog.set_rating([pid], stars)
    assert ops.personalize(w.catalog).accepted
    w.features.personal.train_timer.stop()
    w.refresh_scores()
    panel = w.side_panel
    calls = []
    real = ops.explain

    def spy(catalog, photo_id, *a, **k):
        calls.append((photo_id, catalog is w.catalog))
        return real(catalog, photo_id, *a, **k)

    monkeypatch.setattr(ops, "explain", spy)
    for pid in ids[:5]:  # arrowing through photos: only the one that stays is explained
        w.select_ids([pid], pid)
    qtbot.waitUntil(lambda: "Why, for your taste" in panel.why_label.text(), timeout=60_000)
    assert calls and calls[-1][0] == ids[4]
    assert not any(on_gui for _pid, on_gui in calls)  # a connection of its own: a worker thread
    assert len(calls) <= 2
    qtbot.waitUntil(lambda: not w.features.personal.training_running(), timeout=60_000)
