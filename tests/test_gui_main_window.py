"""The real main window, driven like a photographer would: import a folder of real photos in the
background, cull with the keyboard, sort, filter, undo, loupe, cancel an import, skipped files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel  # noqa: E402

from piaa_desktop.core.catalog import Catalog  # noqa: E402
from piaa_desktop.gui.main_window import MainWindow  # noqa: E402
from _gui_helpers import open_window  # noqa: E402

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
IMPORT_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, app_paths):
    w = MainWindow(app_paths)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    yield w
    if w.features.importing.import_running():
        w.features.importing.cancel_import()
        w.features.importing._import_handle.wait(30)


@pytest.fixture
def imported_window(qtbot, app_paths, imported_library):
    """The window on small_library's 12 photos as the window's import left them (tests of the import import)."""
    w = open_window(qtbot, app_paths, active=True)
    assert w.model.rowCount() == 12
    return w


class KeyRecorder(QLabel):
    def __init__(self):
        super().__init__("a view")
        self.keys = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def keyPressEvent(self, e):
        self.keys.append(e.key())


def import_and_wait(qtbot, w: MainWindow, folder: Path):
    with qtbot.waitSignal(w.importFinished, timeout=IMPORT_TIMEOUT_MS) as blocker:
        assert w.features.importing.import_folder(folder) is not None
    return blocker.args[0]


def key(w: MainWindow, k, mods=Qt.KeyboardModifier.NoModifier, target=None):
    QTest.keyClick(target or w.grid, k, mods)


def fresh(app_paths) -> Catalog:
    """A second connection: proves the change reached the database, not only the window's memory."""
    return Catalog.open(app_paths.catalog)


def test_import_then_keyboard_culling_persists(qtbot, window, small_library, app_paths):
    w = window
    assert w.model.rowCount() == 0
    # what a listener of importFinished sees: the import is over in the status bar too (the job's own
    # `finished` signal may come in a later event-loop pass, under load)
    seen_at_finish = []
    w.importFinished.connect(lambda _r: seen_at_finish.append(
        (w.features.importing.import_progress.isVisible(), w.features.importing.import_cancel.isVisible())))
    res = import_and_wait(qtbot, w, small_library)
    assert not res.cancelled and len(res.new) == 12 and not res.errors
    assert w.model.rowCount() == 12
    assert seen_at_finish == [(False, False)]
    assert not w.features.importing.import_progress.isVisible()
    # library tree: "All photos" and the imported folder with its count
    tree = w.features.library.tree
    assert tree.item_for("all", None).text(1) == "12"
    item = tree.item_for("folder", str(small_library.resolve()))
    assert item.text(0) == small_library.name and item.text(1) == "12"
    assert w.current_id() is not None

    ids = w.model.ids()
    w.grid.setFocus()
    # one photo: the current one
    w.select_ids([ids[0]], ids[0])
    key(w, Qt.Key.Key_3)
    with fresh(app_paths) as cat:
        assert cat.photo(ids[0]).rating == 3
    # the whole selection
    w.select_ids(ids[2:5], ids[3])
    key(w, Qt.Key.Key_5)
    key(w, Qt.Key.Key_P)
    with fresh(app_paths) as cat:
        assert [cat.photo(i).rating for i in ids[2:5]] == [5, 5, 5]
        assert [cat.photo(i).flag for i in ids[2:5]] == [1, 1, 1]
        assert cat.photo(ids[1]).rating == 0
    assert w.model.record(ids[3]).rating == 5  # the grid shows it too
    assert w.side_panel.stars.rating() == 5
    key(w, Qt.Key.Key_X)
    with fresh(app_paths) as cat:
        assert [cat.photo(i).flag for i in ids[2:5]] == [-1, -1, -1]
    key(w, Qt.Key.Key_U)
    with fresh(app_paths) as cat:
        assert [cat.photo(i).flag for i in ids[2:5]] == [0, 0, 0]
    # colour label (Lightroom's 6)
    key(w, Qt.Key.Key_6)
    assert w.catalog.photo(ids[3]).color_label == "red"

    # undo / redo: Ctrl+Z three times walks back label, unflag, reject
    key(w, Qt.Key.Key_Z, CTRL)
    assert w.catalog.photo(ids[3]).color_label is None
    key(w, Qt.Key.Key_Z, CTRL)
    key(w, Qt.Key.Key_Z, CTRL)
    with fresh(app_paths) as cat:
        assert [cat.photo(i).flag for i in ids[2:5]] == [1, 1, 1]
    key(w, Qt.Key.Key_Z, CTRL | SHIFT)
    with fresh(app_paths) as cat:
        assert [cat.photo(i).flag for i in ids[2:5]] == [-1, -1, -1]
    assert w.model.record(ids[2]).flag == -1

    # 0 clears the rating
    key(w, Qt.Key.Key_0)
    assert [w.catalog.photo(i).rating for i in ids[2:5]] == [0, 0, 0]

    # arrows move the current photo in the grid
    w.select_ids([ids[0]], ids[0])
    key(w, Qt.Key.Key_Right)
    assert w.current_id() == ids[1] and w.selected_ids() == [ids[1]]


