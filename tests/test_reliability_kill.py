"""SIGKILL at random moments during import, training and export: the catalog stays sound, every rating
and edit committed before the kill is kept, and the next start resumes (import) or cleanly restarts the job.

Each kill round runs the real job in a child process (``piaa scan``'s own ``main()`` or a small helper) over
generated photos and kills it with SIGKILL after a random delay (fixed seeds, so a failure reproduces). The
children are forked by one server (tests/_kill_zygote.py) that imported numpy, Pillow and the app once, and the
delay counts from the moment the child's job has started (its first progress line), not from the spawn: no
round pays Python's start-up, and no kill is wasted on it. Each test counts the kills that landed mid-job.
"""
from __future__ import annotations

import json
import os
import random
import select
import signal
import sqlite3
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
# Kill delays, counted from the moment the child's job has started (its first progress line), not from the
# spawn: every kill lands in the job's writes, none in Python's start-up.
IMPORT_KILL_S = 0.8  # a round's import (6-7 new photos and what killed rounds left) takes ~0.5-1.5 s
IMPORT_MIN_MID_JOB = 3  # of 6 kills, at least this many cut an import short (delays from the spawn: 1 of 6)
EXPORT_KILL_S = 0.6  # one export of the 16 photos takes ~0.2-0.5 s; the child exports again and again
TRAIN_KILL_S = 0.8  # one personalize run takes ~0.2-0.45 s; the child trains again and again


ZYGOTE = Path(__file__).with_name("_kill_zygote.py")
# The import job as ``piaa scan`` runs it (its progress lines on stderr say when the job has started)
SCAN_CHILD = "import sys\nfrom piaa_desktop.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"


class Zygote:
    """The fork server of tests/_kill_zygote.py: imports once, then forks a fresh child per kill round."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([PY, str(ZYGOTE)], cwd=str(REPO), env=child_env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self._buf = b""
        self.child = None  # the pid of the child not yet reported gone
        self.ready = self.read(120)
        assert self.ready and "ready" in self.ready, f"the fork server did not start: {self.ready}"

    def read(self, timeout: float):
        """The next JSON line of the server, or None after ``timeout`` seconds."""
        t_end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = t_end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"the fork server died (exit code {self.proc.wait()})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        msg = json.loads(line)
        if msg.get("exited") == self.child:
            self.child = None
        return msg

    def fork(self, code: str, argv: list[str], log: Path) -> int:
        self.proc.stdin.write((json.dumps({"code": code, "argv": argv, "log": str(log)}) + "\n").encode())
        self.proc.stdin.flush()
        msg = self.read(60)
        assert msg and "pid" in msg, msg
        self.child = msg["pid"]
        return self.child

    def close(self) -> None:
        if self.child is not None:  # a test failed mid-round: its child must not outlive it
            try:
                os.kill(self.child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def zygote():
    z = Zygote()
    # nothing that must not cross a fork: no Python thread, no onnxruntime / torch (their sessions and thread
    # pools are made in each child); at most numpy's OpenBLAS pool (1 thread per OpenMP thread beyond the first)
    assert z.ready["python_threads"] == 1 and z.ready["unsafe_modules"] == [], z.ready
    if z.ready["native_threads"] is not None:  # Linux
        assert z.ready["native_threads"] <= int(child_env()["OMP_NUM_THREADS"]), z.ready
    yield z
    z.close()


def _kill_round(z: Zygote, code: str, argv: list[str], log: Path, marker: str, delay: float, during=None) -> dict:
    """Fork a child running ``code``, wait until its output shows ``marker`` (the job has started), then
    SIGKILL it ``delay`` seconds later (calling ``during()`` half-way). ``killed``: it was still running."""
    log.write_text("")
    pid = z.fork(code, argv, log)
    t0 = time.monotonic()
    exited = None
    while marker not in log.read_text(errors="replace"):
        exited = z.read(0.01)
        assert exited is None, f"the child ended before its job started: {exited}\n{log.read_text()}"
        assert time.monotonic() - t0 < 120, f"the job did not start in 120 s:\n{log.read_text()}"
    t_start = time.monotonic()
    t_end = t_start + delay
    called = False
    while exited is None and time.monotonic() < t_end:
        if during and not called and time.monotonic() > t_end - delay / 2:
            during()
            called = True
        exited = z.read(max(0.0, min(0.02, t_end - time.monotonic())))
    killed = exited is None
    if killed:
        os.kill(pid, signal.SIGKILL)
        exited = z.read(30)
        assert exited and exited["exited"] == pid and exited["signal"] == signal.SIGKILL, exited
    else:
        assert exited["code"] == 0, f"the child failed: {exited}\n{log.read_text()}"
    return {"killed": killed, "start_s": t_start - t0, "delay": delay}


def _last_job(db: Path, kind: str) -> tuple[int, str]:
    """(id, state) of the newest job of ``kind`` ((0, "") if none): a job a SIGKILL cut short stays 'running'."""
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        row = conn.execute("SELECT id, state FROM jobs WHERE kind=? ORDER BY id DESC LIMIT 1", (kind,)).fetchone()
        return (row[0], row[1]) if row else (0, "")
    finally:
        conn.close()


def _state(cat) -> tuple[dict, dict, dict]:
    ratings = {r[0]: (r[1], r[2], r[3]) for r in cat.conn.execute("SELECT path, rating, flag, color_label FROM photos")}
    return ratings, cat.edits(), {r[0]: r[1] for r in cat.conn.execute("SELECT id, path FROM photos")}


def _pid(cat, path: Path) -> int:
    # photo_by_path resolves symlinks; the scanner stores the path as found (the link)
    return cat.conn.execute("SELECT id FROM photos WHERE path=?", (str(path),)).fetchone()[0]


# ---------------------------------------------------------------------------------------------- import
def test_sigkill_during_import_keeps_catalog_and_resumes(tmp_path, photos_dir, zygote):
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
    # ... then 40 more arrive, a few before each import, and the import is killed again and again (each kill
    # finds new photos to decode, commit, embed and score, besides what the killed ones left).
    extra_rated = {}
    mid_job = []

    for n, seed in enumerate(KILL_SEEDS):
        start, stop = (20 + 40 * k // len(KILL_SEEDS) for k in (n, n + 1))
        link_library(photos_dir, lib, start, stop - start)
        rng = random.Random(seed)
        # counted from the job's start (``piaa scan`` printing "Looking for photos", just after it recorded its job)
        delay = rng.uniform(0.05, IMPORT_KILL_S)
        job_before = _last_job(paths.catalog, "import")[0]

        def rate_meanwhile(n=n):
            # the user keeps rating in the app while the import runs (a committed write of another process)
            c = open_catalog(paths)
            try:
                pid = ids[n % len(ids)]
                c.set_rating([pid], 5 - n % 5)
                extra_rated[pid] = 5 - n % 5
            finally:
                c.close()

        r = _kill_round(zygote, SCAN_CHILD, ["--data-dir", str(data), "scan", str(lib)], tmp_path / "child.log",
                        "Looking for photos", delay, during=rate_meanwhile)
        job_id, state = _last_job(paths.catalog, "import")
        mid_job.append(r["killed"] and job_id > job_before and state == "running")  # the kill cut the import short
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

    print(f"import: {sum(mid_job)} of {len(mid_job)} kills landed mid-job")  # shown with -s
    assert sum(mid_job) >= IMPORT_MIN_MID_JOB, f"only {sum(mid_job)} of {len(mid_job)} kills landed mid-import: {mid_job}"
    # Next start: recovery marks the killed import interrupted and resumes it; everything is found.
    cat = open_catalog(paths)
    try:
        report = recover(cat, paths, full_check=True, check_models=False)
        assert report.ok
        assert not [r for r in cat.interrupted_jobs()], "a job of a dead process is still 'running'"
        resumable = [j for j in report.resumable if j["args"].get("folder") == str(lib)]
        killed_mid_way = any(j["kind"] == "import" for j in report.interrupted)
        assert killed_mid_way == any(mid_job)
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
    import sys, time
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.export import ExportOptions, export_photos
    from piaa_desktop.core.paths import app_paths
    def progress(done, total, message=""):
        print(f"{time.monotonic():.3f} {message}", flush=True)  # "Exporting" first: the test counts from it
    cat = open_catalog(app_paths(sys.argv[1]).ensure())
    ids = cat.query_ids(sort="generic")
    while True:  # export again and again until killed
        export_photos(cat, ids, sys.argv[2], ExportOptions(long_edge=int(sys.argv[3]), template="{rank:03d}_{name}"),
                      progress=progress)
    """
)


