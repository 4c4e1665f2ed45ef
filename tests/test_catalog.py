import sqlite3
import time

import numpy as np
import pytest

from piaa_desktop.core.catalog import SCHEMA_VERSION, Catalog, CatalogError, UndoStack


def _add_photo(cat, path, folder_id, h="h"):
    now = time.time()
    with cat.transaction() as tx:
        return tx.execute(
            "INSERT INTO photos(folder_id, path, content_hash, size, mtime, added_at, updated_at) VALUES (?,?,?,?,?,?,?)",
            (folder_id, path, h + path, 1, 0.0, now, now),
        ).lastrowid


@pytest.fixture
def filled(catalog, tmp_path):
    fid = catalog.add_folder(tmp_path)
    ids = [_add_photo(catalog, str(tmp_path / f"p{i}.jpg"), fid) for i in range(5)]
    return catalog, ids


def test_new_catalog_has_schema_and_wal(catalog):
    assert catalog.schema_version == SCHEMA_VERSION
    assert catalog.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert catalog.integrity_check() == "ok"


def test_rating_flag_label_persist_and_undo(filled, app_paths):
    cat, ids = filled
    undo = UndoStack(cat)
    ch = undo.push(cat.set_rating(ids[:2], 4))
    assert ch.before == {ids[0]: 0, ids[1]: 0} and ch.after == {ids[0]: 4, ids[1]: 4}
    undo.push(cat.set_flag([ids[0]], 1))
    undo.push(cat.set_color_label([ids[2]], "red"))
    # persisted: a second connection sees it at once
    other = Catalog.open(app_paths.catalog)
    assert other.photo(ids[0]).rating == 4 and other.photo(ids[0]).flag == 1
    assert other.photo(ids[2]).color_label == "red"
    undo.undo()
    undo.undo()
    assert other.photo(ids[0]).flag == 0 and other.photo(ids[2]).color_label is None
    assert other.photo(ids[0]).rating == 4
    undo.undo()
    assert other.photo(ids[0]).rating == 0
    assert undo.undo() is None
    undo.redo()
    assert other.photo(ids[1]).rating == 4
    other.close()


def test_invalid_values_rejected(filled):
    cat, ids = filled
    with pytest.raises(ValueError):
        cat.set_rating(ids, 6)
    with pytest.raises(ValueError):
        cat.set_flag(ids, 2)
    with pytest.raises(ValueError):
        cat.add_preference(ids[0], ids[0])


def test_query_sort_and_filter(filled):
    cat, ids = filled
    cat.set_rating([ids[3]], 5)
    cat.set_rating([ids[1]], 3)
    cat.set_flag([ids[4]], -1)
    cat.set_scores("generic", [(i, float(k), None) for k, i in enumerate(ids)])
    assert cat.query_ids(sort="rating")[:2] == [ids[3], ids[1]]
    assert cat.query_ids(sort="generic") == list(reversed(ids))
    assert cat.query_ids(min_rating=3) == [ids[1], ids[3]] or set(cat.query_ids(min_rating=3)) == {ids[1], ids[3]}
    assert ids[4] not in cat.query_ids(include_rejected=False)
    assert cat.query_ids(flag=-1) == [ids[4]]
    # personal falls back to generic where no personal score exists
    cat.set_scores("personal", [(ids[0], 10.0, [0, 0, 0, 0, 1])])
    assert cat.query_ids(sort="personal")[0] == ids[0]
    with pytest.raises(ValueError):
        cat.query_ids(sort="nope")


def test_embeddings_roundtrip_float16(filled):
    cat, ids = filled
    vecs = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    cat.set_embeddings([(i, "m", "h", v) for i, v in zip(ids[:3], vecs)])
    got_ids, mat = cat.embeddings("m")
    assert got_ids.tolist() == ids[:3]
    np.testing.assert_allclose(mat, vecs, atol=2e-3)


def test_edits_and_preferences(filled):
    cat, ids = filled
    undo = UndoStack(cat)
    undo.push(cat.set_edit([ids[0]], {"exposure": 0.5}))
    undo.push(cat.set_edit([ids[0]], {"exposure": 1.0}))
    assert cat.get_edit(ids[0]) == {"exposure": 1.0}
    undo.undo()
    assert cat.get_edit(ids[0]) == {"exposure": 0.5}
    undo.undo()
    assert cat.get_edit(ids[0]) is None
    cat.add_preference(ids[1], ids[2])
    assert cat.preferences() == [(ids[1], ids[2])]


def test_migration_backs_up_old_catalog(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('owner', 'me')")
    conn.execute("PRAGMA user_version=0")
    conn.commit()
    conn.close()
    cat = Catalog.open(path, backup_dir=tmp_path / "backups")
    assert cat.schema_version == SCHEMA_VERSION
    assert cat.get_meta("owner") == "me"
    cat.close()
    # a version-0 file counts as new (no backup needed); pretend an older version and migrate again
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=0")
    conn.execute("INSERT INTO meta VALUES ('x', 'y')")
    conn.commit()
    conn.close()
    import piaa_desktop.core.catalog as c

    old = dict(c.MIGRATIONS)
    cur = c.SCHEMA_VERSION
    nxt = cur + 1
    try:
        c.MIGRATIONS[nxt] = "CREATE TABLE IF NOT EXISTS extra (a INTEGER)"
        c.SCHEMA_VERSION = nxt
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version={cur}")
        conn.commit()
        conn.close()
        cat = Catalog.open(path, backup_dir=tmp_path / "backups")
        assert cat.schema_version == nxt
        backups = list((tmp_path / "backups").glob("*.sqlite3"))
        assert len(backups) == 1
        b = sqlite3.connect(backups[0])
        assert b.execute("PRAGMA user_version").fetchone()[0] == cur
        assert b.execute("SELECT value FROM meta WHERE key='x'").fetchone()[0] == "y"
        b.close()
        cat.close()
    finally:
        c.MIGRATIONS.clear()
        c.MIGRATIONS.update(old)
        c.SCHEMA_VERSION = cur


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="newer"):
        Catalog.open(path)


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError):
        Catalog.open(path)


def test_rollback_on_error_keeps_previous_state(filled):
    cat, ids = filled
    cat.set_rating([ids[0]], 3)
    with pytest.raises(RuntimeError):
        with cat.transaction() as tx:
            tx.execute("UPDATE photos SET rating=5 WHERE id=?", (ids[0],))
            raise RuntimeError("boom")
    assert cat.photo(ids[0]).rating == 3