def test_sort_keeps_selection_and_current_and_filters(qtbot, imported_window):
    w = imported_window
    ids = w.model.ids()
    assert ids == w.catalog.query_ids(sort="capture_time")
    chosen = [ids[1], ids[6], ids[9]]
    w.select_ids(chosen, current=ids[6])
    seen = []
    w.selectionChanged.connect(seen.append)

    w.set_sort("generic")
    generic = w.catalog.query_ids(sort="generic")
    assert w.model.ids() == generic and generic != ids
    scores = w.catalog.scores("generic")
    assert [scores[i] for i in generic] == sorted(scores.values(), reverse=True)
    assert sorted(w.selected_ids()) == sorted(chosen)
    assert w.current_id() == ids[6]
    assert seen and sorted(seen[-1]) == sorted(chosen)
    assert w.sort_combo.currentData() == "generic"

    # rate two photos, sort by rating: they come first, selection still kept
    w.select_ids([generic[-1], generic[-2]], generic[-1])
    key(w, Qt.Key.Key_4)
    w.set_sort("rating")
    assert set(w.model.ids()[:2]) == {generic[-1], generic[-2]}
    assert w.current_id() == generic[-1]
    assert sorted(w.selected_ids()) == sorted([generic[-1], generic[-2]])

    # filter: 4 stars and up -> only the two
    w.set_filter(min_rating=4)
    assert sorted(w.model.ids()) == sorted([generic[-1], generic[-2]])
    assert "2 photos" in w.count_label.text()
    w.set_filter(min_rating=0)
    assert w.model.rowCount() == 12

    # flag filter: picks only; rejecting while "hide rejects" is on removes the photo from the grid
    w.select_ids([ids[0]], ids[0])
    key(w, Qt.Key.Key_P)
    w.set_filter(flag="picked")
    assert w.model.ids() == [ids[0]]
    w.set_filter(flag="not_rejected")
    w.select_ids([ids[5]], ids[5])
    key(w, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: w.model.row_of(ids[5]) is None, timeout=5000)
    assert w.model.rowCount() == 11
    assert w.current_id() is not None  # the next photo became current
    w.set_filter(flag="all")
    assert w.model.rowCount() == 12


