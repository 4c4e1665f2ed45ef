"""Export: selection, names, dimensions, EXIF/ICC kept, never overwrite, cancel, disk full, path traversal."""
from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from piaa_desktop.core import export as E
from piaa_desktop.core.jobs import CancelToken

EXIFTOOL = shutil.which("exiftool")


def _scan(catalog, folder, app_paths):
    from piaa_desktop.core.scanner import scan_folder

    res = scan_folder(catalog, folder, app_paths.cache_dir, workers=2)
    assert not res.errors, res.errors
    return sorted(res.new)


def _exif_jpeg(src: Path, dest: Path, orientation=6, when="2024:05:01 10:11:12") -> bytes:
    """A generated photo re-saved with camera EXIF (rotated 90 degrees by its orientation tag) and an ICC profile."""
    im = Image.open(src).convert("RGB")
    ex = Image.Exif()
    ex[0x010F] = "Canon"
    ex[0x0110] = "Canon EOS R5"
    ex[0x0112] = orientation
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = when
    sub[0xA002], sub[0xA003] = im.size
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im.save(dest, "JPEG", quality=95, exif=ex.tobytes(), icc_profile=icc)
    return icc


@pytest.fixture
def lib(catalog, small_library, app_paths):
    files = sorted(small_library.glob("*.jpg"))
    icc = _exif_jpeg(files[4], small_library / "rotated.jpg")  # 0004.jpg: 480x320 (3:2)
    for f in files[6:]:
        f.unlink()  # 6 photos + 1 with EXIF/ICC keep the tests quick
    ids = _scan(catalog, small_library, app_paths)
    assert len(ids) == 7
    # scores: personal for some, generic for all; ranking = personal, falling back to generic
    catalog.set_scores("generic", [(pid, 0.1 * k, None) for k, pid in enumerate(ids)])
    catalog.set_scores("personal", [(ids[0], 0.95, None), (ids[1], 0.05, None)])
    return {"ids": ids, "dir": small_library, "icc": icc, "rotated": catalog.photo_by_path(small_library / "rotated.jpg").id}


def test_select_for_export(catalog, lib):
    ids = lib["ids"]
    order = E.select_for_export(catalog, E.ExportOptions())
    assert order[0] == ids[0]  # personal 0.95
    assert order[-1] == ids[0 + 1] or order.index(ids[1]) > order.index(ids[6])  # personal 0.05 ranks low
    catalog.set_flag([ids[2], ids[3]], 1)
    catalog.set_flag([ids[4]], -1)
    catalog.set_rating([ids[3], ids[5]], 4)
    assert set(E.select_for_export(catalog, E.ExportOptions(picks=True))) == {ids[2], ids[3]}
    assert E.select_for_export(catalog, E.ExportOptions(picks=True, min_stars=4)) == [ids[3]]
    assert set(E.select_for_export(catalog, E.ExportOptions(min_stars=4))) == {ids[3], ids[5]}
    top2 = E.select_for_export(catalog, E.ExportOptions(top_n=2))
    assert len(top2) == 2 and top2[0] == ids[0]
    assert ids[4] not in E.select_for_export(catalog, E.ExportOptions(top_percent=100))  # rejected
    assert ids[4] in E.select_for_export(catalog, E.ExportOptions(top_percent=100, include_rejected=True))
    assert len(E.select_for_export(catalog, E.ExportOptions(top_percent=30))) == 2  # ceil(6 * 0.3)
    assert len(E.select_for_export(catalog, E.ExportOptions(top_percent=30, top_n=1))) == 1
    with pytest.raises(ValueError):
        E.select_for_export(catalog, E.ExportOptions(top_percent=0))
    with pytest.raises(ValueError):
        E.select_for_export(catalog, E.ExportOptions(min_stars=6))


