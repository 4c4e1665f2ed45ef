"""Info panel: how well the app knows the user's taste, and no personal "why" before a personal model."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication  # noqa: E402

from _gui_helpers import open_window  # noqa: E402


def test_side_panel_says_how_well_it_knows_the_taste(qtbot, app_paths, imported_library, tmp_path, shipped_prior):
    from piaa_desktop.core.personal import operations as jobs

    w = open_window(qtbot, app_paths)  # on small_library's 12 photos as the window imported them
    qtbot.waitExposed(w)
    ids = w.model.ids()
    assert len(ids) == 12
    w.select_ids([ids[0]], ids[0])
    w.features.personal._explain_current(ids[0])
    panel = w.side_panel
    assert "No personal model yet" in panel.confidence_label.text()
    assert "Why, for your taste" not in panel.why_label.text()  # no personal why before a personal model
    for pid, stars in zip(ids, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 5, 1]):
        w.catalog.set_rating([pid], stars)
    res = jobs.personalize(w.catalog)
    assert res.accepted and res.metrics["cv_answers"] == 12
    w.refresh_scores()
    w.features.personal._explain_current(ids[0])
    text = panel.confidence_label.text()
    assert "% of pairs" in text and "12 of your answers" in text
    assert text == jobs.taste_confidence(w.catalog)  # the core's words, as `piaa personalize` prints them
    assert "Why, for your taste" in panel.why_label.text()
    QApplication.processEvents()
    shot = os.environ.get("PIAA_SCREENSHOT_DIR")
    if shot:
        w.grab().save(os.path.join(shot, "taste_side_panel.png"))
    w.features.personal.train_timer.stop()
    qtbot.waitUntil(lambda: not w.features.personal.training_running(), timeout=60_000)