def test_loupe_toggle_navigation_and_side_panel(qtbot, imported_window):
    w = imported_window
    ids = w.model.ids()
    w.select_ids([ids[0]], ids[0])
    # side panel: name, generic score with its 5-bin distribution
    detail = w.catalog.score_detail(ids[0])["generic"]
    assert w.side_panel.name_label.text() == w.model.record(ids[0]).name
    assert w.side_panel.generic_card.value.text() == f"{detail['score']:.2f}"
    assert w.side_panel.generic_card.chart.values() == pytest.approx(detail["distribution"])
    from PIL import Image

    width, height = Image.open(w.model.record(ids[0]).path).size
    assert f"{width} × {height}" in w.side_panel.exif_labels["dimensions"].text()

    # clicks in the side panel act on the whole selection, like the keys
    w.select_ids([ids[0], ids[1]], ids[0])
    stars = w.side_panel.stars
    QTest.mouseClick(stars, Qt.MouseButton.LeftButton, pos=QPoint(int(3.5 * (2 * stars.r + stars.gap)), stars.height() // 2))  # 4th star
    assert [w.catalog.photo(i).rating for i in ids[:2]] == [4, 4]
    w.side_panel.pick_button.click()
    assert [w.catalog.photo(i).flag for i in ids[:2]] == [1, 1]
    w.side_panel.swatches[3].click()  # green
    assert [w.catalog.photo(i).color_label for i in ids[:2]] == ["green", "green"]
    assert w.model.record(ids[1]).color_label == "green"
    key(w, Qt.Key.Key_Z, CTRL)
    key(w, Qt.Key.Key_Z, CTRL)
    key(w, Qt.Key.Key_Z, CTRL)
    assert [w.catalog.photo(i).rating for i in ids[:2]] == [0, 0]
    assert w.side_panel.stars.rating() == 0 and not w.side_panel.pick_button.isChecked()
    w.select_ids([ids[0]], ids[0])

    w.grid.setFocus()
    key(w, Qt.Key.Key_Space)
    assert w.current_view() == "loupe"
    assert w.stack.currentWidget() is w.loupe
    assert w.loupe.current_id() == ids[0]
    qtbot.waitUntil(lambda: w.loupe.has_preview(ids[0]), timeout=20000)
    pm = w.loupe.preview_pixmap(ids[0])
    rec = w.model.record(ids[0])
    assert (pm.width(), pm.height()) == (rec.width, rec.height)  # 481x321 originals: full size preview
    # the preview is fitted to the window
    r = w.loupe.image_rect()
    assert r.width() <= w.loupe.width() and r.height() <= w.loupe.height()
    assert abs(r.width() / r.height() - rec.width / rec.height) < 0.02

    # arrows step through the photos in the loupe; rating works there too
    key(w, Qt.Key.Key_Right, target=w.loupe)
    assert w.current_id() == ids[1] and w.loupe.current_id() == ids[1]
    key(w, Qt.Key.Key_2, target=w.loupe)
    assert w.catalog.photo(ids[1]).rating == 2
    key(w, Qt.Key.Key_Left, target=w.loupe)
    assert w.current_id() == ids[0]
    # Enter toggles back to the grid, Enter again opens the loupe, G goes to the grid
    key(w, Qt.Key.Key_Return, target=w.loupe)
    assert w.current_view() == "grid"
    key(w, Qt.Key.Key_Enter)
    assert w.current_view() == "loupe"
    key(w, Qt.Key.Key_G, target=w.loupe)
    assert w.current_view() == "grid"
    assert w.current_id() == ids[0]


def test_cancel_import_keeps_what_was_done_and_reimport_finishes(qtbot, window, tmp_path, photos_dir):
    w = window
    lib = tmp_path / "big"
    lib.mkdir()
    srcs = sorted(photos_dir.glob("*.jpg"))[:80]
    for src in srcs:
        shutil.copy2(src, lib / src.name)
    # cancel as soon as the first batch is committed
    cancelled_at = []

    def on_progress(done, total, message):
        if message.startswith("Imported") and done > 0 and not cancelled_at:
            cancelled_at.append(done)
            assert w.features.importing.import_cancel.isVisible() and w.features.importing.import_progress.isVisible()
            w.features.importing.import_cancel.click()

    with qtbot.waitSignal(w.importFinished, timeout=IMPORT_TIMEOUT_MS) as blocker:
        h = w.features.importing.import_folder(lib)
        h.signals.progress.connect(on_progress)
    res = blocker.args[0]
    assert cancelled_at
    assert res.cancelled
    n = w.catalog.count_photos()
    assert 0 < n < len(srcs)
    assert w.model.rowCount() == n  # the grid shows what was imported
    assert "cancelled" in w.status_text().lower()
    qtbot.waitUntil(lambda: not w.features.importing.import_progress.isVisible(), timeout=5000)
    # the job's own `finished` (a queued event after importFinished) releases the import slot; before it a new
    # import is queued, not started (failed once in a parallel run, 2 workers at load 4.6)
    qtbot.waitUntil(lambda: w.features.importing._import_handle is None, timeout=10_000)
    # the next import continues where the cancelled one stopped
    res2 = import_and_wait(qtbot, w, lib)
    assert not res2.cancelled
    assert len(res2.new) == len(srcs) - n and res2.unchanged == n
    assert w.model.rowCount() == len(srcs)


def test_window_responsive_during_import(qtbot, imported_window, imported_library, tmp_path):
    """While the import runs the GUI thread keeps rating photos already in the grid and answering."""
    w = imported_window
    first = w.model.ids()[0]
    ticks = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    more = tmp_path / "more"
    more.mkdir()
    for i, src in enumerate(sorted(imported_library.glob("*.jpg"))):
        # new content (re-encoded with a different quality) so the scan has real work
        from PIL import Image

        with Image.open(src) as im:
            im.save(more / f"x{i}.jpg", quality=70 + i)
    with qtbot.waitSignal(w.importFinished, timeout=IMPORT_TIMEOUT_MS):
        w.features.importing.import_folder(more)
        w.select_ids([first], first)
        key(w, Qt.Key.Key_4)  # during the import
    timer.stop()
    assert w.catalog.photo(first).rating == 4
    assert ticks  # the event loop ran while the import worked
    assert w.model.rowCount() == 24
    assert w.current_id() == first


def test_skipped_files_dialog_lists_bad_files(qtbot, window, small_library):
    w = window
    (small_library / "empty.jpg").write_bytes(b"")
    (small_library / "garbage.jpg").write_bytes(b"this is not a jpeg at all" * 10)
    good = sorted(small_library.glob("0*.jpg"))[0].read_bytes()
    (small_library / "truncated.jpg").write_bytes(good[: len(good) // 3])
    res = import_and_wait(qtbot, w, small_library)
    bad = {Path(p).name for p, _r in res.errors}
    assert {"empty.jpg", "garbage.jpg"} <= bad
    assert w.features.importing.skipped_button.isVisible()
    dlg = w.features.importing.show_skipped_files()
    qtbot.addWidget(dlg)
    assert [p for p, _r in dlg.rows()] == sorted(p for p, _r in dlg.rows())  # sorted by path
    rows = dict((Path(p).name, r) for p, r in dlg.rows())
    assert "empty" in rows["empty.jpg"]
    assert rows["garbage.jpg"]
    assert len(rows) == len(w.catalog.import_errors())
    assert w.model.rowCount() == 12 + (0 if "truncated.jpg" in bad else 1)


def test_extension_points(qtbot, imported_window, imported_library):
    w = imported_window
    ids = w.model.ids()
    ranking = KeyRecorder()
    act = w.add_view("recorder", ranking, "K")
    assert "recorder" in w.view_names() and act.shortcut().toString() == "K"
    w.select_ids([ids[0]], ids[0])
    key(w, Qt.Key.Key_K)
    assert w.current_view() == "recorder" and w.stack.currentWidget() is ranking
    # the view gets its own keys (P, digits, Enter): they do not cull the grid's hidden selection
    for k in (Qt.Key.Key_P, Qt.Key.Key_3, Qt.Key.Key_Return, Qt.Key.Key_Left):
        QTest.keyClick(ranking, k)
    assert ranking.keys == [Qt.Key.Key_P, Qt.Key.Key_3, Qt.Key.Key_Return, Qt.Key.Key_Left]
    assert w.catalog.photo(ids[0]).flag == 0 and w.catalog.photo(ids[0]).rating == 0
    assert w.current_view() == "recorder"
    QTest.keyClick(ranking, Qt.Key.Key_K)
    assert w.current_view() == "grid"
    key(w, Qt.Key.Key_P)  # back in the grid, P picks again
    assert w.catalog.photo(ids[0]).flag == 1
    with pytest.raises(ValueError):
        w.add_view("recorder", QLabel(), None)

    # a folder that does not exist: a message, no job, no blocking dialog
    assert w.features.importing.import_folder(imported_library / "no-such-folder") is None
    assert "not a folder" in w.status_text() and not w.features.importing.import_running()

    dock = w.add_panel("develop", QLabel("develop"), "D")
    assert dock.widget().text() == "develop"

    got = []
    w.selectionChanged.connect(got.append)
    w.select_ids([ids[3], ids[1]], ids[3])
    assert got and got[-1] == [ids[1], ids[3]]  # grid order
    assert w.selected_ids() == [ids[1], ids[3]] and w.current_id() == ids[3]

    img = w.image_loader(ids[3])
    rec = w.model.record(ids[3])
    assert not img.isNull()
    assert abs(img.width() / img.height() - rec.width / rec.height) < 0.02
    assert w.image_loader(10**9).isNull()

    # refresh picks up changes made by another connection (e.g. a worker) and keeps the selection
    with fresh(w.paths) as cat:
        cat.set_rating([ids[1]], 5)
    w.refresh(keep_selection=True)
    assert w.model.record(ids[1]).rating == 5
    assert w.selected_ids() == [ids[1], ids[3]] and w.current_id() == ids[3]


def test_thumbnails_load_lazily_for_visible_rows(qtbot, imported_window):
    w = imported_window
    w.resize(700, 420)  # room for a few cells only (the toolbar may keep the window a little wider)
    w.set_cell_size(300)
    qtbot.waitUntil(lambda: 0 < len(list(w.grid.visible_rows())) < 12, timeout=5000)
    w.grid.scrollToTop()
    QTest.qWait(50)
    w.thumbs.invalidate()
    loads_before = w.thumbs.loads
    w.grid.viewport().update()
    visible = list(w.grid.visible_rows())
    assert 0 < len(visible) < 12
    qtbot.waitUntil(lambda: all(w.thumbs.pixmap(w.model.id_at(r)) is not None for r in visible), timeout=20000)
    QTest.qWait(200)
    not_visible = [r for r in range(12) if r not in visible]
    cached = [r for r in not_visible if w.thumbs.pixmap(w.model.id_at(r)) is not None]
    assert not cached, f"rows {cached} were loaded although not visible ({visible} visible)"
    assert w.thumbs.loads - loads_before >= len(visible)
    # scrolling to the end loads the last rows
    w.grid.scrollToBottom()
    last = w.model.id_at(11)
    qtbot.waitUntil(lambda: w.thumbs.pixmap(last) is not None, timeout=20000)


def test_interrupted_import_is_offered_and_resumed(qtbot, window, small_library, app_paths):
    """An import whose process died (a job row left 'running' with a dead pid) gets a Resume button
    after the start-up checks; resuming imports the folder and closes the old job."""
    import json

    w = window
    with fresh(app_paths) as cat:
        job = cat.job_started("import", {"folder": str(small_library)})
        with cat.transaction() as tx:  # the process that started it is gone
            tx.execute("UPDATE jobs SET args=? WHERE id=?", (json.dumps({"folder": str(small_library), "_pid": 2**22 + 7}), job))
    done = []
    w.features.importing.run_startup_checks(then=lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    assert w.features.importing.recovery_report is not None and w.features.importing.recovery_report.resumable
    assert w.features.importing.resume_button.isVisibleTo(w)
    assert "did not finish" in w.status_text()
    with qtbot.waitSignal(w.importFinished, timeout=IMPORT_TIMEOUT_MS):
        w.features.importing.resume_button.click()
    assert w.model.rowCount() == 12
    assert not w.features.importing.resume_button.isVisibleTo(w)
    with fresh(app_paths) as cat:
        states = dict(cat.conn.execute("SELECT id, state FROM jobs").fetchall())
    assert states[job] == "resumed"
    assert sorted(states.values()) == ["done", "resumed"]
