"""The window re-reads its records only when photos were added, removed or re-read; a big library re-reads
them on a worker, and nothing the user does meanwhile is lost.

At 100,000 photos a full read of the records costs ~1.5 s: leaving the loupe used to do one on the GUI
thread (a 1.5-2.5 s freeze each time), and so did a rating in the Rating sort. The records in memory are
kept current by catalog changes, so those refreshes re-sort what is in memory; the reloads that remain
(import, trash, undo of the trash) read on a worker above ``MainWindow.ASYNC_RELOAD_MIN`` photos."""
from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

import piaa_desktop.core.library as library  # noqa: E402
import piaa_desktop.gui.main_window as main_window  # noqa: E402
from _gui_helpers import open_window  # noqa: E402


@pytest.fixture
def window(qtbot, imported_library, app_paths):
    w = open_window(qtbot, app_paths, active=True)
    assert w.model.rowCount() == 12
    yield w
    qtbot.waitUntil(lambda: not w.reloading(), timeout=30_000)
    w.close()


@pytest.fixture
def reads(monkeypatch):
    """Counts every full read of the records, on the GUI thread or a worker."""
    count = []
    real = library.load_records

    def counting(catalog):
        count.append(threading.current_thread() is threading.main_thread())
        return real(catalog)

    monkeypatch.setattr(library, "load_records", counting)
    monkeypatch.setattr(main_window, "load_records", counting)
    return count


def test_leaving_the_loupe_and_rating_in_rating_order_do_not_reread_the_library(window, qtbot, reads):
    w = window
    w.set_sort("rating")
    pid = w.model.id_at(3)
    w.select_ids([pid], pid)
    w.show_view("loupe")
    QTest.keyClick(w.loupe, Qt.Key.Key_5)  # rated in the loupe, in Rating order
    qtbot.waitUntil(lambda: w.model.record(pid).rating == 5, timeout=5000)
    w.show_view("grid")  # leaving the loupe re-sorts: the 5-star photo first
    assert w.model.id_at(0) == pid and w.current_id() == pid
    QTest.keyClick(w.grid, Qt.Key.Key_0)  # a rating in the grid schedules a refresh (the order holds)
    qtbot.wait(50)
    assert w.model.record(pid).rating == 0 and w.model.id_at(0) == pid and w.order_is_stale()
    w.set_collapse_stacks(True)
    w.set_collapse_stacks(False)
    assert reads == []  # every one of those worked from the records in memory


def test_a_big_library_reloads_on_a_worker_and_keeps_a_rating_given_meanwhile(window, qtbot, reads, monkeypatch):
    w = window
    monkeypatch.setattr(type(w), "ASYNC_RELOAD_MIN", 0)
    gate = threading.Event()
    real = library.read_library

    def slow_read(catalog, previous=None):
        out = real(catalog, previous)  # read before the rating below...
        assert gate.wait(10)
        return out  # ...and shown after it

    monkeypatch.setattr(library, "read_library", slow_read)
    pid = w.model.id_at(0)
    done = []
    w.reload(then=lambda: done.append(w.model.record(pid).rating))
    assert w.reloading() and not done  # the GUI thread did not wait for the read
    w.select_ids([pid], pid)
    QTest.keyClick(w.grid, Qt.Key.Key_4)
    assert w.model.record(pid).rating == 4
    w.reload(then=lambda: done.append("second"))  # asked for while reading: one more read after it
    gate.set()
    qtbot.waitUntil(lambda: len(done) == 2, timeout=10_000)
    assert done == [4, "second"]  # the rating given while it read was applied to the records it read
    assert w.model.record(pid).rating == 4 and w.catalog.photo(pid).rating == 4
    assert w.current_id() == pid
    assert reads == [False, False]  # two reads, both on a worker
    assert not w.reloading()


def test_an_import_into_a_big_library_shows_its_photos_when_importfinished_is_emitted(
        window, qtbot, reads, monkeypatch, photos_dir, tmp_path):
    import shutil

    w = window
    monkeypatch.setattr(type(w), "ASYNC_RELOAD_MIN", 0)
    more = tmp_path / "more"
    more.mkdir()
    for src in sorted(photos_dir.glob("*.jpg"))[12:15]:
        shutil.copy2(src, more / src.name)
    seen = []
    w.importFinished.connect(lambda _r: seen.append((w.model.rowCount(), w.features.library.tree.item_for(
        "folder", str(more.resolve())).text(1))))
    with qtbot.waitSignal(w.importFinished, timeout=120_000):
        assert w.features.importing.import_folder(more) is not None
    assert seen == [(15, "3")]  # the grid and the folder tree had the new photos when the signal came
    assert reads and not any(reads)  # read on workers only


def test_selection_is_read_from_its_ranges(window, qtbot):
    """Ctrl+A, Shift+clicks and Ctrl+clicks: the ids in grid order and the count come from the selection's
    ranges (no index object per selected photo: Ctrl+A at 100,000 photos made 100,000 of them, three times)."""
    from PySide6.QtCore import QItemSelection, QItemSelectionModel

    w = window
    ids = w.model.ids()
    w.grid.setFocus()
    QTest.keyClick(w.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert w.selected_ids() == ids and w.selected_count() == 12
    assert "12 selected" in w.count_label.text()
    sm = w.grid.selectionModel()
    sel = QItemSelection()
    for top, bottom in ((7, 9), (1, 2), (2, 4), (11, 11)):  # out of order and overlapping, as Ctrl+clicks leave them
        sel.select(w.model.index(top, 0), w.model.index(bottom, 0))
    sm.select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    rows = [1, 2, 3, 4, 7, 8, 9, 11]
    assert w.selected_ids() == [ids[r] for r in rows]
    assert w.selected_count() == len(rows) and f"{len(rows)} selected" in w.count_label.text()
    sm.clearSelection()
    assert w.selected_ids() == [] and w.selected_count() == 0