def test_export_originals_byte_copy_names_and_report(catalog, lib, tmp_path):
    dest = tmp_path / "out"
    ids = E.select_for_export(catalog, E.ExportOptions(top_n=3))
    rep = E.export_photos(catalog, ids, dest, E.ExportOptions())
    assert rep.exported == 3 and rep.failed == 0
    for k, row in enumerate(rep.rows, 1):
        out = Path(row.dest)
        photo = catalog.photo(row.photo_id)
        assert out.parent == dest.resolve()
        assert out.name.endswith(f"_{k:03d}_{Path(photo.path).stem}.jpg")
        assert out.read_bytes() == Path(photo.path).read_bytes()
        assert row.method == "copy"
    # the rotated photo has an EXIF date: its name starts with it
    rot = [r for r in rep.rows if r.photo_id == lib["rotated"]]
    if rot:
        assert Path(rot[0].dest).name.startswith("2024-05-01_")
    with open(rep.csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["photo_id"]) for r in rows] == ids
    assert float(rows[0]["personal_score"]) == pytest.approx(0.95)
    data = json.loads(Path(rep.json_path).read_text(encoding="utf-8"))
    assert data["summary"]["exported"] == 3
    assert data["photos"][0]["generic_score"] is not None
    assert not list(dest.glob("*.part")) and not list(dest.glob(".*.part"))


def test_resize_keeps_exif_icc_and_resets_orientation(catalog, lib, tmp_path):
    pid = lib["rotated"]
    rep = E.export_photos(catalog, [pid], tmp_path / "out", E.ExportOptions(long_edge=200, quality=85,
                                                                               template="{name}"))
    row = rep.rows[0]
    assert row.status == "exported", row.error
    out = Image.open(row.dest)
    # the source is 480x320 stored, orientation 6: upright it is 320x480 -> 133x200
    assert out.size == (133, 200)
    assert (row.width, row.height) == (133, 200)
    ex = out.getexif()
    assert ex.get(0x0112) == 1
    assert ex.get(0x0110) == "Canon EOS R5"
    sub = ex.get_ifd(0x8769)
    assert sub.get(0x9003) == "2024:05:01 10:11:12"
    assert (sub.get(0xA002), sub.get(0xA003)) == (133, 200)
    assert out.info.get("icc_profile") == lib["icc"]
    if EXIFTOOL:
        got = subprocess.run([EXIFTOOL, "-s3", "-n", "-Orientation", "-DateTimeOriginal", "-ImageWidth", row.dest],
                             capture_output=True, text=True, timeout=60).stdout.split()
        assert got[0] == "1" and "2024:05:01" in got and got[-1] == "133"
    # without EXIF orientation the plain photos keep their aspect
    other = catalog.photo_by_path(lib["dir"] / "0004.jpg").id  # the same 480x320 photo, no orientation tag
    rep2 = E.export_photos(catalog, [other], tmp_path / "out2", E.ExportOptions(long_edge=240))
    assert Image.open(rep2.rows[0].dest).size == (240, 160)


def test_export_with_edits_and_embedded_xmp(catalog, lib, tmp_path):
    pid = [i for i in lib["ids"] if i != lib["rotated"]][0]
    catalog.set_edit([pid], {"exposure": 1.0})
    catalog.set_rating([pid], 4)
    catalog.set_color_label([pid], "red")
    rep = E.export_photos(catalog, [pid], tmp_path / "out", E.ExportOptions(edits=True, embed_xmp=True))
    row = rep.rows[0]
    assert row.status == "exported" and row.edited and row.method == "render"
    src = np.asarray(Image.open(catalog.photo(pid).path).convert("RGB"), dtype=np.float32)
    out_im = Image.open(row.dest)
    out = np.asarray(out_im.convert("RGB"), dtype=np.float32)
    assert out.shape == src.shape  # full resolution
    assert out.mean() > src.mean() + 15  # +1 EV is clearly brighter
    from piaa_desktop.core import xmp

    vals = xmp.values_from_packet(xmp.parse_packet(out_im.info["xmp"]))
    assert vals == {"rating": 4, "flag": None, "color_label": "red"}

    # a byte copy gets the XMP spliced in without touching the pixels
    other = [i for i in lib["ids"] if i not in (pid, lib["rotated"])][0]
    catalog.set_flag([other], 1)
    rep2 = E.export_photos(catalog, [other], tmp_path / "out2", E.ExportOptions(embed_xmp=True))
    im2 = Image.open(rep2.rows[0].dest)
    assert xmp.values_from_packet(xmp.parse_packet(im2.info["xmp"]))["flag"] == 1
    assert np.array_equal(np.asarray(im2), np.asarray(Image.open(catalog.photo(other).path)))
    if EXIFTOOL:
        got = subprocess.run([EXIFTOOL, "-s3", "-XMP:Rating", row.dest], capture_output=True, text=True, timeout=60)
        assert got.stdout.strip() == "4"


