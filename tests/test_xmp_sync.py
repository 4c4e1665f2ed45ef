"""Catalog <-> sidecar glue: sidecars written on change (undo included), read on import, CLI rate."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from piaa_desktop.core import sync, xmp
from piaa_desktop.core.catalog import UndoStack
from piaa_desktop.core.settings import Settings

EXIFTOOL = shutil.which("exiftool")


def _scan(catalog, folder, app_paths, hook=None):
    from piaa_desktop.core.scanner import scan_folder

    res = scan_folder(catalog, folder, app_paths.cache_dir, workers=2, on_new_photo=hook)
    assert not res.errors
    return sorted(res.new)


def test_existing_sidecars_are_imported_as_ratings(catalog, small_library, app_paths):
    files = sorted(small_library.glob("*.jpg"))
    for f in files[4:]:
        f.unlink()
    # a Lightroom-style sidecar (photo.xmp), a darktable reject (photo.jpg.xmp), a corrupt one
    (small_library / (files[0].stem + ".xmp")).write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3" xmp:Label="Green"/>'
        "</rdf:RDF></x:xmpmeta>", encoding="utf-8")
    xmp.write_sidecar(files[1], flag=-1)
    (small_library / (files[2].name + ".xmp")).write_bytes(b"<broken")
    _scan(catalog, small_library, app_paths, hook=lambda cat, pid: sync.import_sidecar(cat, pid))
    p0, p1, p2, p3 = (catalog.photo_by_path(f) for f in files[:4])
    assert (p0.rating, p0.flag, p0.color_label) == (3, 0, "green")
    assert (p1.rating, p1.flag) == (0, -1)
    assert (p2.rating, p2.flag, p3.rating) == (0, 0, 0)
    assert (small_library / (files[2].name + ".xmp")).read_bytes() == b"<broken"
    assert catalog.ratings() == {p0.id: 3}  # training data now


def test_hook_writes_sidecars_and_follows_undo(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)
    settings = Settings()
    hook = sync.install_sidecar_hook(catalog, settings)
    undo = UndoStack(catalog)
    a, b = ids[0], ids[1]
    path_a = Path(catalog.photo(a).path)
    undo.push(catalog.set_rating([a, b], 4))
    undo.push(catalog.set_color_label([a], "purple"))
    undo.push(catalog.set_flag([a], 1))
    assert xmp.read_sidecar(path_a) == {"rating": 4, "flag": 1, "color_label": "purple"}
    undo.undo()  # flag
    undo.undo()  # label
    assert xmp.read_sidecar(path_a) == {"rating": 4, "flag": 0, "color_label": None}
    undo.redo()
    assert xmp.read_sidecar(path_a)["color_label"] == "purple"
    # photos never rated get no sidecar
    assert not xmp.sidecar_path(catalog.photo(ids[5]).path).exists()
    assert hook.errors == []
    # the originals are untouched: no other new files than the sidecars
    assert sorted(p.name for p in small_library.iterdir() if p.suffix == ".xmp") == sorted(
        Path(catalog.photo(i).path).name + ".xmp" for i in (a, b))


def test_settings_turn_writing_off_and_choose_naming(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)
    settings = Settings(values={"xmp_write": False})
    sync.install_sidecar_hook(catalog, settings)
    catalog.set_rating([ids[0]], 5)
    assert not list(small_library.glob("*.xmp"))
    settings.set("xmp_write", True)
    settings.set("xmp_naming", "replace")
    catalog.set_rating([ids[0]], 2)
    photo = Path(catalog.photo(ids[0]).path)
    assert (photo.with_suffix(".xmp")).exists() and not xmp.sidecar_path(photo).exists()


def test_unwritable_sidecar_does_not_fail_the_rating(catalog, small_library, app_paths):
    ids = _scan(catalog, small_library, app_paths)
    photo = Path(catalog.photo(ids[0]).path)
    xmp.sidecar_path(photo).write_bytes(b"not xml at all")
    hook = sync.install_sidecar_hook(catalog, Settings())
    catalog.set_rating([ids[0]], 5)
    assert catalog.photo(ids[0]).rating == 5
    assert xmp.sidecar_path(photo).read_bytes() == b"not xml at all"
    assert hook.errors and hook.errors[0][0] == str(photo)


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed")
def test_cli_rate_leaves_sidecar_exiftool_reads(small_library, data_dir, capsys):
    from piaa_desktop.cli.main import main

    for f in sorted(small_library.glob("*.jpg"))[3:]:
        f.unlink()
    assert main(["--data-dir", str(data_dir), "-q", "scan", "--no-embeddings", str(small_library)]) == 0
    photo = sorted(small_library.glob("*.jpg"))[0]
    assert main(["--data-dir", str(data_dir), "rate", str(photo), "4"]) == 0
    side = Path(str(photo) + ".xmp")
    out = subprocess.run([EXIFTOOL, "-s3", "-XMP:Rating", str(side)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "4"


def test_rejected_photo_keeps_its_stars_through_the_sidecar_round_trip(tmp_path, catalog, app_paths):
    """A 1-star photo rejected in PIAA comes back 1-star and rejected when imported into a fresh catalog."""
    import numpy as np
    from PIL import Image

    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.scanner import scan_folder

    lib = tmp_path / "shoot"
    lib.mkdir()
    for k in range(3):
        Image.fromarray(np.full((60, 80, 3), 40 + 60 * k, np.uint8)).save(lib / f"img_{k}.jpg")
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    a, b, c = sorted(res.new)
    sync.install_sidecar_hook(catalog, Settings())
    catalog.set_rating([a], 1)
    catalog.set_flag([a, b], -1)  # a: 1 star and rejected; b: rejected, no stars
    catalog.set_rating([c], 5)
    fresh = Catalog.open(tmp_path / "other.sqlite3")
    try:
        scan_folder(fresh, lib, tmp_path / "cache2", workers=1, on_new_photo=lambda cat, pid: sync.import_sidecar(cat, pid))
        got = {Path(p.path).name: (p.rating, p.flag) for p in fresh.photos()}
    finally:
        fresh.close()
    assert got == {"img_0.jpg": (1, -1), "img_1.jpg": (0, -1), "img_2.jpg": (5, 0)}
