"""The library tree, the search bar and the keyword panel in the real main window (offscreen)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from piaa_desktop.core import xmp  # noqa: E402
from piaa_desktop.core.paths import app_paths as make_paths  # noqa: E402
from piaa_desktop.core.sample import sample_photos  # noqa: E402
from piaa_desktop.gui.main_window import MainWindow  # noqa: E402

EXIFTOOL = shutil.which("exiftool")
IMPORT_TIMEOUT_MS = 120_000


def _nested(lib: Path) -> Path:
    """The sample photos in a tree: lib/city/*, lib/city/night/*, lib/nature/*."""
    photos = sample_photos()
    dirs = [lib / "city", lib / "city" / "night", lib / "nature"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    for k, src in enumerate(photos):
        shutil.copy2(src, dirs[k % 3] / src.name)
    return lib


@pytest.fixture
def nested_library(imported_templates, app_paths) -> Path:
    """The sample photos in a tree (:func:`_nested`), already imported by the window into ``app_paths`` (the
    import made once per worker, copied for this test: photos and data dir)."""
    return imported_templates.restore("nested", _nested, app_paths.data_dir)


def _window(qtbot, paths) -> MainWindow:
    w = MainWindow(paths)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def _import(qtbot, w: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(w.importFinished, timeout=IMPORT_TIMEOUT_MS):
        assert w.features.importing.import_folder(folder) is not None
    qtbot.waitUntil(lambda: w.model.rowCount() > 0, timeout=10_000)


def _grid_paths(w: MainWindow) -> set[str]:
    return {w.model.record(w.model.id_at(r)).path for r in range(w.model.rowCount())}


def _search(qtbot, w: MainWindow, text: str) -> None:
    with qtbot.waitSignal(w.features.library.searchFinished, timeout=10_000):
        if not text:
            w.features.library.search_bar.set_text("")  # cleared: all photos again
            return
        w.features.library.search_bar.edit.setFocus()
        w.features.library.search_bar.edit.selectAll()
        QTest.keyClicks(w.features.library.search_bar.edit, text)  # typed: the debounce runs it once
    qtbot.wait(20)


def test_folder_tree_scopes_the_grid(qtbot, app_paths, nested_library):
    w = _window(qtbot, app_paths)
    assert w.model.rowCount() == len(sample_photos())
    tree = w.features.library.tree
    night = str((nested_library / "city" / "night").resolve())
    city = str((nested_library / "city").resolve())
    item = tree.item_for("folder", night)
    assert item is not None and item.parent().data(0, Qt.ItemDataRole.UserRole + 1) == city  # a tree
    n_night = len(list((nested_library / "city" / "night").glob("*.jpg")))
    assert item.text(1) == str(n_night)
    tree.setCurrentItem(tree.item_for("folder", city))
    expect_city = {str(p.resolve()) for p in (nested_library / "city").rglob("*.jpg")}
    assert _grid_paths(w) == expect_city  # sub-folders included
    tree.setCurrentItem(item)
    assert _grid_paths(w) == {str(p.resolve()) for p in (nested_library / "city" / "night").glob("*.jpg")}
    assert w.features.library.describe_scope() == 'folder "night"'
    tree.setCurrentItem(tree.item_for("all", None))
    assert w.model.rowCount() == len(sample_photos())


def test_keyword_panel_search_smart_collection_exiftool_and_fresh_import(qtbot, app_paths, nested_library, tmp_path):
    w = _window(qtbot, app_paths)
    assert w.model.rowCount() == len(sample_photos())
    target = w.model.id_at(0)
    w.select_ids([target])
    panel = w.features.library.keywords
    panel.entry.setFocus()
    QTest.keyClicks(panel.entry, "Places|France|Paris")
    QTest.keyClick(panel.entry, Qt.Key.Key_Return)
    assert w.catalog.photo_keywords(target) == ["Places|France|Paris"]
    qtbot.waitUntil(lambda: panel.assigned.count() == 1, timeout=3000)
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1, timeout=5000)  # counted off the GUI thread
    assert panel.tree.topLevelItem(0).text(0) == "Places"
    path = Path(w.catalog.photo(target).path)
    assert w.features.culling.flush_sidecars(10)  # written by the background writer
    assert xmp.read_sidecar(path)["keywords"] == ["Places|France|Paris"]

    # search finds it (typed into the bar, debounced, run off the GUI thread)
    _search(qtbot, w, "kw:paris")
    assert [w.model.id_at(r) for r in range(w.model.rowCount())] == [target]
    assert w.catalog.photo(target).flag == 0  # the "p" typed into the search bar did not pick the photo
    assert w.current_view() == "grid"
    assert "1 found" in w.features.library.search_bar.hint.text()
    # a mistake keeps the last result and says why
    w.features.library.search_bar.set_text("kw:paris rating:9")
    assert w.model.rowCount() == 1 and "stars" in w.features.library.search_bar.hint.toolTip()
    # saved as a smart collection, which follows later changes
    cid = w.features.library.create_collection("Paris", "kw:Paris")
    _search(qtbot, w, "")
    assert w.model.rowCount() == len(sample_photos())
    second = w.model.id_at(1)
    w.select_ids([second])
    w.features.library.add_keyword("places|france|paris")  # another case: the same keyword
    w.features.library.tree.setCurrentItem(w.features.library.tree.item_for("smart", cid))
    qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=5000)
    # undo takes the keyword away from the sidecar too
    w.features.culling.undo()
    assert w.catalog.photo_keywords(second) == []
    second_path = Path(w.catalog.photo(second).path)
    assert w.features.culling.flush_sidecars(10)
    assert "keywords" not in (xmp.read_sidecar(second_path) or {})

    if EXIFTOOL:
        out = subprocess.run([EXIFTOOL, "-j", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject", str(path) + ".xmp"],
                             capture_output=True, text=True, timeout=60)
        got = json.loads(out.stdout)[0]
        assert got["Subject"] == "Paris" and got["HierarchicalSubject"] == "Places|France|Paris"

    # a fresh catalog importing the same folder reads the keyword, and its search finds it
    w2 = _window(qtbot, make_paths(tmp_path / "fresh-data").ensure())
    _import(qtbot, w2, nested_library)
    pid2 = w2.catalog.photo_by_path(path).id
    assert w2.catalog.photo_keywords(pid2) == ["Places|France|Paris"]
    _search(qtbot, w2, "kw:France")
    assert [w2.model.id_at(r) for r in range(w2.model.rowCount())] == [pid2]
    w2.close()


@pytest.fixture
def home_trash(tmp_path, monkeypatch) -> Path:
    """A private freedesktop trash inside tmp (the real user's trash is never touched)."""
    import os
    import sys

    if sys.platform in ("win32", "darwin"):
        pytest.skip("uses a redirected freedesktop trash")
    from send2trash import plat_other

    share = tmp_path / "home" / ".local" / "share"
    share.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(share))
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(share))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(share / "Trash"))
    return share / "Trash"


@pytest.mark.parametrize("on_worker", [False, True], ids=["small-library", "reload-on-worker"])
def test_move_rejected_of_the_folder_to_trash_and_undo(qtbot, app_paths, nested_library, home_trash, on_worker,
                                                       monkeypatch):
    from piaa_desktop.gui.main_window import MainWindow

    if on_worker:  # as in a library of thousands: the records are re-read on a worker, the signals wait for them
        monkeypatch.setattr(MainWindow, "ASYNC_RELOAD_MIN", 0)
    w = _window(qtbot, app_paths)
    assert w.model.rowCount() == len(sample_photos())
    nature = str((nested_library / "nature").resolve())
    city_photo = next((nested_library / "city").glob("*.jpg")).resolve()
    nature_photos = sorted(p.resolve() for p in (nested_library / "nature").glob("*.jpg"))
    # reject one photo in city and every nature photo, then look at the nature folder only
    w.select_ids([w.catalog.photo_by_path(city_photo).id])
    w.features.culling.set_flag(-1)
    w.select_ids([w.catalog.photo_by_path(p).id for p in nature_photos])
    w.features.culling.set_flag(-1)
    w.features.library.tree.setCurrentItem(w.features.library.tree.item_for("folder", nature))
    n = len(nature_photos)
    with qtbot.waitSignal(w.features.trash.trashFinished, timeout=30_000) as blocker:
        assert w.features.trash.trash_rejected(confirm=True) is not None
    title, detail = w.features.trash.last_question
    assert title == f'Move {n} rejected photos in folder "nature" to the trash?'
    assert f"{n} XMP sidecars" in detail and "nothing is deleted" in detail
    res = blocker.args[0]
    assert len(res.trashed) == n and res.sidecars == n
    assert not any(p.exists() for p in nature_photos) and city_photo.exists()  # only that folder
    assert sorted(x.name for x in (home_trash / "files").iterdir()) == sorted(
        [p.name for p in nature_photos] + [p.name + ".xmp" for p in nature_photos])
    assert w.model.rowCount() == 0
    w.features.library.tree.setCurrentItem(w.features.library.tree.item_for("all", None))
    assert w.model.rowCount() == len(sample_photos()) - n
    with qtbot.waitSignal(w.features.trash.replayFinished, timeout=30_000):  # the files move on a worker
        w.features.culling.undo()
    assert all(p.exists() and Path(str(p) + ".xmp").exists() for p in nature_photos)
    assert w.model.rowCount() == len(sample_photos())
    assert "move to trash" in w.status_text()


def test_folder_scoped_export_exports_only_from_that_folder(qtbot, app_paths, nested_library, tmp_path):
    w = _window(qtbot, app_paths)
    assert w.model.rowCount() == len(sample_photos())
    # the library's best photos (generic score) are outside "nature"
    nature = str((nested_library / "nature").resolve())
    ids = w.model.ids()
    scores = [(pid, 4.9 if not w.model.record(pid).path.startswith(nature) else 2.0 + 0.1 * k, None)
              for k, pid in enumerate(ids)]
    w.catalog.set_scores("generic", scores)
    w.refresh_scores()
    w.features.library.tree.setCurrentItem(w.features.library.tree.item_for("folder", nature))
    shown = set(w.model.ids())
    assert shown and all(w.model.record(i).path.startswith(nature) for i in shown)
    dlg = w.features.export.show_export()
    qtbot.addWidget(dlg)
    dlg.dest_edit.setText(str(tmp_path / "exported"))
    dlg.rb_top.setChecked(True)
    dlg.top_spin.setValue(50)
    assert dlg.from_combo.currentData() == "view"  # what the user sees is the default
    assert 'folder "nature"' in dlg.from_combo.currentText()
    assert dlg.count_label.text().startswith(f"{len(shown)} photo")
    # no personal model yet: the dialog names the ranking it really uses
    assert "the best 50 by the generic score (no personal model yet)" in dlg.count_label.text()
    assert 'from folder "nature"' in dlg.count_label.text()
    with qtbot.waitSignal(dlg.exportFinished, timeout=60_000) as blocker:
        assert dlg.start_export() is not None
    report = blocker.args[0]
    assert report.exported == len(shown)
    assert {r.photo_id for r in report.rows} == shown
    assert all(Path(r.source).parent == Path(nature) for r in report.rows)
    # the whole library, on request, ranks the others first
    dlg.from_combo.setCurrentIndex(dlg.from_combo.findData("library"))
    dlg.top_spin.setValue(2)
    assert not set(dlg.selected_ids()) & shown