def test_edits_without_develop_module_fail_clearly(catalog, lib, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "piaa_desktop.core.develop", None)
    dest = tmp_path / "out"
    with pytest.raises(E.ExportError, match="develop"):
        E.export_photos(catalog, lib["ids"][:2], dest, E.ExportOptions(edits=True))
    assert not any(dest.iterdir())


def test_never_overwrites(catalog, lib, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    pid = lib["ids"][0]
    name = Path(catalog.photo(pid).path).stem
    (dest / f"{name}.jpg").write_bytes(b"precious")
    opts = E.ExportOptions(template="{name}")
    r1 = E.export_photos(catalog, [pid], dest, opts)
    r2 = E.export_photos(catalog, [pid], dest, opts)
    assert (dest / f"{name}.jpg").read_bytes() == b"precious"
    assert Path(r1.rows[0].dest).name == f"{name}-1.jpg"
    # written under a new name because a different file had the name: the report says so
    assert r1.rows[0].status == "exported" and r1.rows[0].renamed_from == f"{name}.jpg"
    assert (r1.exported, r1.renamed, r1.already_there) == (1, 1, 0)
    assert "1 saved under a new name" in r1.describe()
    # the same export again finds its identical file instead of adding a "-2" duplicate (issue 12),
    # and reports it as already there, not as exported (walkthrough follow-up)
    assert Path(r2.rows[0].dest).name == f"{name}-1.jpg" and r2.rows[0].status == "already_there"
    assert (r2.exported, r2.already_there, r2.renamed) == (0, 1, 0)
    assert r2.describe().startswith("all 1 photo already there") and "nothing written" in r2.describe()
    assert not (dest / f"{name}-2.jpg").exists()
    # two reports, neither overwriting the other
    assert r1.csv_path != r2.csv_path and Path(r1.csv_path).exists() and Path(r2.csv_path).exists()


def test_second_export_tells_written_from_already_there(catalog, lib, tmp_path):
    """A second export into the same folder: what is identical is skipped and counted apart; a photo whose
    file the user changed meanwhile is written beside it (name-1), never over it; the report files agree."""
    dest = tmp_path / "out"
    ids = lib["ids"][:4]
    opts = E.ExportOptions(template="{name}")
    r1 = E.export_photos(catalog, ids, dest, opts)
    assert (r1.exported, r1.already_there, r1.renamed) == (4, 0, 0)
    assert r1.describe() == f"exported 4 of 4 photos to {dest.resolve()}"
    # the user retouches one exported file in another app
    touched = Path(r1.rows[1].dest)
    touched.write_bytes(b"the user's retouch")
    r2 = E.export_photos(catalog, ids, dest, opts)
    assert [r.status for r in r2.rows] == ["already_there", "exported", "already_there", "already_there"]
    assert (r2.exported, r2.already_there, r2.renamed, r2.failed, r2.skipped) == (1, 3, 1, 0, 0)
    assert touched.read_bytes() == b"the user's retouch"
    assert Path(r2.rows[1].dest).name == touched.stem + "-1.jpg" and r2.rows[1].renamed_from == touched.name
    said = r2.describe()
    assert said.startswith(f"exported 1 of 4 photos to {dest.resolve()}; 3 already there (identical files), skipped")
    assert "1 saved under a new name" in said
    summary = r2.summary()
    assert {k: summary[k] for k in ("exported", "already_there", "renamed", "total", "failed", "skipped")} == {
        "exported": 1, "already_there": 3, "renamed": 1, "total": 4, "failed": 0, "skipped": 0}
    doc = json.loads(Path(r2.json_path).read_text())
    assert doc["summary"]["already_there"] == 3
    assert [r["status"] for r in doc["photos"]] == [r.status for r in r2.rows]
    with open(r2.csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == [r.status for r in r2.rows]
    assert rows[1]["renamed_from"] == touched.name


def test_commit_without_hard_links_never_replaces_a_file_appearing_before_the_rename(tmp_path, monkeypatch):
    """On a file system without hard links (FAT/exFAT cards) the name is claimed exclusively first: a file
    another program creates under that name just before our rename is not replaced."""
    tmp = tmp_path / ".piaa-export-x.part"
    tmp.write_bytes(b"new")
    final = tmp_path / "a.jpg"

    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    real_replace = os.replace
    theirs = []

    def racy_replace(src, dst):  # another program writes "a.jpg" in the window before the rename, if it can
        if not os.path.exists(dst):
            Path(dst).write_bytes(b"theirs")
            theirs.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(E.os, "link", no_links)
    monkeypatch.setattr(E.os, "replace", racy_replace)
    out = E._commit_no_overwrite(tmp, final)
    assert out == final and out.read_bytes() == b"new" and not tmp.exists()
    kept = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    if theirs:  # their file must have survived somewhere
        assert b"theirs" in kept.values(), f"the file written at {theirs[0]} was replaced"
    # the name was ours (an empty placeholder) before the rename: nobody else could take it
    assert not theirs and kept == {"a.jpg": b"new"}


def test_commit_never_replaces_a_file_that_appears_meanwhile(tmp_path):
    tmp = tmp_path / ".piaa-export-x.part"
    tmp.write_bytes(b"new")
    final = tmp_path / "a.jpg"
    final.write_bytes(b"old")
    out = E._commit_no_overwrite(tmp, final)
    assert out.name == "a-1.jpg" and out.read_bytes() == b"new" and final.read_bytes() == b"old"
    assert not tmp.exists()


def test_cancel_stops_and_reports(catalog, lib, tmp_path):
    token = CancelToken()
    seen = []

    def progress(done, total, msg=""):
        seen.append(done)
        if done >= 2:
            token.cancel()

    dest = tmp_path / "out"
    with pytest.raises(E.ExportCancelled) as ei:
        E.export_photos(catalog, lib["ids"], dest, E.ExportOptions(), progress=progress, cancel=token)
    rep = ei.value.report
    assert rep.cancelled and rep.exported == 2
    assert [r.status for r in rep.rows].count("cancelled") == len(lib["ids"]) - 2
    images = [p for p in dest.iterdir() if p.suffix == ".jpg"]
    assert len(images) == 2
    assert not [p for p in dest.iterdir() if p.name.endswith(".part")]
    assert Path(rep.csv_path).exists()


def _no_partials(dest: Path):
    return [p.name for p in dest.rglob("*") if p.name.endswith(".part")]


def test_disk_full_during_copy_leaves_no_partial_file(catalog, lib, tmp_path, monkeypatch):
    def full_disk(src, dst, length=0):
        dst.write(src.read(1000))  # some bytes made it...
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(E.shutil, "copyfileobj", full_disk)
    dest = tmp_path / "out"
    with pytest.raises(E.ExportError, match="space") as ei:
        E.export_photos(catalog, lib["ids"][:3], dest, E.ExportOptions(template="{name}"))
    rep = ei.value.report
    assert rep.exported == 0 and rep.rows[0].status == "failed"
    assert [p for p in dest.iterdir() if p.suffix == ".jpg"] == []
    assert _no_partials(dest) == []


def test_disk_full_during_render_leaves_no_partial_file(catalog, lib, tmp_path, monkeypatch):
    calls = {"n": 0}
    real_fsync = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 2:  # the first photo lands, the second hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(E.os, "fsync", fsync)
    dest = tmp_path / "out"
    with pytest.raises(E.ExportError) as ei:
        E.export_photos(catalog, lib["ids"][:3], dest, E.ExportOptions(long_edge=100, template="{rank}"))
    rep = ei.value.report
    assert rep.exported == 1
    assert sorted(p.name for p in dest.iterdir() if p.suffix == ".jpg") == ["1.jpg"]
    assert Image.open(dest / "1.jpg").size[0] == 100  # the complete file is intact
    assert _no_partials(dest) == []


def test_unreadable_photo_fails_alone(catalog, lib, tmp_path):
    bad = catalog.photo(lib["ids"][1])
    Path(bad.path).write_bytes(b"\xff\xd8\xff\xe0garbage")  # corrupted after import
    rep = E.export_photos(catalog, lib["ids"][:3], tmp_path / "out", E.ExportOptions(long_edge=100))
    assert [r.status for r in rep.rows] == ["exported", "failed", "exported"]
    assert "decode" in rep.rows[1].error


def test_path_traversal_is_refused(catalog, lib, tmp_path):
    pid = lib["ids"][0]
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    for bad in ("../{name}", "/tmp/{name}", "{name}/../../x", "{name.__class__}", "{nope}", "", "~/{name}"):
        with pytest.raises(ValueError):
            E.export_photos(catalog, [pid], dest, E.ExportOptions(template=bad))
    # catalog values with separators cannot climb out either
    catalog.conn.execute("UPDATE photos SET camera=? WHERE id=?", ("../../outside/evil", pid))
    rep = E.export_photos(catalog, [pid], dest, E.ExportOptions(template="{camera}/{name}"))
    out = Path(rep.rows[0].dest)
    assert out.resolve().is_relative_to(dest.resolve())
    assert list(outside.iterdir()) == []
    # a symlinked subfolder pointing outside is refused
    (dest / "link").symlink_to(outside, target_is_directory=True)
    rep = E.export_photos(catalog, [pid], dest, E.ExportOptions(template="link/{name}"))
    assert rep.rows[0].status == "failed" and "outside" in rep.rows[0].error
    assert list(outside.iterdir()) == []


def test_template_fields_are_sanitised():
    class P:
        id, path, capture_time, mtime, rating, camera = 7, "/x/a:b*c.jpg", None, 0.0, 5, 'Nikon "Z"<6>'

    name = E.render_name("{camera}_{rating}_{score:.2f}_{name}", E._context(P, 3, 0.456))
    assert name == "Nikon _Z__6__5_0.46_a_b_c"
    assert E.render_name("{year}/{month}/{rank:03d}", E._context(P, 3, None)).count("/") == 2
    assert E.render_name("con", {}) == "_con"


def test_stale_part_files_from_a_killed_export_are_removed(catalog, lib, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    stale = dest / ".piaa-export-abc123.part"
    stale.write_bytes(b"half a jpeg")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = dest / ".piaa-export-def456.part"  # another export running right now
    fresh.write_bytes(b"in flight")
    E.export_photos(catalog, lib["ids"][:1], dest, E.ExportOptions())
    assert not stale.exists() and fresh.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_mid_write_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    import signal

    dest = tmp_path / "out"
    dest.mkdir()
    ready = tmp_path / "ready"
    code = f"""
import time
from pathlib import Path
from piaa_desktop.core import export as E
def writer(fh):
    fh.write(b"\\xff\\xd8" + b"x" * 100000)
    fh.flush()
    Path({str(ready)!r}).write_text("writing")
    time.sleep(60)
    fh.write(b"rest")
E._write_file(Path({str(dest / 'photo.jpg')!r}), writer)
"""
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 60
        while not ready.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "the writer never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (dest / "photo.jpg").exists()
    parts = [p for p in dest.iterdir()]
    assert len(parts) == 1 and parts[0].name.startswith(".piaa-export-") and parts[0].name.endswith(".part")
    # the next export into this folder removes the leftover once it is stale
    monkeypatch.setattr(E, "STALE_PART_SECONDS", -1)
    E._clean_stale_parts(dest)
    assert list(dest.iterdir()) == []
