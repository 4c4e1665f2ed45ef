"""Hardening (issue 12): long names (item 14) and the smaller items of 15, each with its regression test.
Inputs are generated here.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from _cli_helpers import piaa_data

from piaa_desktop.core import xmp
from piaa_desktop.core.imageio import ImageError, load_rgb
from piaa_desktop.core.scanner import scan_folder

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def photo(path: Path, seed: int = 0, size=(40, 60)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (*size, 3), np.uint8)).save(path, "JPEG")
    return path


SIDECAR = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="1"/>'
           "</rdf:RDF></x:xmpmeta>\n")


# ---------------------------------------------------------------------------------------------- item 14
@pytest.mark.parametrize("stem", ["a" * 233, "b" * 240, "c" * 247, "写真" * 39 + "x"])
def test_item14_long_names_get_their_sidecar(tmp_path, stem):
    p = tmp_path / f"{stem}.jpg"  # 237-251 bytes: the sidecar name fits in 255, its old temp name did not
    assert 237 <= len(p.name.encode()) <= 251
    p.write_bytes(b"x")
    side = xmp.write_sidecar(p, rating=4)
    assert side.name == p.name + ".xmp" and xmp.read_sidecar(p)["rating"] == 4
    xmp.write_sidecar(p, rating=2)  # and an update of it
    assert xmp.read_sidecar(p)["rating"] == 2
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".part")]


def test_item14_export_caps_names_in_bytes(tmp_path, catalog, app_paths):
    from piaa_desktop.core.export import ExportOptions, export_photos

    lib = tmp_path / "lib"
    cjk = "東京の夜景と人々の暮らし" * 7  # 84 characters, 252 bytes of UTF-8
    photo(lib / f"{cjk[:80]}.jpg")
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert res.new
    out = tmp_path / "out"
    for template in ("{name}", "{name}_{camera}_{date}", "{folder}/{name}{name}"):
        rep = export_photos(catalog, res.new, out, ExportOptions(template=template, write_report=False))
        row = rep.rows[0]
        # capped at 200 bytes, the first two templates give the same name: the second finds its identical file
        assert row.status == ("exported" if template == "{name}" else row.status), row.error
        assert row.status in ("exported", "already_there"), row.error
        for part in Path(row.dest).relative_to(out).parts:
            assert len(part.encode("utf-8")) <= 255
        assert Path(row.dest).is_file()
    # twice the same export: the "-1" a second, different file would get still fits
    rep = export_photos(catalog, res.new, out, ExportOptions(template="{name}", write_report=False, long_edge=20))
    assert rep.rows[0].status == "exported", rep.rows[0].error


# ---------------------------------------------------------------------------------------------- item 15
def test_item15_png_text_chunk_limit_message_is_plain(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * (2 * 1024 * 1024), zip=True)
    p = tmp_path / "big_text.png"
    Image.new("RGB", (8, 8)).save(p, "PNG", pnginfo=info)
    with pytest.raises(ImageError) as e:
        load_rgb(p)
    msg = str(e.value)
    assert "MAX_TEXT_CHUNK" not in msg and "Decompressed" not in msg
    assert "text (metadata) block" in msg


@pytest.mark.parametrize("kind", ["int32", "uint32_as_int32", "float01", "float_hdr"])
def test_item15_32_bit_tiff_thumbnails_are_not_black(tmp_path, kind):
    ramp = np.linspace(0, 1, 64 * 96).reshape(64, 96)
    arr = {
        "int32": (ramp * (2**31 - 1)).astype(np.int32),
        "uint32_as_int32": (ramp * (2**32 - 1)).astype(np.uint64).astype(np.uint32).view(np.int32),
        "float01": ramp.astype(np.float32),
        "float_hdr": (ramp * 40.0).astype(np.float32),
    }[kind]
    p = tmp_path / f"{kind}.tif"
    Image.fromarray(arr).save(p)
    a = np.asarray(load_rgb(p, max_size=48)).astype(np.float32)
    assert 80 < a.mean() < 175, a.mean()  # a ramp: mid-grey on average, not black (or white)
    assert a.max() - a.min() > 150


def test_item15_read_only_sidecar_is_left_untouched(tmp_path):
    p = photo(tmp_path / "a.jpg")
    side = xmp.sidecar_path(p)
    side.write_text(SIDECAR)
    side.chmod(0o444)
    with pytest.raises(xmp.XmpError, match="read-only"):
        xmp.write_sidecar(p, rating=5)
    assert side.read_text() == SIDECAR and (side.stat().st_mode & 0o777) == 0o444


def test_item15_symlinked_sidecar_stays_a_symlink(tmp_path):
    p = photo(tmp_path / "lib" / "a.jpg")
    store = tmp_path / "sidecars" / "a.jpg.xmp"
    store.parent.mkdir()
    store.write_text(SIDECAR)
    link = xmp.sidecar_path(p)
    os.symlink(store, link)
    xmp.write_sidecar(p, rating=5)
    assert link.is_symlink() and os.readlink(link) == str(store)
    assert xmp.read_sidecar(p)["rating"] == 5 and 'Rating="5"' in store.read_text()


def test_item15_exports_saved_inside_the_library_are_not_imported(tmp_path, catalog, app_paths):
    from piaa_desktop.core.export import ExportOptions, export_photos

    lib = tmp_path / "lib"
    for k in range(3):
        photo(lib / f"{k}.jpg", seed=k)
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    export_photos(catalog, res.new, lib / "exports", ExportOptions(long_edge=30))
    again = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert again.new == [] and again.moved == [] and again.unchanged == 3
    assert any("exports" in w and "export" in w for w in again.warnings), again.warnings


def test_item15_rerunning_an_interrupted_export_makes_no_duplicates(tmp_path, catalog, app_paths):
    from piaa_desktop.core.export import ExportOptions, export_photos

    lib = tmp_path / "lib"
    for k in range(4):
        photo(lib / f"{k}.jpg", seed=10 + k)
    ids = scan_folder(catalog, lib, app_paths.cache_dir, workers=1).new
    out = tmp_path / "out"
    for opts in (ExportOptions(write_report=False), ExportOptions(write_report=False, long_edge=24)):
        first = export_photos(catalog, ids, out / str(opts.long_edge), opts)
        Path(first.rows[-1].dest).unlink()  # the run was killed before its last photo
        second = export_photos(catalog, ids, out / str(opts.long_edge), opts)
        # the three files the killed run finished are already there (not written again); the last is written
        assert [r.status for r in second.rows] == ["already_there"] * 3 + ["exported"]
        names = sorted(p.name for p in (out / str(opts.long_edge)).glob("*.jpg"))
        assert len(names) == 4 and not [n for n in names if n.endswith("-1.jpg")], names  # no "-1" copies


def test_item15_zero_byte_catalog_is_refused_not_replaced(tmp_path):
    data = tmp_path / "data"
    assert piaa_data(data, "errors").returncode == 0
    db = data / "catalog.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"")
    r = piaa_data(data, "score")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "empty (0 bytes)" in r.stderr and "backups" in r.stderr
    assert db.stat().st_size == 0  # still the user's file, not a fresh empty catalog


def test_item15_sidecar_warning_is_printed_once(tmp_path):
    lib = tmp_path / "lib"
    p = photo(lib / "b.jpg")
    data = tmp_path / "data"
    assert piaa_data(data, "scan", "--no-embeddings", str(lib)).returncode == 0
    xmp.sidecar_path(p).write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><broken')
    r = piaa_data(data, "rate", str(p), "3")
    assert r.returncode == 0
    assert r.stderr.count("left untouched") == 1, r.stderr


READ_ONLY = textwrap.dedent(
    r"""
    import json, os, subprocess, sys
    mnt, lib, tests = sys.argv[1:4]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", mnt], check=True)
    data = os.path.join(mnt, "data")
    sys.path.insert(0, tests)  # tests/_cli_helpers.py
    from _cli_helpers import piaa_data
    def piaa(*a):  # each command in this process (exit code, out, err), one child for the whole story
        r = piaa_data(data, *a)
        return {"rc": r.returncode, "out": r.stdout[-3000:], "err": r.stderr[-3000:]}
    out = {"scan": piaa("scan", "--no-embeddings", lib)}
    subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
    out["score"] = piaa("score", "--format", "csv")
    out["errors"] = piaa("errors")
    out["rate"] = piaa("rate", os.path.join(lib, "0.jpg"), "3")
    print(json.dumps(out))
    """
)


def test_item15_read_only_data_dir_still_scores(tmp_path):
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        pytest.skip("needs Linux with unshare")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "d=$(mktemp -d) && mount -t tmpfs tmpfs $d && mount -o remount,ro $d"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {probe.stderr.strip()[:200]}")
    lib = tmp_path / "lib"
    for k in range(3):
        photo(lib / f"{k}.jpg", seed=20 + k)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", READ_ONLY, str(mnt),
                        str(lib), str(Path(__file__).resolve().parent)], capture_output=True, text=True, timeout=600,
                       env=_env(), cwd=str(REPO))
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["scan"]["rc"] == 0
    assert out["score"]["rc"] == 0, out["score"]
    assert out["score"]["out"].count(".jpg") == 3
    assert out["errors"]["rc"] == 0, out["errors"]
    assert out["rate"]["rc"] != 0 and "read-only" in out["rate"]["err"], out["rate"]
    assert all("Traceback" not in v["err"] for v in out.values())
