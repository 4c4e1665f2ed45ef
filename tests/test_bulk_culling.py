"""A rating, flag or colour label of a whole big library at once (Ctrl+A, then a key) and its undo: one
transaction of a few statements, the undo record packed, the sidecars marked in bulk; in the window a big
change is written on a worker while the status bar says so, and keys pressed meanwhile follow it in order."""
from __future__ import annotations

import pytest

from piaa_desktop.core import sync, xmp
from piaa_desktop.core.catalog import Catalog, UndoStack, _PackedChange
from _gui_helpers import open_window  # noqa: E402


@pytest.fixture
def big(tmp_path):
    """A catalog of 2,500 synthetic photos with mixed ratings, flags and labels."""
    from piaa_desktop.lab.synthetic import make_synthetic_catalog

    path = tmp_path / "big.sqlite3"
    make_synthetic_catalog(path, n=2500)
    cat = Catalog.open(path)
    ids = [r[0] for r in cat.conn.execute("SELECT id FROM photos ORDER BY id")]
    labels = [None, "red", "blue", "green"]
    with cat.transaction() as tx:
        tx.executemany("UPDATE photos SET rating=?, flag=?, color_label=? WHERE id=?",
                       [(k % 6, (k % 3) - 1, labels[k % 4], i) for k, i in enumerate(ids)])
    yield cat, ids
    cat.close()


def _state(cat):
    return {r[0]: (r[1], r[2], r[3]) for r in cat.conn.execute("SELECT id, rating, flag, color_label FROM photos")}


def test_bulk_rating_flag_label_and_undo_restore_exactly(big):
    cat, ids = big
    start = _state(cat)
    stack = UndoStack(cat)
    # duplicates and an id that is not in the catalog are ignored, as before
    ch = stack.push(cat.set_rating(ids + ids[:10] + [10 ** 9], 3))
    assert ch.photo_ids == ids and all(ch.after[i] == 3 for i in ids)
    assert ch.before == {i: start[i][0] for i in ids}
    assert isinstance(stack._undo[-1], _PackedChange)  # kept packed: ~10 bytes a photo
    assert stack._undo[-1].ids.nbytes == 8 * len(ids)
    stack.push(cat.set_flag(ids[::2], -1))
    stack.push(cat.set_color_label(ids[1::3], "purple"))
    after = _state(cat)
    assert all(after[i][0] == 3 for i in ids)
    assert all(after[i][1] == -1 for i in ids[::2]) and all(after[i][1] == start[i][1] for i in ids[1::2])
    assert all(after[i][2] == "purple" for i in ids[1::3]) and after[ids[0]][2] == start[ids[0]][2]
    for _ in range(3):
        stack.undo()
    assert _state(cat) == start  # every rating, flag and label as it was (None labels included)
    for _ in range(3):
        stack.redo()
    assert _state(cat) == after
    # the packed change gives the same Change back
    packed = _PackedChange(ch)
    back = packed.unpack()
    assert (back.kind, back.field, back.photo_ids, back.before, back.after) == (ch.kind, ch.field, ch.photo_ids, ch.before, ch.after)


def test_bulk_change_is_one_transaction(big, monkeypatch):
    """A failure inside the transaction (here the sidecar marks) leaves every photo as it was."""
    cat, ids = big
    start = _state(cat)
    sync.install_sidecar_hook(cat, None)

    def boom(*_a, **_k):
        raise OSError("disk gone")

    monkeypatch.setattr(cat, "add_sidecar_pending", boom)
    with pytest.raises(OSError):
        cat.set_rating(ids, 5)
    assert _state(cat) == start
    assert cat.conn.execute("SELECT COUNT(*) FROM sidecar_pending").fetchone()[0] == 0


