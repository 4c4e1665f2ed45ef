"""Full disk while caching thumbnails (and while exporting): a clear error, nothing half-written under a
final name, no leftover temp file, and the import completes once there is space again.

(Export on a full disk, copy and render paths, is covered by tests/test_export_photos.py; here the
export is checked end to end through the CLI.)
"""
from __future__ import annotations

import contextlib
import errno
import io
import os

import pytest

from _reliability_helpers import copy_library, file_hashes

from piaa_desktop.core import fsutil, scanner, thumbnails
from piaa_desktop.core.scanner import import_folder



class _FillingFile:
    """A file object that accepts ``budget`` bytes, then fails like a full disk."""

    def __init__(self, fh, budget: int):
        self._fh, self._budget = fh, budget

    def write(self, data) -> int:
        if len(data) > self._budget:
            self._fh.write(bytes(data[: self._budget]))
            self._budget = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget -= len(data)
        return self._fh.write(data)

    def fileno(self):  # no fd: Pillow must write through write(), where the disk fills up
        raise io.UnsupportedOperation("fileno")

    def __getattr__(self, name):
        return getattr(self._fh, name)


def _disk_full_on_write(monkeypatch, budget=2000):
    real = fsutil.atomic_write

    @contextlib.contextmanager
    def filling(path, mode="wb"):
        with real(path, mode) as fh:
            yield _FillingFile(fh, budget)

    monkeypatch.setattr(thumbnails, "atomic_write", filling)


def _disk_full_on_fsync(monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", fsync)


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_disk_full_while_caching_thumbnails(where, tmp_path, catalog, app_paths, photos_dir, monkeypatch):
    lib = tmp_path / "lib"
    copy_library(photos_dir, lib, 40, 6)
    before = file_hashes(lib)
    with monkeypatch.context() as m:
        (_disk_full_on_write if where == "write" else _disk_full_on_fsync)(m)
        res = import_folder(catalog, lib, app_paths.thumbnails, workers=2)
    # every photo failed with a message about space, not a misleading "cannot read" of the photo
    assert res.new == [] and len(res.errors) == 6
    for path, reason in res.errors:
        assert "space" in reason.lower() and "thumbnail" in reason.lower(), reason
        assert "cannot read" not in reason
    assert dict(catalog.import_errors()) == dict(res.errors)
    # nothing under a final name, no temp file left behind
    left = [p for p in app_paths.thumbnails.rglob("*") if p.is_file()]
    assert left == [], left
    assert file_hashes(lib) == before
    # space again: the next import takes every photo and clears the errors
    res2 = import_folder(catalog, lib, app_paths.thumbnails, embeddings=False, workers=2)
    assert len(res2.new) == 6 and catalog.import_errors() == []
    assert not list(app_paths.thumbnails.rglob("*.part"))


def test_disk_full_during_cli_export_is_clear_and_leaves_nothing_half_written(tmp_path, data_dir, photos_dir, monkeypatch, capsys):
    from PIL import Image

    from piaa_desktop.cli.main import main
    from piaa_desktop.core import export as E

    lib = tmp_path / "lib"
    copy_library(photos_dir, lib, 60, 4)
    assert main(["--data-dir", str(data_dir), "-q", "scan", "--no-embeddings", str(lib)]) == 0
    calls = {"n": 0}
    real_fsync = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 3:  # two photos land, the third meets a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(E.os, "fsync", fsync)
    dest = tmp_path / "out"
    capsys.readouterr()
    rc = main(["--data-dir", str(data_dir), "export", str(dest), "--all", "--long-edge", "120"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "space" in err.lower()
    finals = sorted(p for p in dest.iterdir() if p.suffix == ".jpg")
    assert len(finals) == 2
    for p in finals:
        with Image.open(p) as im:
            im.load()
    assert not [p for p in dest.rglob("*") if p.name.endswith(".part")]
