"""Rejects to the system trash (send2trash, a freedesktop.org trash redirected into tmp), sidecars
moved along, catalog records kept and marked, restore (undo) puts everything back."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from piaa_desktop.core import trash, xmp
from piaa_desktop.core.catalog import UndoStack
from piaa_desktop.core.sample import copy_sample_library

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="uses a redirected freedesktop trash")


@pytest.fixture
def home_trash(tmp_path, monkeypatch) -> Path:
    """A private trash: HOME and XDG_DATA_HOME inside tmp (the real user's trash is never touched)."""
    pytest.importorskip("send2trash")
    from send2trash import plat_other

    home = tmp_path / "home"
    share = home / ".local" / "share"
    share.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(share))
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(share))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(share / "Trash"))
    return share / "Trash"


@pytest.fixture
def lib(tmp_path) -> Path:
    return copy_sample_library(tmp_path / "lib")


def _scan(catalog, folder, app_paths):
    from piaa_desktop.core.scanner import scan_folder

    res = scan_folder(catalog, folder, app_paths.cache_dir, workers=2)
    return sorted(res.new)


def test_trash_moves_photo_and_sidecars_and_undo_restores(catalog, lib, app_paths, home_trash):
    ids = _scan(catalog, lib, app_paths)
    a, b = ids[0], ids[1]
    pa, pb = Path(catalog.photo(a).path), Path(catalog.photo(b).path)
    catalog.add_keywords([a], ["Places|Paris"])
    catalog.set_rating([a], 2)
    xmp.write_sidecar(pa, flag=-1, keywords=["Places|Paris"])
    (pa.with_suffix(".xmp")).write_text(pa.with_name(pa.name + ".xmp").read_text())  # a Lightroom-named one too
    content = pa.read_bytes()
    plan = trash.plan(catalog, [a, b])
    assert (plan["photos"], plan["sidecars"]) == (2, 2)

    undo = UndoStack(catalog)
    undo.handlers[trash.TRASH_FIELD] = lambda ch: trash.apply_change(catalog, ch)
    res, change = trash.move_to_trash(catalog, [a, b])
    undo.push(change)
    assert sorted(res.trashed) == [a, b] and res.sidecars == 2 and not res.failed
    assert not pa.exists() and not pb.exists() and not list(lib.glob(pa.stem + "*"))
    files = sorted(p.name for p in (home_trash / "files").iterdir())
    assert pa.name in files and pa.name + ".xmp" in files and pa.stem + ".xmp" in files
    info = (home_trash / "info" / (pa.name + ".trashinfo")).read_text()
    assert "Path=" in info and pa.name in info  # the system trash knows where it came from
    # the records stay, out of every view
    assert catalog.photo(a) is not None and catalog.photo(a).missing == 1
    assert a not in catalog.query_ids() and catalog.search_ids("kw:Paris") == []
    assert sorted(t["id"] for t in catalog.trashed()) == sorted([a, b])
    assert all(m["trash"] for m in catalog.trash_records([a])[a])

    undo.undo()  # restore from the trash
    assert pa.read_bytes() == content and pb.exists()
    assert xmp.read_sidecar(pa)["keywords"] == ["Places|Paris"] and pa.with_suffix(".xmp").exists()
    assert not list((home_trash / "files").iterdir()) and not list((home_trash / "info").iterdir())
    assert catalog.photo(a).missing == 0 and catalog.photo(a).rating == 2
    assert catalog.search_ids("kw:Paris") == [a] and catalog.trashed() == []

    undo.redo()  # and back to the trash
    assert not pa.exists() and catalog.photo(a).missing == 1


def test_restore_never_overwrites_a_new_file(catalog, lib, app_paths, home_trash):
    ids = _scan(catalog, lib, app_paths)
    p = Path(catalog.photo(ids[0]).path)
    res, _ = trash.move_to_trash(catalog, [ids[0]])
    p.write_bytes(b"a new file with the old name")
    r, change = trash.restore(catalog, [ids[0]])
    assert r.restored == [] and "exists again" in r.failed[0][1]
    assert p.read_bytes() == b"a new file with the old name"
    assert (home_trash / "files" / p.name).exists()  # still safe in the trash
    assert catalog.photo(ids[0]).missing == 1


def test_a_file_that_cannot_be_trashed_is_reported_and_kept(catalog, lib, app_paths, home_trash, monkeypatch):
    ids = _scan(catalog, lib, app_paths)
    p0 = Path(catalog.photo(ids[0]).path)
    p1 = Path(catalog.photo(ids[1]).path)
    import send2trash

    real = send2trash.send2trash

    def picky(path):
        if Path(path) == p0:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(send2trash, "send2trash", picky)
    res, change = trash.move_to_trash(catalog, [ids[0], ids[1]])
    assert res.trashed == [ids[1]] and res.failed == [(str(p0), "Permission denied")]
    assert p0.exists() and catalog.photo(ids[0]).missing == 0 and not p1.exists()


def test_cli_trash_rejects_asks_then_moves_and_restores(lib, data_dir, home_trash, capsys):
    from piaa_desktop.cli.main import main

    d = str(data_dir)
    assert main(["--data-dir", d, "-q", "scan", "--no-embeddings", str(lib)]) == 0
    photos = sorted(lib.glob("*.jpg"))
    assert main(["--data-dir", d, "flag", str(photos[0]), str(photos[1]), "reject"]) == 0
    capsys.readouterr()
    # without --yes nothing moves: it says what would
    assert main(["--data-dir", d, "trash", "rejects"]) == 1
    out = capsys.readouterr()
    assert "2 rejected photos" in out.err and "--yes" in out.err
    assert photos[0].exists() and photos[1].exists()
    assert main(["--data-dir", d, "trash", "rejects", "--yes", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["trashed"] == 2 and res["sidecars"] == 2  # the reject flags were in sidecars
    assert not photos[0].exists() and not Path(str(photos[0]) + ".xmp").exists()
    assert main(["--data-dir", d, "trash", "list", "--json"]) == 0
    assert sorted(t["path"] for t in json.loads(capsys.readouterr().out)) == [str(p.resolve()) for p in photos[:2]]
    assert main(["--data-dir", d, "trash", "restore", "--all"]) == 0
    assert photos[0].exists() and xmp.read_sidecar(photos[0])["flag"] == -1


def test_a_photo_restored_outside_the_app_is_found_by_the_next_scan(catalog, lib, app_paths, home_trash):
    ids = _scan(catalog, lib, app_paths)
    p = Path(catalog.photo(ids[0]).path)
    trash.move_to_trash(catalog, [ids[0]])
    assert [t["id"] for t in catalog.trashed()] == [ids[0]]
    (home_trash / "files" / p.name).rename(p)  # the user restores it from the system trash
    _scan(catalog, lib, app_paths)
    assert catalog.photo(ids[0]).missing == 0 and catalog.trashed() == []
