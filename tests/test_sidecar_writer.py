"""The background sidecar writer (core.sync): the GUI thread never waits for a sidecar, and nothing is lost.

* a photo changed many times before its turn is written once, with its last state;
* a flush writes everything; keyword changes compose (a keyword another tool wrote stays);
* a process killed before its writer wrote leaves the marks in the catalog: the next start writes them;
* trash waits for the writer; the CLI (synchronous) leaves nothing pending;
* in the window: an error reaches the status bar, and closing the window writes what is pending.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from piaa_desktop.core import sync, xmp
from piaa_desktop.core.catalog import Catalog, UndoStack
from piaa_desktop.core.settings import Settings

from _reliability_helpers import REPO, child_env


def _scan(catalog, folder, app_paths):
    from piaa_desktop.core.scanner import scan_folder

    res = scan_folder(catalog, folder, app_paths.cache_dir, workers=2)
    assert not res.errors
    return sorted(res.new)


@pytest.fixture
def bg(catalog):
    hook = sync.install_sidecar_hook(catalog, Settings(), background=True)
    yield hook
    hook.close(30)


def test_writer_coalesces_and_writes_the_last_state(catalog, small_library, app_paths, bg):
    ids = _scan(catalog, small_library, app_paths)
    a = ids[0]
    path = Path(catalog.photo(a).path)
    bg.writer.pause()
    for r in (1, 2, 3, 4, 5, 2):
        catalog.set_rating([a], r)
    catalog.set_flag([a], 1)
    catalog.set_color_label([a], "blue")
    assert bg.writer.pending() >= 1
    time.sleep(0.1)
    assert xmp.find_sidecar(path) is None  # nothing written while paused (the GUI thread did not write)
    assert catalog.sidecar_pending_ids() == [a]  # one mark for the photo, committed with the changes
    bg.writer.unpause()
    assert bg.flush(30)
    assert bg.writer.written == 1  # eight changes, one write
    assert xmp.read_sidecar(path) == {"rating": 2, "flag": 1, "color_label": "blue"}
    assert catalog.sidecar_pending_ids() == []


def test_writer_waits_for_a_quiet_moment_but_a_flush_does_not(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)
    path = Path(catalog.photo(ids[0]).path)
    hook = sync.install_sidecar_hook(catalog, Settings(), background=True, delay=3.0)
    try:
        for r in (1, 2, 3, 4):  # a burst: stars pressed in a row
            catalog.set_rating([ids[0]], r)
            time.sleep(0.05)
        assert hook.writer.written == 0 and xmp.find_sidecar(path) is None
        deadline = time.monotonic() + 20
        while hook.writer.written == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hook.writer.written == 1 and xmp.read_sidecar(path)["rating"] == 4  # once, after the burst
        catalog.set_rating([ids[1]], 5)
        t = time.monotonic()
        assert hook.flush(20)  # no waiting for the quiet moment
        assert xmp.read_sidecar(catalog.photo(ids[1]).path)["rating"] == 5
        assert time.monotonic() - t < 2.0  # well under the 3 s delay
    finally:
        hook.close(30)


def test_flush_writes_everything_in_order_and_keywords_compose(catalog, small_library, app_paths, bg):
    ids = _scan(catalog, small_library, app_paths)
    paths = {i: Path(catalog.photo(i).path) for i in ids}
    # a keyword written by another tool (never imported) must stay through every change
    xmp.write_sidecar(paths[ids[1]], keywords=["Other|tool"])
    undo = UndoStack(catalog)
    bg.writer.pause()
    undo.push(catalog.set_rating(ids, 3))
    undo.push(catalog.add_keywords(ids[:2], ["Places|Paris"]))
    undo.push(catalog.set_rating(ids[:4], 5))
    undo.push(catalog.add_keywords(ids[:2], ["Trip"]))
    undo.push(catalog.remove_keywords(ids[:2], ["Places|Paris"]))
    undo.undo()  # Paris back
    undo.push(catalog.set_flag([ids[0]], -1))
    assert bg.writer.queued() == ids  # FIFO: first changed first, each photo once
    assert sorted(catalog.sidecar_pending_ids()) == ids  # marked in the catalog with the changes
    bg.writer.unpause()
    assert bg.flush(60)
    assert catalog.sidecar_pending_ids() == []
    for k, i in enumerate(ids):
        vals = xmp.read_sidecar(paths[i])
        assert vals["rating"] == (5 if k < 4 else 3), (k, vals)
        if k < 2:
            assert sorted(vals["keywords"]) == (["Other|tool", "Places|Paris", "Trip"] if k == 1
                                                else ["Places|Paris", "Trip"]), vals
    assert xmp.read_sidecar(paths[ids[0]])["flag"] == -1
    # changes while the writer works: the last one wins, whatever the interleaving
    for r in (1, 2, 3, 4, 5, 0, 4):
        catalog.set_rating(ids[:6], r)
        time.sleep(0.002)
    assert bg.flush(60)
    assert all(xmp.read_sidecar(paths[i])["rating"] == 4 for i in ids[:6])
    assert catalog.sidecar_pending_ids() == []


def test_geometry_goes_to_the_sidecar_in_background_and_tone_does_not(catalog, small_library, app_paths, bg):
    ids = _scan(catalog, small_library, app_paths)
    a = ids[0]
    path = Path(catalog.photo(a).path)
    catalog.set_edit([a], {"exposure": 0.5})  # tone only: no sidecar
    assert catalog.sidecar_pending_ids() == []
    catalog.set_edit([a], {"exposure": 0.5, "crop_left": 0.1, "crop_right": 0.9, "angle": 2.0})
    assert bg.flush(30)
    found = xmp.read_geometry(path)
    assert found and found["piaa"]["angle"] == pytest.approx(2.0)


CRASH = r'''
import os, signal, sys
from piaa_desktop.core import sync
from piaa_desktop.core.catalog import Catalog
from piaa_desktop.core.settings import Settings
cat = Catalog.open(sys.argv[1])
hook = sync.install_sidecar_hook(cat, Settings(), background=True)
hook.writer.pause()  # the writer never gets to write: the process dies first
ids = [int(x) for x in sys.argv[2].split(",")]
cat.set_rating(ids, 4)
cat.add_keywords(ids[:1], ["Crash|test"])
cat.set_edit(ids[1:2], {"crop_left": 0.2, "crop_right": 0.8})
cat.set_flag(ids[2:3], -1)
print("changed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
'''


def test_killed_before_writing_then_reopened_writes_the_pending_sidecars(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)[:4]
    paths = [Path(catalog.photo(i).path) for i in ids]
    catalog.close()
    env = child_env(PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", CRASH, str(app_paths.catalog), ",".join(map(str, ids))],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == -9 and "changed" in r.stdout, r.stderr[-2000:]
    assert not any(xmp.find_sidecar(p) for p in paths)  # killed before any sidecar was written
    cat = Catalog.open(app_paths.catalog)
    try:
        assert sorted(cat.sidecar_pending_ids()) == ids  # the marks were committed with the changes
        assert cat.photo(ids[0]).rating == 4
        hook = sync.install_sidecar_hook(cat, Settings(), background=True)
        assert hook.writer.queue_left_pending() == 4
        assert hook.close(60)
        assert cat.sidecar_pending_ids() == []
        assert [xmp.read_sidecar(p)["rating"] for p in paths] == [4, 4, 4, 4]
        assert xmp.read_sidecar(paths[0])["keywords"] == ["Crash|test"]
        assert xmp.read_sidecar(paths[2])["flag"] == -1
        assert xmp.read_geometry(paths[1])["piaa"]["crop_left"] == pytest.approx(0.2)
    finally:
        cat.close()


def test_close_with_a_backlog_leaves_it_marked_for_the_next_start(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)
    hook = sync.install_sidecar_hook(catalog, Settings(), background=True)
    hook.writer.pause()  # a writer far behind (a whole library re-rated)
    catalog.set_rating(ids, 3)
    t = time.monotonic()
    assert hook.close(timeout=0.3) is False  # the close does not wait for all of them
    assert time.monotonic() - t < 20
    assert sorted(catalog.sidecar_pending_ids()) == ids  # nothing lost: marked for the next start
    again = sync.install_sidecar_hook(catalog, Settings(), background=True)
    try:
        assert again.writer.queue_left_pending() == len(ids)
        assert again.flush(60)
        assert all(xmp.read_sidecar(catalog.photo(i).path)["rating"] == 3 for i in ids)
    finally:
        again.close(30)


def test_cli_catalog_writes_at_once_and_leaves_nothing_pending(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)
    hook = sync.install_sidecar_hook(catalog, Settings())  # the CLI's: synchronous
    assert not hook.writer.background
    catalog.set_rating(ids[:3], 2)
    assert all(xmp.read_sidecar(catalog.photo(i).path)["rating"] == 2 for i in ids[:3])
    assert catalog.sidecar_pending_ids() == []


def test_trash_waits_for_pending_sidecars(catalog, small_library, app_paths, bg, tmp_path, monkeypatch):
    from piaa_desktop.core import trash

    moved = []
    monkeypatch.setattr(trash, "_send2trash", lambda: lambda p: moved.append((p, Path(p).read_bytes())))
    monkeypatch.setattr(trash, "_locate", lambda f, since: None)
    ids = _scan(catalog, small_library, app_paths)
    a = ids[0]
    path = Path(catalog.photo(a).path)
    bg.writer.pause()
    catalog.set_flag([a], -1)
    threading.Timer(0.3, bg.writer.unpause).start()
    trash.move_to_trash(catalog, [a])  # waits for the writer before it moves anything
    sidecar = [data for p, data in moved if p.endswith(".xmp")]
    assert [p for p, _ in moved][0] == str(path) and len(sidecar) == 1
    assert b'xmp:Rating="-1"' in sidecar[0] or b"<xmp:Rating>-1" in sidecar[0]


def test_writer_reports_errors(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)
    path = Path(catalog.photo(ids[0]).path)
    xmp.write_sidecar(path, rating=1)
    side = xmp.find_sidecar(path)
    os.chmod(side, 0o444)  # the user's "do not touch"
    seen = []
    hook = sync.install_sidecar_hook(catalog, Settings(), background=True, on_error=lambda p, r: seen.append((p, r)))
    try:
        catalog.set_rating([ids[0], ids[1]], 5)
        assert hook.flush(30)
    finally:
        hook.close(30)
        os.chmod(side, 0o644)
    assert len(seen) == 1 and seen[0][0] == str(path) and "read-only" in seen[0][1]
    assert hook.errors == seen
    assert xmp.read_sidecar(path)["rating"] == 1  # left untouched
    assert xmp.read_sidecar(catalog.photo(ids[1]).path)["rating"] == 5  # the others still written
    assert catalog.sidecar_pending_ids() == []  # reported, not retried at every start


# ---------------------------------------------------------------------------------------------- the window
def _window(qtbot, paths):
    pytest.importorskip("pytestqt")
    from piaa_desktop.gui.main_window import MainWindow

    w = MainWindow(paths)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def _import(qtbot, w, folder):
    with qtbot.waitSignal(w.importFinished, timeout=120_000):
        assert w.features.importing.import_folder(folder) is not None
    qtbot.waitUntil(lambda: w.model.rowCount() > 0, timeout=10_000)


def test_window_error_in_status_bar_and_close_writes_pending(qtbot, app_paths, small_library):
    w = _window(qtbot, app_paths)
    _import(qtbot, w, small_library)
    ids = w.model.ids()
    paths = {i: Path(w.catalog.photo(i).path) for i in ids}
    writer = w.features.culling.sidecars.writer
    assert writer.background
    # an error: a read-only sidecar is reported in the status bar
    xmp.write_sidecar(paths[ids[0]], rating=1)
    side = xmp.find_sidecar(paths[ids[0]])
    os.chmod(side, 0o444)
    try:
        w.select_ids([ids[0]])
        w.features.culling.set_rating(3)
        qtbot.waitUntil(lambda: "not written" in w.status_text(), timeout=10_000)
        assert paths[ids[0]].name in w.status_text() and "read-only" in w.status_text()
        # a selection in the same state: one message that counts them, not one per photo
        more = [xmp.write_sidecar(paths[i], rating=1) for i in ids[6:8]]
        for m in more:
            os.chmod(m, 0o444)
        w.select_ids(ids[6:8])
        w.features.culling.set_rating(2)
        qtbot.waitUntil(lambda: len(w.features.culling.sidecar_errors) == 3, timeout=10_000)
        # (3 with the first one when the writer got to them within the 3 s that make one burst)
        assert re.search(r"XMP sidecars of [23] photos not written; the last: ", w.status_text()), w.status_text()
    finally:
        os.chmod(side, 0o644)
        for m in xmp.find_sidecar(paths[ids[6]]), xmp.find_sidecar(paths[ids[7]]):
            if m is not None:
                os.chmod(m, 0o644)
    # pending sidecars: rating returns at once, the window's close writes them
    writer.pause()
    w.select_ids(ids[1:6])
    t = time.perf_counter()
    w.features.culling.set_rating(4)
    assert time.perf_counter() - t < 5.0
    assert not any(xmp.find_sidecar(paths[i]) for i in ids[1:6])
    threading.Timer(0.5, writer.unpause).start()
    w.close()
    assert [xmp.read_sidecar(paths[i])["rating"] for i in ids[1:6]] == [4] * 5
    cat = Catalog.open(app_paths.catalog)
    try:
        assert cat.sidecar_pending_ids() == []
    finally:
        cat.close()


def test_window_start_writes_what_a_killed_app_left(qtbot, app_paths, small_library):
    cat = Catalog.open(app_paths.catalog)
    ids = _scan(cat, small_library, app_paths)
    hook = sync.install_sidecar_hook(cat, Settings(), background=True)
    hook.writer.pause()
    cat.set_rating(ids[:3], 5)
    cat.conn.close()  # the process "dies" here: its writer never wrote, the catalog keeps the marks
    w = _window(qtbot, app_paths)
    try:
        assert "3 XMP sidecars left from the last session" in w.status_text()
        assert w.features.culling.flush_sidecars(30)
        for i in ids[:3]:
            assert xmp.read_sidecar(w.catalog.photo(i).path)["rating"] == 5
        assert w.catalog.sidecar_pending_ids() == []
    finally:
        w.close()
        hook.writer.unpause()
        hook.close(30)


def test_cli_after_a_killed_app_writes_the_pending_sidecars(small_library, app_paths):
    from piaa_desktop.cli.main import main

    cat = Catalog.open(app_paths.catalog)
    ids = _scan(cat, small_library, app_paths)
    hook = sync.install_sidecar_hook(cat, Settings(), background=True)
    hook.writer.pause()
    cat.set_rating(ids[:2], 3)
    cat.conn.close()  # killed: no clean close, two sidecars pending
    try:
        assert main(["--data-dir", str(app_paths.data_dir), "errors"]) == 0
        check = Catalog.open(app_paths.catalog)
        try:
            assert check.sidecar_pending_ids() == []
            assert all(xmp.read_sidecar(check.photo(i).path)["rating"] == 3 for i in ids[:2])
        finally:
            check.close()
    finally:
        hook.writer.unpause()
        hook.close(30)
