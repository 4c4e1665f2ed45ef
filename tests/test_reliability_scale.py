"""Scale: the synthetic catalog generator and the big-library paths, at a test-sized scale.

The 100,000-photo numbers (open time, sorts, re-scoring, GUI stalls, memory) are measured by
benchmarks/scale.py and recorded in benchmarks/RESULTS.md; here the same code paths run on a few
thousand rows and are checked for correctness (no timing assertions).
"""
from __future__ import annotations

import json
import subprocess
import textwrap

import numpy as np
import pytest

from _reliability_helpers import PY, REPO, child_env

from piaa_desktop.core.catalog import SIGNAL_COLUMNS, Catalog
from piaa_desktop.core.library import SORTS
from piaa_desktop.lab.synthetic import make_synthetic_catalog

N = 3000
DIM = 64


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "catalog.sqlite3"
    make_synthetic_catalog(path, n=N, dim=DIM, seed=3, folders=7, chunk=1000)
    return path


def test_synthetic_catalog_is_complete_and_sound(synthetic):
    cat = Catalog.open(synthetic)
    try:
        assert cat.integrity_check() == "ok"
        assert cat.count_photos() == N
        assert len(cat.folders()) == 7
        ids, emb = cat.embeddings()
        assert emb.shape == (N, DIM) and emb.dtype == np.float32 and np.isfinite(emb).all()
        assert (emb >= 0).all() and emb.std() > 0.1
        assert len(cat.signals()) == N
        sig = cat.signal_matrix(ids.tolist())
        assert sig.shape == (N, len(SIGNAL_COLUMNS)) and np.isfinite(sig).all()
        assert len(cat.scores("generic")) == N
        ratings = cat.ratings()
        assert 0.05 * N < len(ratings) < 0.3 * N and set(ratings.values()) <= {1, 2, 3, 4, 5}
        paths = [p.path for p in cat.photos()]
        assert len(set(paths)) == N and all(p.startswith("/synthetic/") for p in paths)
        # capture times increase with the id (a camera roll), so the default sort is the id order
        assert cat.query_ids("capture_time") == sorted(cat.query_ids("capture_time"))
    finally:
        cat.close()


def test_same_seed_same_catalog(tmp_path):
    a, b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    make_synthetic_catalog(a, n=200, dim=16, seed=9)
    make_synthetic_catalog(b, n=200, dim=16, seed=9)
    ca, cb = Catalog.open(a), Catalog.open(b)
    try:
        assert [p.content_hash for p in ca.photos()] == [p.content_hash for p in cb.photos()]
        assert np.array_equal(ca.embeddings()[1], cb.embeddings()[1])
        assert ca.ratings() == cb.ratings()
    finally:
        ca.close()
        cb.close()
    make_synthetic_catalog(a, n=50, dim=16, seed=1)  # replaces the old file
    c = Catalog.open(a)
    try:
        assert c.count_photos() == 50
    finally:
        c.close()


def test_sorts_filters_and_rescoring_on_a_big_catalog(synthetic, tmp_path):
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.recovery import recover
    from piaa_desktop.core.scoring import score_distribution

    cat = Catalog.open(synthetic)
    try:
        rep = recover(cat, app_paths(tmp_path / "d").ensure(), check_models=False)
        assert rep.ok and list(rep) == []
        for key in SORTS:
            got = cat.query_ids(sort=key)
            assert len(got) == N and len(set(got)) == N
        gen = cat.scores("generic")
        by_generic = cat.query_ids(sort="generic")
        assert [gen[i] for i in by_generic] == sorted(gen.values(), reverse=True)
        by_rating = cat.query_ids(sort="rating", min_rating=4)
        assert by_rating and all(cat.photo(i).rating >= 4 for i in by_rating[:50])
        # re-score as the personal scorer does: one matrix-vector product over every embedding
        ids, emb = cat.embeddings()
        w = np.random.default_rng(0).standard_normal(DIM).astype(np.float32)
        z = emb @ w
        stars = np.clip(3 + (z - z.mean()) / z.std(), 1, 5)
        n = cat.set_scores("personal", zip(ids.tolist(), stars.tolist(), score_distribution(stars).tolist()))
        assert n == N
        top = cat.query_ids(sort="personal")[:10]
        assert [int(i) for i in ids[np.argsort(-stars, kind="stable")][:10]] == top
    finally:
        # leave the shared module fixture as it was
        cat.set_scores("personal", [])
        cat.close()


GRID = textwrap.dedent(
    r"""
    import json, sys
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.library import SORTS, load_records
    from piaa_desktop.gui.grid import PhotoGridView, PhotoListModel, ThumbnailCache
    cat = Catalog.open(sys.argv[1])
    cache = ThumbnailCache(sys.argv[2])
    model = PhotoListModel(cache)
    view = PhotoGridView(cell=150)
    view.resize(1200, 800)
    view.setModel(model)
    model.set_records(load_records(cat))
    model.set_ids(cat.query_ids())
    view.show()
    app.processEvents()
    sb = view.verticalScrollBar()
    import time as _t
    last, since = -1, _t.perf_counter()
    while _t.perf_counter() - since < 0.3:  # batched layout runs in slices on timers: wait until it stops growing
        app.processEvents()
        _t.sleep(0.002)
        if sb.maximum() != last:
            last, since = sb.maximum(), _t.perf_counter()
    seen = set()
    for k in range(121):
        sb.setValue(int(sb.maximum() * k / 120))
        app.processEvents()
        seen.update(view.visible_rows())
    # at the end of the library, thumbnails arriving (here: failing) must not move the view
    sb.setValue(sb.maximum())
    app.processEvents()
    cache.pool.waitForDone(10000)
    t0 = _t.perf_counter()
    while _t.perf_counter() - t0 < 0.5:
        app.processEvents()
        _t.sleep(0.002)
    end = {"value": sb.value(), "max": sb.maximum(), "last_visible": view.visible_rows().stop - 1}
    for key in SORTS:
        model.set_ids(cat.query_ids(sort=key))
        app.processEvents()
    cache.pool.waitForDone(10000)
    app.processEvents()
    print(json.dumps({"rows": model.rowCount(), "seen_max": max(seen), "seen": len(seen),
                      "failed": len(cache._failed), "end": end}))
    cache.shutdown()
    """
)


def test_grid_scrolls_and_sorts_a_big_catalog_without_crashing(synthetic, tmp_path):
    r = subprocess.run([PY, "-c", GRID, str(synthetic), str(tmp_path / "thumbs")], cwd=str(REPO),
                       env=child_env(QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Fatal Python error" not in r.stderr, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["rows"] == N
    assert out["end"]["last_visible"] == N - 1 and out["end"]["value"] == out["end"]["max"], (
        f"the view left the end of the library when thumbnails arrived: {out['end']}")
    assert out["seen_max"] == N - 1  # scrolled to the very end
    assert out["failed"] > 0  # the synthetic files do not exist: painted as unreadable, no crash
