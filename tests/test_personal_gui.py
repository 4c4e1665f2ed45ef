"""Ranking mode widget: keys and clicks record preferences; pairs come from the active-learning selector."""
from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402

from piaa_desktop.gui.ranking_view import RankingView  # noqa: E402


def _loader(pid: int) -> QImage:
    im = QImage(64, 48, QImage.Format.Format_RGB32)
    im.fill(QColor((pid * 40) % 255, 80, 120))
    return im


@pytest.fixture
def scanned(catalog, app_paths, small_library):
    from piaa_desktop.core.scanner import scan_folder

    scan_folder(catalog, small_library, app_paths.thumbnails)
    return catalog


def test_keys_and_clicks_record_preferences(qtbot, scanned):
    ids = [p.id for p in scanned.photos()]
    queue = [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[5]), (ids[6], ids[7])]
    calls = []

    def source(n, exclude):
        calls.append(n)
        out = list(queue)
        queue.clear()
        return out

    view = RankingView(scanned, _loader, pair_source=source)
    qtbot.addWidget(view)
    view.show()
    assert view.current == (ids[0], ids[1])
    assert view.left.pixmap() is not None and not view.left.pixmap().isNull()
    with qtbot.waitSignal(view.preferenceAdded) as sig:
        qtbot.keyClick(view, Qt.Key.Key_Right)
    assert sig.args == [ids[1], ids[0]]
    assert view.current == (ids[2], ids[3])
    qtbot.keyClick(view, Qt.Key.Key_Left)
    qtbot.keyClick(view, Qt.Key.Key_S)  # skip (ids[4], ids[5])
    qtbot.mouseClick(view.right, Qt.MouseButton.LeftButton)
    rows = scanned.conn.execute("SELECT winner_id, loser_id, source FROM preferences ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(ids[1], ids[0], "ranking"), (ids[2], ids[3], "ranking"),
                                        (ids[7], ids[6], "ranking")]
    assert view.answered == 3
    # nothing left: the view says so and keys do nothing
    assert view.current is None and "No pair" in view.status.text()
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert len(scanned.preferences()) == 3


def test_default_source_uses_active_learning_or_falls_back(qtbot, scanned):
    view = RankingView(scanned, _loader)
    qtbot.addWidget(view)
    assert view.current is None and view.pairs_fetched == 0  # nothing is computed for a view not shown
    view.show()
    qtbot.waitUntil(lambda: view.current is not None, timeout=10_000)  # found on a worker
    a, b = view.current
    assert a != b
    with qtbot.waitSignal(view.preferenceAdded):
        qtbot.keyClick(view, Qt.Key.Key_Left)
    assert scanned.preferences()[0] == (a, b)
    fetched = view.pairs_fetched
    view.refresh()
    assert view.current is not None and view.pairs_fetched == fetched + 1  # the shown pair stays; a new batch
    qtbot.waitUntil(lambda: view._pairs_handle is None, timeout=10_000)
    view.hide()
    view.refresh()  # hidden: nothing is computed until it is shown again
    assert view.pairs_fetched == fetched + 1
    view.show()
    qtbot.waitUntil(lambda: view.pairs_fetched == fetched + 2, timeout=10_000)
