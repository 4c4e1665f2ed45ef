"""The grid sorts and filters in memory exactly as the catalog's SQL does (ties and missing scores too)."""
import random
import time

import pytest

from piaa_desktop.core.catalog import Catalog
from piaa_desktop.gui.grid import load_records, sort_and_filter


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


@pytest.mark.parametrize("sort", sorted(Catalog.SORT_KEYS))
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
        assert sort_and_filter(recs, sort, **kw) == cat.query_ids(sort=sort, **kw), kw