def test_bulk_sidecar_marks_keep_a_pending_keyword_change(big):
    cat, ids = big
    hook = sync.install_sidecar_hook(cat, None)
    with cat.transaction() as tx:
        cat.put_sidecar_pending(tx, {ids[5]: (sync.KEYWORDS, ["Places|Paris"], ["Old"])})
    seq0 = cat.sidecar_pending(ids[5])["seq"]
    hook.writer.submit = lambda _ids: None  # nothing written: look at the marks
    ch = cat.set_rating(ids, 1)
    changed = [i for i in ids if ch.before[i] != 1]
    assert ch.sidecar_ids == changed
    rows = {r[0]: r for r in cat.conn.execute("SELECT photo_id, what, keywords_added, keywords_removed, seq FROM sidecar_pending")}
    assert set(rows) == set(changed) | {ids[5]}
    kw = cat.sidecar_pending(ids[5])
    assert kw["what"] == sync.KEYWORDS | sync.FIELDS and kw["keywords_added"] == ["Places|Paris"]
    assert kw["keywords_removed"] == ["Old"] and kw["seq"] > seq0
    seqs = [rows[i][4] for i in changed]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # written in the order of the change


def test_window_writes_a_big_rating_on_a_worker_in_order(qtbot, app_paths, imported_library, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from piaa_desktop.gui.features import culling

    monkeypatch.setattr(culling, "BULK_MIN", 5)  # 12 photos count as a big library
    win = open_window(qtbot, app_paths, active=True)
    cat, cull = win.catalog, win.features.culling
    ids = win.model.ids()
    assert len(ids) == 12
    # a sidecar another app wrote, with a field of its own
    first = cat.photo(ids[0])
    side = xmp.sidecar_path(first.path)
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmp:Rating="2" xmp:CreatorTool="OtherApp 1.0"/></rdf:RDF></x:xmpmeta>', encoding="utf-8")
    cat.set_rating([ids[0]], 2)
    cull.flush_sidecars(10)
    start = {i: (cat.photo(i).rating, cat.photo(i).flag) for i in ids}
    win.grid.setFocus()
    QTest.keyClick(win.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert win.selected_count() == 12
    cull.set_rating(3)  # the key 3: a worker writes it
    assert cull.writing() and win.status_text() == "Rating 12 photos…"
    assert cull.set_rating(5) is None  # pressed while the first is written: queued behind it
    cull.set_flag(-1)
    qtbot.waitUntil(lambda: not cull.writing(), timeout=30_000)
    assert all(cat.photo(i).rating == 5 and cat.photo(i).flag == -1 for i in ids)
    assert all(win.model.record(i).rating == 5 and win.model.record(i).flag == -1 for i in ids)
    # undo, one change at a time, in order
    QTest.keyClick(win.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    cull.undo()  # pressed at once: after the first undo
    qtbot.waitUntil(lambda: not cull.writing(), timeout=30_000)
    assert all(cat.photo(i).rating == 3 and cat.photo(i).flag == start[i][1] for i in ids)
    assert all(win.model.record(i).rating == 3 for i in ids)
    cull.undo()
    qtbot.waitUntil(lambda: not cull.writing(), timeout=30_000)
    assert {i: (cat.photo(i).rating, cat.photo(i).flag) for i in ids} == start
    assert win.status_text().startswith("Undid rating of 12 photos")
    cull.redo()
    qtbot.waitUntil(lambda: not cull.writing(), timeout=30_000)
    assert all(cat.photo(i).rating == 3 for i in ids)
    # the sidecars follow, the other app's field kept
    assert cull.flush_sidecars(30)
    assert xmp.read_sidecar(first.path)["rating"] == 3
    assert "OtherApp 1.0" in side.read_text(encoding="utf-8")
    assert all(xmp.read_sidecar(cat.photo(i).path)["rating"] == 3 for i in ids)
    win.close()


def test_window_close_writes_what_waits(qtbot, app_paths, imported_library, monkeypatch):
    from piaa_desktop.gui.features import culling

    monkeypatch.setattr(culling, "BULK_MIN", 5)
    win = open_window(qtbot, app_paths)
    ids = win.model.ids()
    win.select_ids(ids, ids[0])
    win.features.culling.set_rating(4)
    win.features.culling.set_color_label("red")  # queued when the window closes
    win.close()
    cat = Catalog.open(app_paths.catalog)
    try:
        assert all(cat.photo(i).rating == 4 and cat.photo(i).color_label == "red" for i in ids)
    finally:
        cat.close()


def test_many_sidecar_errors_reach_the_window_as_few_signals(qtbot, app_paths, imported_library):
    """A whole library re-rated in a read-only or unplugged folder: the writer's errors gather, the GUI
    thread is woken once per batch it has not handled yet (not once per photo) and says one counted message."""
    import threading

    win = open_window(qtbot, app_paths)
    cull = win.features.culling
    woken = []
    cull.sidecarFailed.connect(lambda *_: woken.append(1))

    def writer():
        for k in range(2000):
            cull._sidecar_error_from_writer(f"/gone/IMG_{k:04d}.jpg", "No such file or directory")

    t = threading.Thread(target=writer)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(cull.sidecar_errors) == 2000, timeout=10_000)
    assert len(woken) < 20, len(woken)
    assert win.status_text().startswith("XMP sidecars of 2000 photos not written; the last: IMG_1999.jpg"), win.status_text()
    win.close()


def test_no_sidecar_makes_the_folder_of_a_photo_that_is_gone(tmp_path):
    """A photo whose folder is gone (an unplugged drive): its sidecar is not written into a folder made
    again on the system disk; the reason says why."""
    gone = tmp_path / "usb" / "shoot" / "IMG_1.jpg"
    with pytest.raises(xmp.XmpError, match="not there"):
        xmp.write_sidecar(gone, rating=3)
    assert not (tmp_path / "usb").exists()


def test_grid_records_follow_a_big_change(qapp):
    """The grid's records after a change of thousands of photos (one repaint, no row lookups): one value for
    all, a value each (an undo), values for some only, ids the grid does not hold; the same as photo by photo."""
    from piaa_desktop.core.catalog import Change
    from piaa_desktop.core.library import PhotoRecord
    from piaa_desktop.gui.grid import PhotoListModel

    def model():
        m = PhotoListModel()
        recs = {i: PhotoRecord(i, f"/p/{i}.jpg", f"{i}.jpg", "h", 1, i % 6, (i % 3) - 1, None, 1, 1, None)
                for i in range(1, 5001)}
        m.set_records(recs)
        m.set_ids(list(recs))
        return m

    ids = list(range(1, 5001)) + [10 ** 6]  # one the grid does not hold
    changes = [
        Change("rating", "rating", ids, {i: i % 6 for i in ids}, dict.fromkeys(ids, 3)),
        Change("flag", "flag", ids, {}, {i: (i % 2) - 1 for i in ids}),
        Change("color_label", "color_label", ids, {}, {i: "red" for i in ids if i % 7}),  # some only
    ]
    repaints = []
    m = model()
    m.dataChanged.connect(lambda a, b, *_: repaints.append((a.row(), b.row())))
    for ch in changes:
        m.apply_change(ch)
    assert repaints == [(0, 4999)] * 3
    for i in range(1, 5001):
        r = m.record(i)
        assert (r.rating, r.flag, r.color_label) == (3, (i % 2) - 1, "red" if i % 7 else None)
    assert m.record(10 ** 6) is None


def test_grid_trusts_records_a_worker_already_set_and_only_those(qapp):
    """A big change written on a worker carries the records dict it already wrote its values into
    (``Change.records_set``, core.library.set_field): the grid then only repaints those records; records it
    was not written into (a reload replaced them meanwhile) are written on the GUI thread as before."""
    from piaa_desktop.core.catalog import Change
    from piaa_desktop.core.library import PhotoRecord, set_field
    from piaa_desktop.gui.grid import PhotoListModel

    def records():
        return {i: PhotoRecord(i, f"/p/{i}.jpg", f"{i}.jpg", "h", 1, 0, 0, None, 1, 1, None) for i in range(1, 3001)}

    ids = list(range(1, 3001))
    m = PhotoListModel()
    m.set_records(records())
    m.set_ids(ids)
    repaints = []
    m.dataChanged.connect(lambda a, b, *_: repaints.append((a.row(), b.row())))
    ch = Change("rating", "rating", ids, dict.fromkeys(ids, 0), {i: i % 6 for i in ids})
    set_field(m.records(), ch.field, ch.photo_ids, ch.after)  # what the worker does after its commit
    m.records()[7].rating = 0  # a value the grid would overwrite if it wrote them again
    ch.records_set = m.records()
    m.apply_change(ch)
    assert repaints == [(0, 2999)]
    assert m.record(7).rating == 0 and m.record(8).rating == 2  # not written a second time
    # the records were replaced (a reload) after the worker wrote into the old ones: written here
    m.set_records(records())
    m.apply_change(ch)
    assert all(m.record(i).rating == i % 6 for i in ids)
