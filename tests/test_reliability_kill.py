"""SIGKILL at random moments during import, training and export: the catalog stays sound, every rating
and edit committed before the kill is kept, and the next start resumes (import) or cleanly restarts the job.

Each kill test runs the real job in a child process (``python -m piaa_desktop.cli.main ... scan`` or a
small ``python -c`` helper) over generated photos and kills it with SIGKILL after a random delay
(fixed seeds, so a failure reproduces).
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _reliability_helpers import PY, REPO, child_env, file_hashes, integrity, link_library, personal_jobs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

KILL_SEEDS = (11, 22, 33, 44, 55, 66)


def _spawn(cmd: list[str], env=None) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=str(REPO), env=env or child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _kill_after(proc: subprocess.Popen, delay: float, during=None) -> bool:
    """SIGKILL ``proc`` after ``delay`` seconds (calling ``during()`` half-way); True if it was still running."""
    t_end = time.monotonic() + delay
    called = False
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            break
        if during and not called and time.monotonic() > t_end - delay / 2:
            during()
            called = True
        time.sleep(0.02)
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stderr:
        proc.stderr.close()
    return alive


def _state(cat) -> tuple[dict, dict, dict]:
    ratings = {r[0]: (r[1], r[2], r[3]) for r in cat.conn.execute("SELECT path, rating, flag, color_label FROM photos")}
    return ratings, cat.edits(), {r[0]: r[1] for r in cat.conn.execute("SELECT id, path FROM photos")}


def _pid(cat, path: Path) -> int:
    # photo_by_path resolves symlinks; the scanner stores the path as found (the link)
    return cat.conn.execute("SELECT id FROM photos WHERE path=?", (str(path),)).fetchone()[0]


# ---------------------------------------------------------------------------------------------- import
def test_sigkill_during_import_keeps_catalog_and_resumes(tmp_path, photos_dir):
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.recovery import recover, resume_job
    from piaa_desktop.core.scanner import scan_folder

    lib = tmp_path / "lib"
    data = tmp_path / "data"
    paths = app_paths(data).ensure()
    # 20 photos already in the catalog, rated, flagged, labelled and edited by the user ...
    first = link_library(photos_dir, lib, 0, 20)
    cat = open_catalog(paths)
    scan_folder(cat, lib, paths.thumbnails, workers=2)
    ids = [_pid(cat, p) for p in first]
    for k, pid in enumerate(ids):
        cat.set_rating([pid], 1 + k % 5)
    cat.set_flag(ids[:5], 1)
    cat.set_color_label(ids[5:8], "green")
    cat.set_edit(ids[:3], {"exposure": 0.5, "contrast": 10})
    cat.close()
    # ... then 40 more arrive and the import is killed again and again.
    link_library(photos_dir, lib, 20, 40)
    extra_rated = {}

    for n, seed in enumerate(KILL_SEEDS):
        rng = random.Random(seed)
        delay = rng.uniform(0.3, 6.0)
        proc = _spawn([PY, "-m", "piaa_desktop.cli.main", "--data-dir", str(data), "-q", "scan", str(lib)])

        def rate_meanwhile(n=n):
            # the user keeps rating in the app while the import runs (a committed write of another process)
            c = open_catalog(paths)
            try:
                pid = ids[n % len(ids)]
                c.set_rating([pid], 5 - n % 5)
                extra_rated[pid] = 5 - n % 5
            finally:
                c.close()

        _kill_after(proc, delay, during=rate_meanwhile)
        assert integrity(paths.catalog) == "ok", f"seed {seed}: catalog damaged after SIGKILL at {delay:.2f}s"
        cat = open_catalog(paths)
        try:
            ratings, edits, _ = _state(cat)
            for k, pid in enumerate(ids):
                p = cat.photo(pid)
                assert p is not None and not p.missing
                assert p.rating == extra_rated.get(pid, 1 + k % 5), f"seed {seed}: rating of {p.path} lost"
            assert all(cat.photo(i).flag == 1 for i in ids[:5])
            assert all(cat.photo(i).color_label == "green" for i in ids[5:8])
            assert {i: edits[i] for i in ids[:3]} == {i: {"exposure": 0.5, "contrast": 10} for i in ids[:3]}
            # no duplicate rows, every photo row is complete
            paths_in = [r[0] for r in cat.conn.execute("SELECT path FROM photos")]
            assert len(paths_in) == len(set(paths_in))
        finally:
            cat.close()

    # Next start: recovery marks the killed import interrupted and resumes it; everything is found.
    cat = open_catalog(paths)
    try:
        report = recover(cat, paths, full_check=True, check_models=False)
        assert report.ok
        assert not [r for r in cat.interrupted_jobs()], "a job of a dead process is still 'running'"
        resumable = [j for j in report.resumable if j["args"].get("folder") == str(lib)]
        killed_mid_way = any(j["kind"] == "import" for j in report.interrupted)
        if killed_mid_way:
            assert resumable, report
        res = resume_job(cat, paths, resumable[0]) if resumable else None
        if res is None:
            from piaa_desktop.core.scanner import import_folder

            res = import_folder(cat, lib, paths.thumbnails)
        assert not res.errors, res.errors
        assert cat.count_photos() == 60
        assert not [p for p in paths.thumbnails.rglob("*.part")]
        ids_emb, emb = cat.embeddings()
        assert len(ids_emb) == 60 and np.isfinite(emb).all()
        assert len(cat.scores("generic")) == 60
        for k, pid in enumerate(ids):
            assert cat.photo(pid).rating == extra_rated.get(pid, 1 + k % 5)
        # every cached thumbnail is a complete JPEG
        for p in cat.photos():
            from piaa_desktop.core.thumbnails import thumbnail_path

            with Image.open(thumbnail_path(paths.thumbnails, p.content_hash)) as im:
                im.load()
        assert recover(cat, paths, check_models=False).resumable == []
        assert cat.integrity_check() == "ok"
    finally:
        cat.close()


# ---------------------------------------------------------------------------------------------- export
EXPORT_CHILD = textwrap.dedent(
    """
    import sys
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.export import ExportOptions, export_photos
    from piaa_desktop.core.paths import app_paths
    cat = open_catalog(app_paths(sys.argv[1]).ensure())
    ids = cat.query_ids(sort="generic")
    while True:  # export again and again until killed
        export_photos(cat, ids, sys.argv[2], ExportOptions(long_edge=int(sys.argv[3]), template="{rank:03d}_{name}"))
    """
)


def test_sigkill_during_export_leaves_no_truncated_file(tmp_path, photos_dir):
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.export import ExportOptions, export_photos
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.scanner import scan_folder

    lib = tmp_path / "lib"
    data = tmp_path / "data"
    paths = app_paths(data).ensure()
    link_library(photos_dir, lib, 100, 16)
    cat = open_catalog(paths)
    scan_folder(cat, lib, paths.thumbnails, workers=2)
    ids = cat.query_ids()
    for k, pid in enumerate(ids):
        cat.set_rating([pid], 1 + k % 5)
    cat.set_edit(ids[:4], {"exposure": 0.3})
    before = _state(cat)
    cat.close()
    originals = file_hashes(photos_dir)  # symlink targets: must be untouched
    dest = tmp_path / "export"

    for seed in KILL_SEEDS[:4]:
        rng = random.Random(seed)
        proc = _spawn([PY, "-c", EXPORT_CHILD, str(data), str(dest), str(rng.choice([200, 320, 481]))])
        _kill_after(proc, rng.uniform(0.4, 3.0))
        assert integrity(paths.catalog) == "ok"
        # every file under a final name is complete; half-written data exists only as hidden .part files
        for f in dest.iterdir() if dest.exists() else []:
            if f.name.endswith(".part"):
                assert f.name.startswith(".piaa-export-")
                continue
            if f.suffix == ".jpg":
                with Image.open(f) as im:
                    im.load()
            elif f.suffix == ".json":
                json.loads(f.read_text())

    cat = open_catalog(paths)
    try:
        assert _state(cat) == before, "a rating or edit changed"
        # the next export cleans what a killed one left (stale .part files) and completes
        old = time.time() - 3600
        for f in dest.glob(".piaa-export-*.part"):
            os.utime(f, (old, old))
        out2 = tmp_path / "export"
        rep = export_photos(cat, ids, out2, ExportOptions(long_edge=200, template="{rank:03d}_{name}"))
        assert rep.exported == len(ids) and rep.failed == 0
        assert not list(dest.glob("*.part"))
    finally:
        cat.close()
    assert file_hashes(photos_dir) == originals


# ---------------------------------------------------------------------------------------------- training
TRAIN_CHILD = textwrap.dedent(
    """
    import sys
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.personal.operations import personalize
    paths = app_paths(sys.argv[1]).ensure()
    cat = open_catalog(paths)
    job = cat.job_started("personalize", {})
    while True:  # train again and again until killed
        personalize(cat, paths)
    """
)


def test_sigkill_during_training_keeps_previous_model(tmp_path, photos_dir):
    jobs = personal_jobs()
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.recovery import recover
    from piaa_desktop.core.scanner import import_folder

    lib = tmp_path / "lib"
    data = tmp_path / "data"
    paths = app_paths(data).ensure()
    link_library(photos_dir, lib, 200, 30)
    cat = open_catalog(paths)
    import_folder(cat, lib, paths.thumbnails, workers=2)
    ids = cat.query_ids()
    rng = np.random.default_rng(0)
    for pid in ids:
        cat.set_rating([pid], int(rng.integers(1, 6)))
    first = jobs.personalize(cat, paths)
    assert first.accepted
    before = _state(cat)
    cat.close()

    for seed in KILL_SEEDS[:4]:
        r = random.Random(seed)
        proc = _spawn([PY, "-c", TRAIN_CHILD, str(data)])
        _kill_after(proc, r.uniform(0.5, 4.0))
        assert integrity(paths.catalog) == "ok"
        cat = open_catalog(paths)
        try:
            assert _state(cat) == before
            active = cat.conn.execute("SELECT COUNT(*) FROM personal_models WHERE active=1").fetchone()[0]
            assert active == 1, "exactly one personal model must stay active"
            mid, head = jobs.active_model(cat)
            assert head is not None and head.is_finite()
            scores = cat.scores("personal")
            assert len(scores) == len(ids) and all(np.isfinite(list(scores.values())))
        finally:
            cat.close()

    cat = open_catalog(paths)
    try:
        rep = recover(cat, paths, check_models=False)
        assert not cat.interrupted_jobs()
        assert any(j["kind"] == "personalize" for j in rep.interrupted)
        assert all(j["kind"] != "personalize" for j in rep.resumable)  # restarted by the user, not resumed
        again = jobs.personalize(cat, paths)  # a clean restart works
        assert again.accepted
    finally:
        cat.close()
