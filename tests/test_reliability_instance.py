"""One app per library (core.instance), the CLI sharing the catalog through SQLite, start-up recovery."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from _cli_helpers import piaa_data
from _reliability_helpers import PY, REPO, child_env, copy_library

from piaa_desktop.core.instance import AlreadyRunning, InstanceLock, holder_pid
from piaa_desktop.core.recovery import clean_part_files, pid_alive, recover, resumable_jobs

HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from piaa_desktop.core.instance import InstanceLock
    lock = InstanceLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(120)
    """
)


def _start_holder(data_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([PY, "-c", HOLD_LOCK, str(data_dir)], cwd=str(REPO), env=child_env(),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_instance_is_refused_with_the_holders_pid(tmp_path, app_paths):
    holder = _start_holder(app_paths.data_dir)
    try:
        with pytest.raises(AlreadyRunning) as ei:
            InstanceLock(app_paths).acquire()
        msg = str(ei.value)
        assert ei.value.pid == holder.pid
        assert f"process {holder.pid}" in msg and "already running" in msg and str(app_paths.data_dir) in msg
        assert holder_pid(app_paths) == holder.pid
    finally:
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()
    # the kernel dropped the lock with the process: no stale lock
    lock = InstanceLock(app_paths).acquire()
    try:
        assert lock.held and holder_pid(app_paths) == os.getpid()
        assert lock.unclean and lock.previous_pid == holder.pid  # it died without releasing: check the catalog
    finally:
        lock.release()
    assert holder_pid(app_paths) is None
    again = InstanceLock(app_paths).acquire()  # after a clean release
    assert not again.unclean and again.previous_pid is None
    again.release()


def test_lock_in_process_release_and_reacquire(tmp_path):
    d = tmp_path / "lib-data"
    a = InstanceLock(d).acquire()
    with pytest.raises(AlreadyRunning, match=f"process {os.getpid()}"):
        InstanceLock(d).acquire()
    a.release()
    a.release()  # idempotent
    with InstanceLock(d) as b:
        assert b.held
    assert not b.held
    # other data dirs are independent
    with InstanceLock(tmp_path / "other"), InstanceLock(d):
        pass


RATE_LIBRARY = textwrap.dedent(
    """
    import sys, time
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths
    cat = open_catalog(app_paths(sys.argv[1]).ensure())
    cat.conn.execute("BEGIN IMMEDIATE")  # the app in the middle of a long write
    cat.conn.execute("UPDATE photos SET rating=2 WHERE path=?", (sys.argv[2],))
    print("writing", flush=True)
    time.sleep(float(sys.argv[3]))
    cat.conn.execute("COMMIT")
    print("committed", flush=True)
    """
)


def test_cli_rate_waits_for_another_process_write_and_succeeds(tmp_path, data_dir, photos_dir):
    lib = tmp_path / "lib"
    photos = copy_library(photos_dir, lib, 0, 3)
    r = piaa_data(data_dir, "-q", "scan", "--no-embeddings", str(lib))
    assert r.returncode == 0, r.stderr
    writer = subprocess.Popen([PY, "-c", RATE_LIBRARY, str(data_dir), str(photos[0]), "2.0"], cwd=str(REPO),
                              env=child_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        # blocks on the writer's lock, then goes through (the command in this process, the writer another)
        r = piaa_data(data_dir, "rate", str(photos[1]), "4")
        assert r.returncode == 0, r.stderr
        assert "locked" not in r.stderr.lower()
        assert writer.stdout.readline().strip() == "committed"
    finally:
        writer.wait(timeout=30)
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths

    cat = open_catalog(app_paths(data_dir))
    try:
        assert cat.photo_by_path(photos[0]).rating == 2  # the other process's write
        assert cat.photo_by_path(photos[1]).rating == 4  # the CLI's
        assert cat.integrity_check() == "ok"
    finally:
        cat.close()


# ---------------------------------------------------------------------------------------------- recovery
def _dead_pid() -> int:
    p = subprocess.Popen([PY, "-c", "pass"])
    p.wait()
    return p.pid


def test_recover_marks_only_dead_jobs_and_cleans_part_files(catalog, app_paths, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    dead = catalog.job_started("import", {"folder": str(lib)})
    catalog.conn.execute("UPDATE jobs SET args=? WHERE id=?", (json.dumps({"folder": str(lib), "_pid": _dead_pid()}), dead))
    legacy = catalog.job_started("personalize", {})
    catalog.conn.execute("UPDATE jobs SET args='{}' WHERE id=?", (legacy,))  # no pid recorded: treated as dead
    live = catalog.job_started("import", {"folder": str(tmp_path / "elsewhere")})  # this process: alive
    part = app_paths.thumbnails / "512" / "ab" / ".abcd.jpg.x1y2.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"half")
    old_part = app_paths.thumbnails / ".old.jpg.zz.part"
    old_part.write_bytes(b"half")
    old = time.time() - 3600
    os.utime(old_part, (old, old))
    keep = app_paths.thumbnails / "512" / "ab" / "abcd.jpg"
    keep.write_bytes(b"a real thumbnail")

    with pytest.raises(ValueError):
        recover(catalog, app_paths, integrity="maybe")
    rep = recover(catalog, app_paths, full_check=True, check_models=False)
    assert rep.ok and rep.integrity == "ok"
    assert {j["id"] for j in rep.interrupted} == {dead, legacy}
    state = dict(catalog.conn.execute("SELECT id, state FROM jobs").fetchall())
    assert state == {dead: "interrupted", legacy: "interrupted", live: "running"}
    assert [j["id"] for j in rep.resumable] == [dead] and rep.resumable[0]["args"]["folder"] == str(lib)
    assert any("did not finish" in m and str(lib) in m for m in rep)
    # a job is still running (here): only old temp files go, a fresh one may be in flight
    assert part.exists() and not old_part.exists() and keep.exists()
    catalog.job_finished(live)
    recover(catalog, app_paths, check_models=False)
    assert not part.exists() and keep.exists()


def test_resume_interrupted_import_finishes_it(catalog, app_paths, tmp_path, photos_dir):
    from piaa_desktop.core.recovery import resume_job

    lib = tmp_path / "lib"
    copy_library(photos_dir, lib, 0, 5)
    job = catalog.job_started("import", {"folder": str(lib)})
    catalog.conn.execute("UPDATE jobs SET args=? WHERE id=?", (json.dumps({"folder": str(lib), "_pid": _dead_pid()}), job))
    gone = catalog.job_started("import", {"folder": str(tmp_path / "unplugged-drive")})
    catalog.conn.execute("UPDATE jobs SET args=? WHERE id=?",
                         (json.dumps({"folder": str(tmp_path / "unplugged-drive"), "_pid": _dead_pid()}), gone))
    rep = recover(catalog, app_paths, check_models=False)
    by_folder = {j["args"]["folder"]: j for j in rep.resumable}
    res = resume_job(catalog, app_paths, by_folder[str(lib)], embeddings=False)
    assert len(res.new) == 5 and catalog.count_photos() == 5
    assert resume_job(catalog, app_paths, by_folder[str(tmp_path / "unplugged-drive")]) is None
    assert resumable_jobs(catalog) == []
    states = dict(catalog.conn.execute("SELECT id, state FROM jobs WHERE id IN (?, ?)", (job, gone)).fetchall())
    assert states == {job: "resumed", gone: "abandoned"}


def test_recover_reports_a_damaged_catalog_and_backs_it_up(app_paths, tmp_path):
    from piaa_desktop.core.catalog import Catalog, open_catalog

    cat = open_catalog(app_paths)
    cat.conn.execute("CREATE TABLE filler(x BLOB)")
    cat.conn.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(3000),) for _ in range(300)])
    cat.conn.execute("CREATE INDEX filler_x ON filler(x)")
    cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cat.close()
    # flip bytes in the middle of the file (index pages): a damaged disk sector
    raw = bytearray(app_paths.catalog.read_bytes())
    page = 4096
    for k in range(len(raw) // page // 2, len(raw) // page // 2 + 4):
        raw[k * page + 100 : k * page + 400] = os.urandom(300)
    app_paths.catalog.write_bytes(bytes(raw))
    try:
        cat = Catalog.open(app_paths.catalog)
    except Exception as exc:  # noqa: BLE001 - a header-level corruption is refused at open already
        pytest.skip(f"corruption hit the header: {exc}")
    try:
        assert recover(cat, app_paths, integrity="skip", check_models=False).ok  # not looked at
        rep = recover(cat, app_paths, integrity="full", check_models=False)
        # damage found; broken index pages are rebuilt from the tables (issue 12), table damage is not
        assert rep.integrity != "ok"
        assert rep.ok == rep.repaired
        if rep.repaired:
            assert cat.integrity_check() == "ok"
    finally:
        cat.close()
    assert rep and "damaged" in rep[0] and str(app_paths.backups) in rep[0]
    assert rep.backup and Path(rep.backup).exists()


def test_recover_reports_model_problems(catalog, app_paths, tmp_path, monkeypatch):
    import shutil

    from piaa_desktop.core.paths import models_dir

    d = tmp_path / "models"
    shutil.copytree(models_dir(), d)
    from piaa_desktop.core.backbones import get as backbone

    (d / backbone().file).unlink()
    monkeypatch.setenv("PIAA_MODELS_DIR", str(d))
    rep = recover(catalog, app_paths)
    assert rep.ok  # the library itself is fine
    assert any(backbone().file in p and "missing" in p for p in rep.model_problems)
    assert any(m.startswith("Model problem") and "still works" in m for m in rep)


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid(), time.time() - 5)
    assert not pid_alive(None) and not pid_alive(0)
    z = subprocess.Popen([PY, "-c", "pass"])
    if sys.platform.startswith("linux"):
        # wait until it has exited, without reaping it (WNOWAIT): a zombie is not alive
        os.waitid(os.P_PID, z.pid, os.WEXITED | os.WNOWAIT)
        assert not pid_alive(z.pid, time.time())
    z.wait()
    child = subprocess.Popen([PY, "-c", "import time; time.sleep(30)"])
    try:
        assert pid_alive(child.pid, time.time() - 1)
        if sys.platform.startswith("linux"):
            # the job started an hour before this process was born: the pid was reused, the job's process is gone
            assert not pid_alive(child.pid, time.time() - 3600)
    finally:
        child.kill()
        child.wait()


def test_clean_part_files_ignores_other_files(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".a.jpg.123.part").write_bytes(b"x")
    removed = clean_part_files([tmp_path, tmp_path / "missing"], all_ages=True)
    assert [Path(p).name for p in removed] == [".a.jpg.123.part"]
    assert (tmp_path / "a.jpg").exists()


def test_open_library_takes_the_lock_and_recovers(tmp_path, app_paths):
    from piaa_desktop.core.recovery import open_library

    holder = _start_holder(app_paths.data_dir)
    try:
        with pytest.raises(AlreadyRunning):
            open_library(app_paths)
    finally:
        holder.kill()
        holder.wait()
    lock, cat, rep = open_library(app_paths, check_models=False)
    try:
        assert lock.held and lock.unclean  # the holder was killed: the catalog was checked
        assert rep.ok and cat.integrity_check() == "ok"
        with pytest.raises(AlreadyRunning):
            open_library(app_paths)
    finally:
        cat.close()
        lock.release()
    lock, cat, rep = open_library(app_paths, check_models=False)
    cat.close()
    assert not lock.unclean
    lock.release()


GUI_SECOND = textwrap.dedent(
    """
    import sys
    from PySide6.QtWidgets import QMessageBox
    def shown(parent, title, text, *a, **k):  # a modal box would wait forever offscreen: print it
        print("MESSAGE:", text, flush=True)
        return QMessageBox.StandardButton.Ok
    QMessageBox.warning = QMessageBox.critical = QMessageBox.information = staticmethod(shown)
    from piaa_desktop.gui.app import main
    print("EXIT:", main(["--data-dir", sys.argv[1], "--no-welcome"]), flush=True)
    """
)


def test_second_desktop_app_on_the_same_library_is_refused(app_paths):
    pytest.importorskip("PySide6")
    src = (REPO / "piaa_desktop" / "gui" / "app.py").read_text()
    if "InstanceLock" not in src and "open_library" not in src:
        pytest.skip("gui/app.py does not take core.instance.InstanceLock yet (integrator)")
    holder = _start_holder(app_paths.data_dir)
    try:
        r = subprocess.run([PY, "-c", GUI_SECOND, str(app_paths.data_dir)], cwd=str(REPO),
                           env=child_env(QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert "EXIT: 1" in r.stdout, (r.stdout, r.stderr[-2000:])
    assert f"process {holder.pid}" in r.stdout and "already running" in r.stdout
