"""The numeric sorts (scores, stars) run as one numpy lexsort, and the window's sorts from kept columns
(SortColumns): the same order as the one definition of each sort (core.library.sort_key), ties, missing
scores, zeros and equal capture times included."""
from __future__ import annotations

import random

import pytest

from piaa_desktop.core.library import SORTS, PhotoRecord, SortColumns, _fast_order, read_library, sort_and_filter, sort_key


def _records(n: int, seed: int) -> list[PhotoRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pid = rng.randrange(1, 10 * n)
        score = rng.choice([None, 0.0, 1.0, 2.5, 2.5, rng.uniform(1, 5), rng.uniform(1, 5)])
        personal = rng.choice([None, None, 0.0, 3.0, rng.uniform(1, 5)])
        out.append(PhotoRecord(pid, f"/lib/{rng.choice('abc')}/img_{rng.randrange(50):03d}_{i}.jpg", "x", "h",
                               rng.choice([1, 2]),
                               rng.randrange(0, 6), rng.choice([-1, 0, 1]), None, None, None,
                               rng.choice([None, "2024-01-01T10:00:00", "2024-01-01T10:00:01", "2023-12-31T23:59:59"]),
                               score, personal))
    seen, uniq = set(), []  # unique ids, as in a catalog
    for r in out:
        if r.id not in seen:
            seen.add(r.id)
            uniq.append(r)
    return uniq


@pytest.mark.parametrize("sort", ["generic", "personal", "rating"])
@pytest.mark.parametrize("seed", range(5))
def test_fast_numeric_sorts_match_the_sort_keys(sort, seed):
    recs = _records(400, seed)
    expected = [r.id for r in sorted(recs, key=sort_key(sort))]
    assert _fast_order(list(recs), sort) == expected
    # and through sort_and_filter with a filter on
    by_id = {r.id: r for r in recs}
    assert sort_and_filter(by_id, sort, min_rating=2) == [i for i in expected if by_id[i].rating >= 2]


def test_other_sorts_keep_python_sort():
    recs = _records(20, 0)
    for sort in ("capture_time", "name", "added"):
        assert _fast_order(recs, sort) is None


FILTERS = [{}, {"min_rating": 2}, {"folder_id": 2}, {"flag": 1}, {"flag": -1}, {"include_rejected": False},
           {"folder_id": 1, "min_rating": 3, "include_rejected": False}]


@pytest.mark.parametrize("seed", range(3))
def test_kept_columns_give_every_sort_and_filter_exactly(seed):
    recs = _records(500, seed)
    by_id = {r.id: r for r in recs}
    for sort in SORTS:
        expected = [r.id for r in sorted(recs, key=sort_key(sort))]
        for kw in FILTERS:
            want = [i for i in expected if _passes(by_id[i], **kw)]
            assert sort_and_filter(by_id, sort, version=0, **kw) == want, (sort, kw)
            assert sort_and_filter(by_id, sort, **kw) == want, (sort, kw)


def _passes(r, folder_id=None, min_rating=0, flag=None, include_rejected=True):
    return ((folder_id is None or r.folder_id == folder_id) and r.rating >= min_rating
            and (r.flag == flag if flag is not None else (include_rejected or r.flag >= 0)))


def test_kept_columns_follow_the_version():
    """Stars and scores changed in the records show in the next order once the caller's version moves
    (the window moves it on every catalog change); the same version reuses what was read."""
    recs = _records(300, 7)
    by_id = {r.id: r for r in recs}
    first = sort_and_filter(by_id, "personal", version=1)
    last = by_id[first[-1]]
    last.personal = 99.0
    assert sort_and_filter(by_id, "personal", version=1) == first  # same version: the kept column
    assert sort_and_filter(by_id, "personal", version=2)[0] == last.id
    low = by_id[first[0]]
    low.rating = 0
    assert low.id in sort_and_filter(by_id, "rating", version=2, min_rating=0)
    assert low.id not in sort_and_filter(by_id, "rating", version=3, min_rating=1)
    # a new dict (a reload) gets columns of its own whatever the version
    fresh = {r.id: r for r in _records(50, 8)}
    assert sort_and_filter(fresh, "name", version=3) == [r.id for r in sorted(fresh.values(), key=sort_key("name"))]
    assert SortColumns.of(fresh) is SortColumns.of(fresh)


def test_read_library_reports_changed_files_and_prepares_the_capture_order(tmp_path):
    from piaa_desktop.core.catalog import Catalog

    cat = Catalog.open(tmp_path / "c.sqlite3")
    try:
        fid = cat.add_folder(tmp_path)
        with cat.transaction() as tx:
            for name, h, when in (("a.jpg", "h1", "2024-01-02T00:00:00"), ("b.jpg", "h2", "2024-01-01T00:00:00")):
                tx.execute("INSERT INTO photos(folder_id, path, content_hash, size, mtime, added_at, updated_at, "
                           "capture_time) VALUES (?,?,?,1,0,0,0,?)", (fid, str(tmp_path / name), h, when))
        a, b = [r[0] for r in cat.conn.execute("SELECT id FROM photos ORDER BY path")]
        before, changed = read_library(cat)
        assert changed == [] and sorted(before) == sorted([a, b])
        with cat.transaction() as tx:
            tx.execute("UPDATE photos SET content_hash='h3' WHERE id=?", (a,))
        after, changed = read_library(cat, previous=before)
        assert changed == [a]
        assert "capture_time" in SortColumns.of(after)._orders  # warmed on the reading thread
        assert sort_and_filter(after, "capture_time", version=0) == [b, a]
    finally:
        cat.close()


@pytest.mark.parametrize("seed", range(3))
def test_hold_order_at_library_scale_matches_the_plain_rule(seed):
    from piaa_desktop.core.library import hold_order

    rng = random.Random(seed)
    ids = rng.sample(range(1, 60_000), 9000)
    shown = ids[:7000]
    fresh = rng.sample(ids[2000:], 6500) + list(range(60_000, 60_050))  # some left, some new
    wanted = set(fresh)
    kept = [i for i in shown if i in wanted]
    expected = kept + [i for i in fresh if i not in set(kept)]
    assert hold_order(shown, fresh) == expected
    assert hold_order(shown, []) == [] and hold_order([], fresh[:5000]) == fresh[:5000]
    assert hold_order([-5] + shown, fresh) == expected  # ids unlike a catalog's: the plain rule


@pytest.mark.parametrize("folder", ["/lib", "/lib/", "/lib/a", "/lib/a/", "/lib/ab", "/lib/a/deep", "/li", "/", "/none"])
def test_in_folder_is_the_path_prefix_of_every_record(folder):
    """The library tree's folder from kept directories (SortColumns.in_folder) picks exactly the records whose
    path starts with the folder and a separator: subfolders in, a sibling sharing a name's start ("ab" beside
    "a") and the folder's own name as a file out."""
    import os

    recs = {}
    paths = ["/lib/a/x.jpg", "/lib/a/deep/y.jpg", "/lib/ab/z.jpg", "/lib/b/a", "/lib/a", "/lib/top.jpg",
             "/other/lib/a/w.jpg", "/li.jpg", "/lib/a/deep/er/v.jpg"]
    for k, p in enumerate(paths * 3):
        pid = 7 * k + 3
        p = p.replace("/", os.sep)
        recs[pid] = PhotoRecord(pid, p, os.path.basename(p), "h", 1, 0, 0, None, 1, 1, None)
    folder = folder.replace("/", os.sep)
    pre = folder.rstrip(os.sep) + os.sep
    want = sorted(i for i, r in recs.items() if r.path.startswith(pre))
    assert sorted(SortColumns.of(recs).in_folder(folder).tolist()) == want
    assert sorted(SortColumns(recs).in_folder(folder).tolist()) == want  # first call builds, second reuses
    from piaa_desktop.core.library import dir_counts

    assert SortColumns(recs).dir_counts() == dir_counts(recs)  # the tree's counts from the same directories
