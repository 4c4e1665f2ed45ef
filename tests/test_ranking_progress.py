"""Ranking view: file names under the photos, progress ("N answered", then the running check of how many
answers the model guessed before they were given, computed on a worker after every answer), the Info panel
following the pair. The display reacts to each answer, a slow check never shows an older answer's result
over a newer one, and nothing is claimed below the evidence threshold."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPointF  # noqa: E402
from PySide6.QtGui import QEnterEvent  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from _gui_helpers import open_window  # noqa: E402


def test_ranking_view_names_progress_and_info_follows_the_pair(qtbot, app_paths, imported_library):
    w = open_window(qtbot, app_paths)  # on small_library's 12 photos as the window imported them
    qtbot.waitExposed(w)
    assert w.model.rowCount() == 12
    w.show_view("ranking")
    rv = w.features.ranking.ranking
    qtbot.waitUntil(lambda: rv.current is not None, timeout=10_000)  # the pairs are found on a worker
    a, b = rv.current
    assert rv.left_name.text() == w.catalog.photo(a).name and rv.right_name.text() == w.catalog.photo(b).name
    assert rv.status.text().startswith("0 answered")
    qtbot.waitUntil(lambda: "Answer 10 more pairs to see how well it knows your taste" in rv.status.text(),
                    timeout=10000)  # the check of no answers, from the worker
    # Info shows the left photo of the pair (the grid's current photo: its stars rate that photo)
    assert w.current_id() == a and w.side_panel._photo.id == a
    # the mouse on the right photo: Info follows
    QApplication.sendEvent(rv.right, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert w.current_id() == b and w.side_panel._photo.id == b
    rv.setFocus()
    QTest.keyClick(rv, Qt.Key.Key_Left)
    assert rv.status.text().startswith("1 answered")  # at once, on the answer
    # then the worker's check of that answer: predicted by the model that had not seen it
    qtbot.waitUntil(lambda: "Answer 9 more pairs" in rv.status.text(), timeout=10000)
    assert ("it guessed your last choice" in rv.status.text()) != ("your last choice surprised it" in rv.status.text())
    c, _d = rv.current
    assert w.side_panel._photo.id == c and rv.left_name.text() == w.catalog.photo(c).name


# ------------------------------------------------------------------ the running check, on a worker
def _loader(pid: int):
    from PySide6.QtGui import QColor, QImage

    im = QImage(64, 48, QImage.Format.Format_RGB32)
    im.fill(QColor((pid * 40) % 255, 80, 120))
    return im


def _pairs(ids):
    pool = [(a, b) for k, a in enumerate(ids) for b in ids[k + 1:]]

    def source(n, exclude):
        out = [p for p in pool if frozenset(p) not in exclude][:n]
        del pool[:len(out)]
        return out

    return source


def test_a_slow_check_is_coalesced_and_never_overwrites_a_newer_one(qtbot, catalog, app_paths, small_library):
    """Answers faster than the checks: one check runs, the answers given meanwhile start ONE more (not one
    each), and a result older than the one on screen is dropped."""
    import threading

    from piaa_desktop.core.personal.confidence import running_check as words_check
    from piaa_desktop.core.personal.operations import RunningCheck
    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.gui.ranking_view import RankingView

    scan_folder(catalog, small_library, app_paths.thumbnails)
    ids = [p.id for p in catalog.photos()]
    gate = threading.Event()
    seen = []  # answers each check found in the catalog (read on the worker, with its own connection)

    def slow_check(cat, known, progress=None, cancel=None):
        n = len(cat.preferences())
        seen.append(n)
        if len(seen) == 1:
            assert gate.wait(10)
        check = words_check([1.0] * n, [-1.0] * n)
        return RunningCheck(n, {}, check, f"checked {n}", "")

    view = RankingView(catalog, _loader, pair_source=_pairs(ids), check_source=slow_check)
    qtbot.addWidget(view)
    shown = []
    view.show()  # the first check starts (and blocks on the gate)
    qtbot.waitUntil(lambda: seen == [0], timeout=5000)
    for k in range(4):
        before = view.status.text()
        qtbot.keyClick(view, Qt.Key.Key_Left)
        assert view.status.text() != before and view.status.text().startswith(f"{k + 1} answered")
    assert view.checks_started == 1  # the answers wait for the running check, none started beside it
    orig = view._checked

    def spy(seq, result):
        orig(seq, result)
        shown.append(view.check.n_answers)

    view._checked = spy
    gate.set()
    qtbot.waitUntil(lambda: "checked 4" in view.status.text(), timeout=10000)
    qtbot.waitUntil(lambda: view._check_handle is None, timeout=5000)
    assert seen == [0, 4] and view.checks_started == 2  # one more check for the four answers, not four
    assert shown == sorted(shown) and shown[-1] == 4
    # a late result of an older request is dropped: the newer check stays on screen
    orig(1, RunningCheck(0, {}, words_check([], []), "checked 0", ""))
    assert "checked 4" in view.status.text() and view.check.n_answers == 4


def test_the_running_check_follows_each_answer_and_waits_for_evidence(qtbot, app_paths, imported_library):
    """The real check (core.personal.operations.running_check) on a worker: no figure before 10 answers were
    predicted, then "It guessed k of your last n choices" with the generic score's count."""
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.gui.ranking_view import RankingView

    cat = open_catalog(app_paths)
    try:
        if len(cat.embeddings()[0]) != 12:
            pytest.skip("no backbone model to embed photos")
        ids = [p.id for p in cat.photos()]
        view = RankingView(cat, _loader, pair_source=_pairs(ids))
        qtbot.addWidget(view)
        view.show()
        for k in range(10):
            qtbot.keyClick(view, Qt.Key.Key_Left)
            # each answer gets its own check before the next one (a photographer's pace)
            qtbot.waitUntil(lambda k=k: view.check is not None and view.check.n_answers == k + 1, timeout=10000)
            text = view.status.text()
            assert text.startswith(f"{k + 1} answered · ")
            if k + 1 < 10:
                assert f"Answer {10 - k - 1} more pair" in text and "guessed" not in text.split("\n")[1]
        text = view.status.text()
        assert "It guessed" in text and "of your last 10 choices before you made them (the generic score " in text
        assert view.check.check["cv_pair_agreement"] is not None and view.check.fits == 1
        view.close()
    finally:
        cat.close()