def test_sigkill_during_export_leaves_no_truncated_file(tmp_path, photos_dir, zygote):
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

    mid_job = []
    for seed in KILL_SEEDS[:4]:
        rng = random.Random(seed)
        size = str(rng.choice([200, 320, 481]))
        r = _kill_round(zygote, EXPORT_CHILD, [str(data), str(dest), size], tmp_path / "child.log", "Exporting",
                        rng.uniform(0.02, EXPORT_KILL_S))
        mid_job.append(r["killed"])  # the child exports in a loop: killed after "Exporting" = killed mid-export
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

    print(f"export: {sum(mid_job)} of {len(mid_job)} kills landed mid-job")
    assert all(mid_job), mid_job
    cat = open_catalog(paths)
    try:
        assert _state(cat) == before, "a rating or edit changed"
        # the next export cleans what a killed one left (stale .part files) and completes
        old = time.time() - 3600
        for f in dest.glob(".piaa-export-*.part"):
            os.utime(f, (old, old))
        out2 = tmp_path / "export"
        rep = export_photos(cat, ids, out2, ExportOptions(long_edge=200, template="{rank:03d}_{name}"))
        # files the killed rounds completed identically are already there (not written twice); the rest is written
        assert rep.exported + rep.already_there == len(ids) and rep.failed == 0
        assert not list(dest.glob("*.part"))
    finally:
        cat.close()
    assert file_hashes(photos_dir) == originals


# ---------------------------------------------------------------------------------------------- training
TRAIN_CHILD = textwrap.dedent(
    """
    import sys, time
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.personal.operations import personalize
    def progress(done, total, message=""):
        print(f"{time.monotonic():.3f} {message}", flush=True)  # "Loading the library" first: the test counts from it
    paths = app_paths(sys.argv[1]).ensure()
    cat = open_catalog(paths)
    job = cat.job_started("personalize", {})
    while True:  # train again and again until killed
        personalize(cat, paths, progress=progress)
    """
)


def test_sigkill_during_training_keeps_previous_model(tmp_path, photos_dir, zygote):
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

    mid_job = []
    for seed in KILL_SEEDS[:4]:
        r = random.Random(seed)
        res = _kill_round(zygote, TRAIN_CHILD, [str(data)], tmp_path / "child.log", "Loading the library",
                          r.uniform(0.02, TRAIN_KILL_S))
        mid_job.append(res["killed"])  # the child trains in a loop: killed after its start = killed mid-training
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

    print(f"training: {sum(mid_job)} of {len(mid_job)} kills landed mid-job")
    assert all(mid_job), mid_job
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
