"""Ranking view: file names under the photos, progress ("N answered · the model is N % sure"), the Info
panel following the pair; the certainty is the posterior's and rises with answers."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPointF  # noqa: E402
from PySide6.QtGui import QEnterEvent  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from _gui_helpers import open_window  # noqa: E402


@pytest.fixture
def library(app_paths, imported_library):
    """A catalog of 12 imported photos with their embeddings (small_library as the window imported it)."""
    from piaa_desktop.core.catalog import open_catalog

    cat = open_catalog(app_paths)
    if len(cat.embeddings()[0]) != 12:
        cat.close()
        pytest.skip("no backbone model to embed photos")
    yield cat
    cat.close()


def test_certainty_rises_with_answers(library):
    from piaa_desktop.core.personal.operations import preference_certainty

    before = preference_certainty(library)
    assert before is not None and 0.5 <= before <= 1.0
    ids = [p.id for p in library.photos()]
    # a consistent taste: lower ids preferred, 20 answers (no re-training: only the variance shrinks)
    for k in range(20):
        a, b = ids[k % 12], ids[(k * 5 + 3) % 12]
        if a != b:
            library.add_preference(min(a, b), max(a, b), source="ranking")
    after = preference_certainty(library)
    assert after > before


def test_ranking_view_names_progress_and_info_follows_the_pair(qtbot, app_paths, imported_library):
    w = open_window(qtbot, app_paths)  # on small_library's 12 photos as the window imported them
    qtbot.waitExposed(w)
    assert w.model.rowCount() == 12
    w.show_view("ranking")
    rv = w.features.ranking.ranking
    assert rv.current is not None
    a, b = rv.current
    assert rv.left_name.text() == w.catalog.photo(a).name and rv.right_name.text() == w.catalog.photo(b).name
    assert rv.status.text().startswith("0 answered · the model is ") and "% sure" in rv.status.text()
    # Info shows the left photo of the pair (the grid's current photo: its stars rate that photo)
    assert w.current_id() == a and w.side_panel._photo.id == a
    # the mouse on the right photo: Info follows
    QApplication.sendEvent(rv.right, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert w.current_id() == b and w.side_panel._photo.id == b
    rv.setFocus()
    QTest.keyClick(rv, Qt.Key.Key_Left)
    assert rv.status.text().startswith("1 answered")
    c, _d = rv.current
    assert w.side_panel._photo.id == c and rv.left_name.text() == w.catalog.photo(c).name
