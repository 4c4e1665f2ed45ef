"""Hardening of the command line (issue 12): concurrent scans of one folder (item 10), a full disk
(item 11, on a real, tiny tmpfs in a private mount namespace where the system allows it: one child process
in that namespace runs the commands one after the other through the CLI's main()), and the catalog's
integrity checked before use (item 13).
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _cli_helpers import piaa_data

REPO = Path(__file__).resolve().parents[1]


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def make_library(folder: Path, n: int, size=(96, 128), seed=0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        p = folder / f"img_{k:03d}.jpg"
        Image.fromarray(rng.integers(0, 255, (*size, 3), np.uint8)).save(p, quality=85)
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------------- item 10
def test_item10_two_scans_of_one_folder_at_once(tmp_path):
    lib = tmp_path / "lib"
    photos = make_library(lib, 80)
    data = tmp_path / "data"
    assert piaa_data(data, "errors").returncode == 0  # the catalog exists before the race starts
    cmd = [sys.executable, "-m", "piaa_desktop.cli.main", "--data-dir", str(data), "scan", "--no-embeddings",
           str(lib)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                              cwd=str(REPO)) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "UNIQUE constraint" not in err and "Traceback" not in err, err
    conn = sqlite3.connect(str(data / "catalog.sqlite3"))
    try:
        rows = conn.execute("SELECT path, missing FROM photos").fetchall()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert sorted(r[0] for r in rows) == sorted(str(p.resolve()) for p in photos)
    assert all(m == 0 for _, m in rows)


# ---------------------------------------------------------------------------------------------- item 11
DISKFULL = textwrap.dedent(
    r"""
    import json, os, shutil, subprocess, sys
    mnt, lib, lib2, tests = sys.argv[1:5]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt], check=True)
    data = os.path.join(mnt, "data")
    out = {}

    sys.path.insert(0, tests)  # tests/_cli_helpers.py
    from _cli_helpers import piaa_data

    def piaa(*args):  # each command in this process, as tests/_cli_helpers.py runs it (exit code, out, err)
        r = piaa_data(data, *args)
        return {"rc": r.returncode, "out": r.stdout[-2000:], "err": r.stderr[-3000:]}

    def fill(leave):
        with open(os.path.join(mnt, "fill"), "ab", buffering=0) as fh:
            try:
                while shutil.disk_usage(mnt).free > leave:
                    fh.write(b"\0" * min(65536, max(4096, shutil.disk_usage(mnt).free - leave)))
            except OSError:
                pass

    out["scan1"] = piaa("scan", "--no-embeddings", lib)
    out["rate1"] = piaa("rate", os.path.join(lib, "img_000.jpg"), "4")
    fill(0)
    out["free_full"] = shutil.disk_usage(mnt).free
    for name, args in {"score": ["score"], "rate": ["rate", os.path.join(lib, "img_001.jpg"), "2"],
                       "scan": ["scan", "--no-embeddings", lib], "errors": ["errors"]}.items():
        out["full_" + name] = piaa(*args)
    os.unlink(os.path.join(mnt, "fill"))
    fill(160 * 1024)  # room for a few thumbnails, not for a library of 150
    out["scan_mid"] = piaa("scan", "--no-embeddings", lib2)
    os.unlink(os.path.join(mnt, "fill"))
    out["scan_again"] = piaa("scan", "--no-embeddings", lib2)
    out["score_again"] = piaa("score", "--format", "csv")
    import sqlite3
    conn = sqlite3.connect(os.path.join(data, "catalog.sqlite3"))
    out["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
    out["n_photos"] = conn.execute("SELECT COUNT(*) FROM photos WHERE missing=0").fetchone()[0]
    out["rating0"] = conn.execute("SELECT rating FROM photos WHERE path LIKE '%img_000.jpg' ORDER BY id").fetchone()[0]
    conn.close()
    print(json.dumps(out))
    """
)


def _can_mount_tmpfs() -> str:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return "needs Linux with unshare"
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d && rmdir $d"],
                       capture_output=True, text=True, timeout=30)
    return "" if r.returncode == 0 else f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {r.stderr.strip()[:200]}"


def test_item11_full_disk_gives_a_clear_message_and_loses_nothing(tmp_path):
    why = _can_mount_tmpfs()
    if why:
        pytest.skip(why)
    lib, lib2 = tmp_path / "lib", tmp_path / "lib2"
    make_library(lib, 6, seed=1)
    make_library(lib2, 150, size=(240, 320), seed=2)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", DISKFULL, str(mnt),
                        str(lib), str(lib2), str(Path(__file__).resolve().parent)],
                       capture_output=True, text=True, timeout=900, env=_env(), cwd=str(REPO))
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["scan1"]["rc"] == 0 and out["rate1"]["rc"] == 0, out
    assert out["free_full"] < 64 * 1024
    for name in ("score", "rate", "scan", "errors"):
        res = out["full_" + name]
        text = res["out"] + res["err"]
        assert "Traceback" not in text, (name, text)
        if res["rc"] != 0:  # a command that needed to write said why, in words
            assert f"disk full: free space on {mnt}" in res["err"], (name, res)
        assert "disk I/O error" not in text, (name, text)
    assert out["full_score"]["rc"] != 0 and out["full_rate"]["rc"] != 0
    mid = out["scan_mid"]
    assert "Traceback" not in mid["err"], mid["err"]
    assert "disk full: free space on" in mid["out"] + mid["err"], mid
    again = out["scan_again"]
    assert again["rc"] == 0, again
    assert out["score_again"]["rc"] == 0
    assert out["integrity"] == "ok"
    assert out["n_photos"] == 6 + 150
    assert out["rating0"] == 4  # what was done before the disk filled is still there


# ---------------------------------------------------------------------------------------------- item 13
def _scribble_on(db: Path, name: str) -> None:
    """Overwrite part of the root page of table/index ``name`` (what a bad copy or a bit flip leaves)."""
    conn = sqlite3.connect(str(db))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (name,)).fetchone()[0]
    finally:
        conn.close()
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * page + 8)
        fh.write(b"\xff" * 200)


def test_item13_cli_notices_a_broken_index_and_repairs_it(tmp_path):
    """The CLI checks a catalog changed since PIAA closed it (here: by another program) before use.
    (The commands run in the test process: their behaviour is the subject, not the process.)"""
    lib = tmp_path / "lib"
    make_library(lib, 5)
    data = tmp_path / "data"
    assert piaa_data(data, "scan", "--no-embeddings", str(lib)).returncode == 0
    assert piaa_data(data, "rate", str(lib / "img_002.jpg"), "5").returncode == 0
    db = data / "catalog.sqlite3"
    _scribble_on(db, "photos_hash")
    conn = sqlite3.connect(str(db))
    assert conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
    conn.close()
    r = piaa_data(data, "score", "--format", "csv")
    assert "Traceback" not in r.stderr
    assert "damaged" in r.stderr and "rebuilt" in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    assert list((data / "backups").glob("catalog-*-damaged.sqlite3"))  # the damaged file was kept
    conn = sqlite3.connect(str(db))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT rating FROM photos WHERE path LIKE '%img_002.jpg'").fetchone()[0] == 5
    finally:
        conn.close()
    r = piaa_data(data, "score")  # and the next command finds nothing to say
    assert r.returncode == 0 and "damaged" not in r.stderr


def test_item13_cli_refuses_a_catalog_it_cannot_repair(tmp_path):
    lib = tmp_path / "lib"
    make_library(lib, 3)
    data = tmp_path / "data"
    assert piaa_data(data, "scan", "--no-embeddings", str(lib)).returncode == 0
    _scribble_on(data / "catalog.sqlite3", "photos")
    r = piaa_data(data, "score")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert "damaged" in r.stderr and "backups" in r.stderr, r.stderr
