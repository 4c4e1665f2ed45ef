"""The numeric sorts (scores, stars) run as one numpy lexsort: the same order as the one definition of each
sort (core.library.sort_key), ties, missing scores, zeros and equal capture times included."""
from __future__ import annotations

import random

import pytest

from piaa_desktop.core.library import PhotoRecord, _fast_order, sort_and_filter, sort_key


def _records(n: int, seed: int) -> list[PhotoRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pid = rng.randrange(1, 10 * n)
        score = rng.choice([None, 0.0, 1.0, 2.5, 2.5, rng.uniform(1, 5), rng.uniform(1, 5)])
        personal = rng.choice([None, None, 0.0, 3.0, rng.uniform(1, 5)])
        out.append(PhotoRecord(pid, f"/lib/{rng.choice('abc')}/img_{rng.randrange(50):03d}_{i}.jpg", "x", "h", 1,
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
