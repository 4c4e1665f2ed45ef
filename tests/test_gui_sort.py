"""The library's sort orders (core.library, the one definition used by the grid, the CLI and export)
agree with an independent SQL statement of each order (ties and missing scores too)."""
import random
import time

import pytest

from piaa_desktop.core.catalog import Catalog
from piaa_desktop.core.library import SORTS, load_records, sort_and_filter


@pytest.fixture
def messy_catalog(tmp_path):
    cat = Catalog.open(tmp_path / "c.sqlite3")
    rng = random.Random(3)
    folders = [cat.add_folder(tmp_path / f"f{i}") for i in range(3)]
    now = time.time()
    with cat.transaction() as tx:
        for i in range(400):
            tx.execute(
                "INSERT INTO photos(folder_id, path, content_hash, size, mtime, added_at, updated_at, rating, flag,"
                " capture_time) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (rng.choice(folders), f"/lib/{rng.choice('abc')}/{rng.randrange(60):03d}-{i}.jpg", f"h{i}", 1, 0.0,
                 now, now, rng.randrange(6), rng.choice((-1, 0, 0, 1)),
                 rng.choice((None, "2024-01-01T10:00:00", f"2024-01-0{rng.randrange(1, 9)}T1{rng.randrange(10)}:00:00"))),
            )
    ids = [r[0] for r in cat.conn.execute("SELECT id FROM photos")]
    # scores with ties and holes: some photos only generic, some both, some none
    cat.set_scores("generic", [(i, float(rng.randrange(5)), None) for i in ids if rng.random() < 0.8])
    cat.set_scores("personal", [(i, rng.choice((1.5, 2.5, 3.25)), None) for i in ids if rng.random() < 0.4])
    yield cat
    cat.close()


# Each order written independently as SQL: the specification the in-memory keys must meet.
REFERENCE_ORDER = {
    "capture_time": "COALESCE(p.capture_time, ''), p.path",
    "name": "p.path",
    "rating": "p.rating DESC, COALESCE(p.capture_time, ''), p.path",
    "generic": "sg.score IS NULL, sg.score DESC, p.id",
    "personal": "COALESCE(sp.score, sg.score) IS NULL, COALESCE(sp.score, sg.score) DESC, p.id",
    "added": "p.id",
}


def _reference(cat, sort, folder_id=None, min_rating=0, flag=None, include_rejected=True):
    where, params = ["p.missing=0"], []
    if folder_id is not None:
        where.append("p.folder_id=?")
        params.append(folder_id)
    if min_rating:
        where.append("p.rating>=?")
        params.append(min_rating)
    if flag is not None:
        where.append("p.flag=?")
        params.append(flag)
    elif not include_rejected:
        where.append("p.flag>=0")
    sql = ("SELECT p.id FROM photos p LEFT JOIN scores sg ON sg.photo_id=p.id AND sg.kind='generic' "
           "LEFT JOIN personal_scores sp ON sp.photo_id=p.id "  # the personal score's own table (schema v6)
           f"WHERE {' AND '.join(where)} ORDER BY {REFERENCE_ORDER[sort]}")
    return [r[0] for r in cat.conn.execute(sql, params)]


def test_every_sort_has_a_reference():
    assert set(SORTS) == set(REFERENCE_ORDER)


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_in_memory_sort_matches_sql(messy_catalog, sort):
    cat = messy_catalog
    recs = load_records(cat)
    folder = cat.folders()[1]["id"]
    for kw in (
        {},
        {"min_rating": 3},
        {"flag": 1},
        {"flag": -1},
        {"include_rejected": False},
        {"folder_id": folder, "min_rating": 1, "include_rejected": False},
    ):
        expected = _reference(cat, sort, **kw)
        assert sort_and_filter(recs, sort, **kw) == expected, kw
        assert cat.query_ids(sort=sort, **kw) == expected, kw