def test_pairs_are_chosen_on_a_worker_and_a_retrained_model_replaces_the_queue(qtbot, catalog, app_paths,
                                                                              small_library, monkeypatch):
    """The default pair source runs off the GUI thread; the next batch is asked for while pairs remain; after
    a re-training (refresh) the pair on screen stays, a batch the old model was still choosing is dropped
    and the new model's batch replaces the queue."""
    import threading

    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.gui import ranking_view
    from piaa_desktop.gui.ranking_view import RankingView

    scan_folder(catalog, small_library, app_paths.thumbnails)
    ids = [p.id for p in catalog.photos()]
    batches = [[(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[5]), (ids[6], ids[7])],
               [(ids[8], ids[9]), (ids[10], ids[11])],  # the old model's (dropped)
               [(ids[1], ids[2]), (ids[3], ids[4])],  # the re-trained model's
               []]
    calls, threads = [], []
    gate = threading.Event()

    def fake(cat, n, exclude):
        calls.append(set(exclude))
        threads.append(threading.get_ident())
        if len(calls) == 2:
            assert gate.wait(10)
        return list(batches[min(len(calls), len(batches)) - 1])

    monkeypatch.setattr(ranking_view, "_find_pairs", fake)
    view = RankingView(catalog, _loader)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.current == batches[0][0], timeout=5000)
    assert threads[0] != threading.get_ident()  # not the GUI thread
    qtbot.keyClick(view, Qt.Key.Key_Left)  # 2 left in the queue: the next batch is asked for (and blocks)
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=5000)
    on_screen = view.current
    view.refresh()  # the personal model was re-trained
    assert view.current == on_screen
    gate.set()
    qtbot.waitUntil(lambda: len(calls) == 3 and view._pairs_handle is None, timeout=10000)
    assert view.current == on_screen and view._queue == batches[2]
    for _ in range(3):
        qtbot.keyClick(view, Qt.Key.Key_Left)
    answered = catalog.preferences()
    assert answered[-2:] == batches[2] and not {frozenset(p) for p in batches[1]} & {frozenset(p) for p in answered}


def test_checking_is_said_while_the_first_check_runs_and_not_after_a_check_without_words(qtbot, catalog,
                                                                                          app_paths, small_library):
    """With answers stored but no check on screen yet the view says it is checking them; a check that finds
    nothing to say (no prior or backbone: None) leaves the count alone, not a 'checking' that never ends."""
    import threading

    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.gui.ranking_view import RankingView

    scan_folder(catalog, small_library, app_paths.thumbnails)
    ids = [p.id for p in catalog.photos()]
    catalog.add_preference(ids[0], ids[1], source="ranking")
    gate = threading.Event()

    def no_words(cat, known, progress=None, cancel=None):
        assert gate.wait(10)
        return None

    view = RankingView(catalog, _loader, pair_source=_pairs(ids[2:]), check_source=no_words)
    qtbot.addWidget(view)
    view.show()
    assert view.status.text() == "1 answered · checking your answers…"
    gate.set()
    qtbot.waitUntil(lambda: view._check_handle is None, timeout=5000)
    assert view.status.text() == "1 answered"
