"""Hardening of the library scan (issue 12): folder matching (item 2) and friends.

Photos are generated here (small random JPEGs), so these run from what the repository holds.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core.scanner import scan_folder

_seed = [0]


def make_photo(path: Path, size=(48, 64)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _seed[0] += 1
    rng = np.random.default_rng(_seed[0])
    Image.fromarray(rng.integers(0, 255, (*size, 3), np.uint8)).save(path, "JPEG", quality=90)
    return path


def scan(catalog, app_paths, folder):
    res = scan_folder(catalog, folder, app_paths.cache_dir, workers=1)
    assert not res.errors, res.errors
    return res


# ---------------------------------------------------------------------------------------------- item 2
@pytest.mark.parametrize("a,b", [("shoot_a", "shootXa"), ("Trip", "trip"), ("100%", "100x"), ("a_b", "a%b")])
def test_item2_folder_prefix_is_exact_and_case_sensitive(catalog, app_paths, tmp_path, a, b):
    make_photo(tmp_path / a / "1.jpg")
    make_photo(tmp_path / b / "2.jpg")
    make_photo(tmp_path / b / "sub" / "3.jpg")
    ra = scan(catalog, app_paths, tmp_path / a)
    rb = scan(catalog, app_paths, tmp_path / b)
    assert len(ra.new) == 1 and len(rb.new) == 2
    again = scan(catalog, app_paths, tmp_path / a)
    assert again.missing == [] and again.unchanged == 1
    again_b = scan(catalog, app_paths, tmp_path / b)
    assert again_b.missing == [] and again_b.unchanged == 2
    assert catalog.conn.execute("SELECT COUNT(*) FROM photos WHERE missing=1").fetchone()[0] == 0


def test_item2_photos_under_matches_exact_prefix_only(catalog, tmp_path):
    import time

    roots = {n: tmp_path / n for n in ("shoot_a", "shootXa", "shoot_a2", "Shoot_a")}
    ids = {}
    for n, r in roots.items():
        fid = catalog.add_folder(r)
        for sub in ("x.jpg", "deep/y.jpg"):
            p = str(r / sub)
            with catalog.transaction() as tx:
                ids[p] = tx.execute(
                    "INSERT INTO photos(folder_id, path, content_hash, size, mtime, added_at, updated_at) "
                    "VALUES (?,?,?,?,?,?,?)", (fid, p, p, 1, 0.0, time.time(), time.time())).lastrowid
    got = {r["path"] for r in catalog.photos_under(-1, roots["shoot_a"])}
    assert got == {str(roots["shoot_a"] / "x.jpg"), str(roots["shoot_a"] / "deep/y.jpg")}


def test_item2_a_copy_never_takes_over_another_folders_record(catalog, app_paths, tmp_path):
    orig = make_photo(tmp_path / "shootXa" / "keeper.jpg")
    scan(catalog, app_paths, tmp_path / "shootXa")
    pid = catalog.photo_by_path(orig).id
    catalog.set_rating([pid], 5)
    # a copy of it lands in another folder whose name the old LIKE pattern matched
    (tmp_path / "shoot_a").mkdir()
    shutil.copy2(orig, tmp_path / "shoot_a" / "copy.jpg")
    res = scan(catalog, app_paths, tmp_path / "shoot_a")
    assert res.moved == [] and len(res.new) == 1
    p = catalog.photo(pid)
    assert p.path == str(orig.resolve()) and p.rating == 5 and not p.missing
    assert catalog.photo(res.new[0]).rating == 0


def test_item2_a_copy_does_not_take_over_a_missing_record_whose_file_is_still_there(catalog, app_paths, tmp_path):
    orig = make_photo(tmp_path / "A" / "keeper.jpg")
    scan(catalog, app_paths, tmp_path / "A")
    pid = catalog.photo_by_path(orig).id
    catalog.set_rating([pid], 4)
    with catalog.transaction() as tx:  # e.g. marked missing while its drive was offline
        tx.execute("UPDATE photos SET missing=1 WHERE id=?", (pid,))
    (tmp_path / "B").mkdir()
    shutil.copy2(orig, tmp_path / "B" / "keeper.jpg")
    res = scan(catalog, app_paths, tmp_path / "B")
    assert res.moved == [] and len(res.new) == 1
    assert catalog.photo(pid).path == str(orig.resolve()) and catalog.photo(pid).rating == 4


def test_item2_real_moves_still_keep_their_record(catalog, app_paths, tmp_path):
    orig = make_photo(tmp_path / "A" / "keeper.jpg")
    scan(catalog, app_paths, tmp_path / "A")
    pid = catalog.photo_by_path(orig).id
    catalog.set_rating([pid], 3)
    # within the folder
    (tmp_path / "A" / "sub").mkdir()
    moved = tmp_path / "A" / "sub" / "keeper.jpg"
    orig.rename(moved)
    res = scan(catalog, app_paths, tmp_path / "A")
    assert res.moved == [pid]
    # to another folder: the old folder's rescan marks it missing, the new folder's scan finds it
    (tmp_path / "B").mkdir()
    final = tmp_path / "B" / "keeper.jpg"
    moved.rename(final)
    assert scan(catalog, app_paths, tmp_path / "A").missing == [pid]
    assert scan(catalog, app_paths, tmp_path / "B").moved == [pid]
    p = catalog.photo(pid)
    assert p.path == str(final.resolve()) and p.rating == 3 and not p.missing
