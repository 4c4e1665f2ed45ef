import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core import scanner
from piaa_desktop.core.embeddings import EMBED_DIM
from piaa_desktop.core.jobs import CancelToken
from piaa_desktop.core.scanner import import_folder, scan_folder
from piaa_desktop.core.thumbnails import load_thumbnail

from test_imageio import _png_header


def _hashes(folder: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file() and p.suffix != ".xmp"}


def _bad_corpus(lib: Path, photos_dir: Path) -> None:
    good = sorted(photos_dir.glob("*.jpg"))[20].read_bytes()
    (lib / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (lib / "zero.png").write_bytes(b"")
    (lib / "notes.tif").write_bytes(b"not a tiff at all")
    (lib / "bomb.png").write_bytes(_png_header(20000, 20000))
    Image.new("RGB", (1, 1), (9, 9, 9)).save(lib / "tiny.png")
    (lib / "readme.txt").write_text("ignored: not an image")
    sub = lib / "deep" / "er"
    sub.mkdir(parents=True)
    os.symlink(lib, sub / "loop")  # a symlink loop must not trap the scan
    weird = os.fsencode(str(lib)) + b"/caf\xe9-latin1.jpg"  # non-UTF-8 file name
    with open(weird, "wb") as fh:
        fh.write(good)


def test_import_real_photos_with_bad_files(catalog, app_paths, small_library, photos_dir):
    _bad_corpus(small_library, photos_dir)
    before = _hashes(small_library)
    seen = []
    res = import_folder(catalog, small_library, app_paths.thumbnails, progress=lambda d, t, m="": seen.append((d, t)))
    reasons = dict(res.errors)
    assert len(res.new) == 12 + 2  # the real photos, the 1x1 PNG and the latin-1 named copy
    assert "truncated" in reasons[str(small_library / "truncated.jpg")]
    assert "empty" in reasons[str(small_library / "zero.png")]
    assert "not a recognised image" in reasons[str(small_library / "notes.tif")]
    assert "too large" in reasons[str(small_library / "bomb.png")]
    assert dict(catalog.import_errors()) == reasons
    assert seen and seen[-1][0] == seen[-1][1]
    # every good photo has a thumbnail, signals, an embedding and a generic score
    photos = catalog.photos()
    for p in photos:
        assert load_thumbnail(app_paths.thumbnails, p.content_hash) is not None
        assert p.width and p.height
    assert res.embedded == len(photos) and res.scored == len(photos)
    assert set(catalog.signals()) == {p.id for p in photos}
    ids, emb = catalog.embeddings()
    assert emb.shape == (len(photos), EMBED_DIM) and np.isfinite(emb).all()
    assert len(catalog.scores("generic")) == len(photos)
    # originals untouched
    assert _hashes(small_library) == before


def test_rescan_new_changed_moved_missing(catalog, app_paths, small_library, photos_dir):
    scan_folder(catalog, small_library, app_paths.thumbnails)
    files = sorted(small_library.glob("*.jpg"))
    moved_src, missing_src, changed = files[0], files[1], files[2]
    moved_id = catalog.photo_by_path(moved_src).id
    catalog.set_rating([moved_id], 5)
    catalog.set_rating([catalog.photo_by_path(changed).id], 2)
    (small_library / "sub").mkdir()
    moved_dst = small_library / "sub" / "renamed.jpg"
    shutil.move(moved_src, moved_dst)
    missing_id = catalog.photo_by_path(missing_src).id
    missing_src.unlink()
    with Image.open(changed) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(changed, quality=90)
    shutil.copy2(sorted(photos_dir.glob("*.jpg"))[100], small_library / "new.jpg")

    res = scan_folder(catalog, small_library, app_paths.thumbnails)
    assert res.moved == [moved_id]
    assert res.missing == [missing_id]
    assert len(res.changed) == 1 and catalog.photo(res.changed[0]).rating == 2
    assert len(res.new) == 1
    assert res.unchanged == 12 - 3
    p = catalog.photo(moved_id)
    assert p.path == str(moved_dst) and p.rating == 5 and not p.missing
    assert catalog.photo(missing_id).missing == 1
    assert missing_id not in catalog.query_ids()
    # nothing changed on disk: a rescan finds nothing to do
    res2 = scan_folder(catalog, small_library, app_paths.thumbnails)
    assert res2.new == [] and res2.changed == [] and res2.moved == [] and res2.missing == []
    # the missing file comes back (drive plugged in again): same id, not new
    shutil.copy2(sorted(photos_dir.glob("*.jpg"))[1], missing_src)
    res3 = scan_folder(catalog, small_library, app_paths.thumbnails)
    assert res3.new == [] and not catalog.photo(missing_id).missing


def test_unreadable_folder_is_reported(catalog, app_paths, small_library, monkeypatch):
    locked = small_library / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def fake_scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(scanner.os, "scandir", fake_scandir)
    res = scan_folder(catalog, small_library, app_paths.thumbnails)
    assert (str(locked), "folder cannot be read (permission denied)") in res.errors
    assert len(res.new) == 12


def test_cancel_keeps_finished_batches(catalog, app_paths, photos_dir, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for p in sorted(photos_dir.glob("*.jpg"))[:80]:
        os.symlink(p, lib / p.name)
    token = CancelToken()

    def progress(done, total, msg=""):
        if done >= scanner.BATCH:
            token.cancel()

    res = scan_folder(catalog, lib, app_paths.thumbnails, progress=progress, cancel=token)
    assert res.cancelled
    n = catalog.count_photos()
    assert scanner.BATCH <= n < 80
    assert res.missing == []
    res2 = scan_folder(catalog, lib, app_paths.thumbnails)
    assert res2.unchanged == n and len(res2.new) == 80 - n


def test_missing_folder_raises(catalog, app_paths, tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_folder(catalog, tmp_path / "nope", app_paths.thumbnails)
