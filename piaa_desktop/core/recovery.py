"""Start-up recovery after a crash, a kill or a power cut.

:func:`recover` runs once when the app opens a library (after it took the
:class:`~piaa_desktop.core.instance.InstanceLock`):

1. **Integrity**: ``PRAGMA quick_check`` (or the full ``integrity_check``). SQLite's WAL already
   rolled back any transaction that was in flight when the process died; this only confirms the file
   is sound. A damaged catalog is copied to ``backups/`` and reported; nothing is deleted.
2. **Interrupted jobs**: jobs left ``running`` by a process that is gone (each job records the pid
   that started it) are marked ``interrupted``. :func:`resumable_jobs` lists them and
   :func:`resume_job` runs them again: an import is simply re-run (the scanner skips every file it
   already committed, by size and mtime, so it continues where it stopped); a training or an export
   restarts cleanly (the active personal model stayed active, an export never overwrites and cleans
   its own stale ``.part`` files). :func:`dismiss_job` forgets one.
3. **Temp files**: stray ``*.part`` files that an atomic write left in the thumbnail cache or the
   personal-model folder are deleted (only when no live job could be writing them, or when old).
4. **Models**: every shipped model is verified against ``models/manifest.json``; problems come back
   as messages and the features that need the model are off (the library still opens).

Jobs still running in a live process (the CLI importing while the app starts) are left alone.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from piaa_desktop.core.jobs import CancelToken, ProgressCallback

# A .part file older than this is a leftover even if some job is running now.
STALE_PART_SECONDS = 600
RESUMABLE_KINDS = ("import",)


class RecoveryReport(list):
    """The messages of :func:`recover` (a list of str, for the user) plus what it found."""

    def __init__(self) -> None:
        super().__init__()
        self.integrity: str = "ok"
        self.interrupted: list[dict] = []  # jobs just marked interrupted
        self.resumable: list[dict] = []  # every interrupted job that can be resumed
        self.removed_parts: list[str] = []
        self.model_problems: list[str] = []
        self.backup: Optional[str] = None
        self.repaired: bool = False  # damaged indexes were rebuilt and the catalog checks out now

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" or self.repaired


@dataclass
class Job:
    id: int
    kind: str
    state: str
    args: dict = field(default_factory=dict)
    started_at: float = 0.0
    detail: str = ""

    @property
    def pid(self) -> Optional[int]:
        p = self.args.get("_pid")
        return int(p) if isinstance(p, int) else None

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started_at)) if self.started_at else "?"
        if self.kind == "import":
            return f"import of {self.args.get('folder', '?')} (started {when})"
        return f"{self.kind} (started {when})"

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "args": dict(self.args),
                "started_at": self.started_at, "detail": self.detail, "description": self.describe(),
                "resumable": self.kind in RESUMABLE_KINDS}


# ---------------------------------------------------------------------------------------------- processes
def pid_alive(pid: Optional[int], started_at: Optional[float] = None) -> bool:
    """True if process ``pid`` exists (and, on Linux, was started before ``started_at``: not a reused pid)."""
    if not pid or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # pragma: no cover
        return _win_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False
    if started_at is not None and sys.platform.startswith("linux"):
        t = _linux_start_time(pid)
        # Generous margin: boot-time rounding and clock changes must never make a live job look dead.
        if t is not None and t > started_at + 60.0:
            return False  # the pid was reused by a process born after the job started
        if _linux_zombie(pid):
            return False
    return True


def _linux_start_time(pid: int) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[19])
        with open("/proc/stat", "rb") as fh:
            for line in fh:
                if line.startswith(b"btime "):
                    btime = int(line.split()[1])
                    break
            else:
                return None
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _linux_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat[stat.rindex(")") + 2 :].split()[0] in ("Z", "X")
    except (OSError, ValueError, IndexError):
        return False


def _win_pid_alive(pid: int) -> bool:  # pragma: no cover
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return False
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


# ---------------------------------------------------------------------------------------------- jobs
def _jobs(catalog, state: str) -> list[Job]:
    rows = catalog.jobs_in_state(state)
    out = []
    for r in rows:
        try:
            args = json.loads(r[3] or "{}")
        except ValueError:
            args = {}
        out.append(Job(r[0], r[1], r[2], args if isinstance(args, dict) else {}, r[4] or 0.0, r[5] or ""))
    return out


def mark_dead_jobs(catalog) -> tuple[list[Job], list[Job]]:
    """Mark 'running' jobs whose process is gone as 'interrupted'; returns (marked, still running)."""
    marked, live = [], []
    for job in _jobs(catalog, "running"):
        if pid_alive(job.pid, job.started_at):
            live.append(job)
            continue
        who = f"process {job.pid}" if job.pid else "its process"
        detail = f"{who} ended before the job finished"
        catalog.set_job_state(job.id, "interrupted", "running", detail)
        job.state, job.detail = "interrupted", detail
        marked.append(job)
    return marked, live


def resumable_jobs(catalog) -> list[dict]:
    """Interrupted jobs the app can run again (imports), newest last, one per folder."""
    seen: dict[str, dict] = {}
    for job in _jobs(catalog, "interrupted"):
        if job.kind not in RESUMABLE_KINDS:
            continue
        key = f"{job.kind}:{job.args.get('folder', '')}"
        seen[key] = job.as_dict()
    return list(seen.values())


def interrupted_jobs(catalog) -> list[dict]:
    """Every job in state 'interrupted' (resumable or not), for the GUI's 'did not finish' notice."""
    return [j.as_dict() for j in _jobs(catalog, "interrupted")]


def dismiss_job(catalog, job_id: int, state: str = "abandoned") -> None:
    """Forget an interrupted job (the user chose not to resume it)."""
    catalog.set_job_state(job_id, state, "interrupted")


def resume_job(
    catalog,
    paths,
    job: dict,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    **kwargs,
):
    """Run an interrupted job again. An import re-runs ``import_folder`` on its folder (finished files
    are skipped); every interrupted job of the same kind and folder is marked 'resumed'. Returns the
    job's result, or None if the job cannot be resumed (its folder is gone: it is marked 'abandoned')."""
    kind = job["kind"]
    if kind != "import":
        raise ValueError(f"a {kind} job cannot be resumed; start it again")
    folder = job["args"].get("folder")
    same = [j.id for j in _jobs(catalog, "interrupted") if j.kind == kind and j.args.get("folder") == folder]
    if not folder or not Path(folder).is_dir():
        for jid in same:
            dismiss_job(catalog, jid)
        return None
    for jid in same:
        dismiss_job(catalog, jid, state="resumed")
    from piaa_desktop.core.scanner import import_folder

    return import_folder(catalog, folder, paths.thumbnails, progress=progress, cancel=cancel, **kwargs)


# ---------------------------------------------------------------------------------------------- files
def clean_part_files(directories, all_ages: bool, stale_seconds: float = STALE_PART_SECONDS) -> list[str]:
    """Delete ``*.part`` temp files under ``directories`` (only old ones unless ``all_ages``)."""
    removed = []
    now = time.time()
    for d in directories:
        d = Path(d)
        if not d.is_dir():
            continue
        for root, dirs, files in os.walk(d, followlinks=False):
            for name in files:
                if not name.endswith(".part"):
                    continue
                p = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    if all_ages or now - os.lstat(p).st_mtime > stale_seconds:
                        os.unlink(p)
                        removed.append(p)
    return removed


# ---------------------------------------------------------------------------------------------- recover
def check_integrity(catalog, full: bool = False) -> str:
    """'ok' or SQLite's description of the damage."""
    try:
        msgs = catalog.check_messages(full)
    except sqlite3.DatabaseError as exc:
        return f"the catalog cannot be read: {exc}"
    return "ok" if msgs == ["ok"] else "; ".join(msgs[:5])


def check_catalog(catalog, paths, mode: str = "quick", report: Optional[RecoveryReport] = None) -> RecoveryReport:
    """The integrity part of :func:`recover` (the CLI runs it alone before a command uses the catalog).

    A damaged catalog is first copied to ``backups/`` as it is; then its indexes are rebuilt from the
    tables (``REINDEX``): a broken index, the usual damage, is repaired that way and the catalog checks
    out again (``report.repaired``). Anything else is reported (``report.ok`` is False).
    """
    report = report if report is not None else RecoveryReport()
    report.integrity = "ok" if mode == "skip" else check_integrity(catalog, full=mode == "full")
    if report.integrity == "ok":
        return report
    try:
        report.backup = str(catalog.backup(paths.backups, reason="damaged"))
        where = f" A copy of it as it was is in {report.backup}."
    except (sqlite3.Error, OSError):
        where = ""
    report.repaired = catalog.rebuild_indexes()
    if report.repaired:
        report.append(
            f"The catalog {catalog.path} was damaged ({report.integrity[:300]}): its indexes were rebuilt from "
            f"its tables and it checks out now; nothing was lost.{where}"
        )
    else:
        report.append(
            f"The catalog {catalog.path} is damaged ({report.integrity[:300]}).{where} "
            "Ratings and edits that can be read are still shown; restore an earlier copy from "
            f"{paths.backups} if photos are missing."
        )
    return report


def recover(
    catalog, paths, full_check: bool = False, check_models: bool = True, integrity: Optional[str] = None
) -> RecoveryReport:
    """Run the start-up checks (see the module docstring); returns the messages to show the user.

    ``integrity``: "quick" (``PRAGMA quick_check``, the default), "full" (``integrity_check``, also
    with ``full_check=True``) or "skip". Both read the whole file (about 1-3 s for a 100,000-photo,
    470 MB catalog): the app can pass "skip" when its :class:`~piaa_desktop.core.instance.InstanceLock`
    says the previous run ended cleanly (``not lock.unclean``).
    """
    report = RecoveryReport()

    mode = integrity or ("full" if full_check else "quick")
    if mode not in ("quick", "full", "skip"):
        raise ValueError(f"integrity must be 'quick', 'full' or 'skip', not {mode!r}")
    check_catalog(catalog, paths, mode, report)

    try:
        marked, live = mark_dead_jobs(catalog)
    except sqlite3.Error as exc:
        marked, live = [], []
        report.append(f"Unfinished jobs could not be checked: {exc}")
    report.interrupted = [j.as_dict() for j in marked]
    for j in marked:
        if j.kind in RESUMABLE_KINDS:
            report.append(f"The {j.describe()} did not finish; it can be resumed (finished photos are kept).")
        else:
            report.append(f"The {j.describe()} did not finish; start it again (nothing it left is used).")
    try:
        report.resumable = resumable_jobs(catalog)
    except sqlite3.Error:
        report.resumable = []

    dirs = [paths.thumbnails, getattr(paths, "personal_models", None)]
    removed = clean_part_files([d for d in dirs if d], all_ages=not live)
    report.removed_parts = removed
    if removed:
        report.append(f"Removed {len(removed)} half-written temporary file(s) left by an interrupted job.")

    if check_models:
        try:
            from piaa_desktop.core.models import ModelError, verify_models

            statuses = verify_models()
            report.model_problems = [s.problem for s in statuses if not s.ok]
        except ModelError as exc:
            report.model_problems = [str(exc)]
        except OSError as exc:
            report.model_problems = [f"the models folder cannot be read: {exc}"]
        for p in report.model_problems:
            report.append(f"Model problem: {p}. The features that need it are off; the library still works.")
    return report


def open_library(paths, lock: bool = True, check_models: bool = True):
    """What the desktop app does at start: take the library's lock, open the catalog, recover.

    Returns ``(lock or None, catalog, report)``. Raises
    :class:`~piaa_desktop.core.instance.AlreadyRunning` (another app holds the library; show its
    message and quit) or :class:`~piaa_desktop.core.catalog.CatalogError`. The catalog's integrity is
    checked only when the previous holder of the lock did not end cleanly (crash, kill, power cut).
    """
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.instance import InstanceLock

    held = InstanceLock(paths).acquire() if lock else None
    try:
        catalog = open_catalog(paths)
    except BaseException:
        if held:
            held.release()
        raise
    mode = "quick" if (held is None or held.unclean) else "skip"
    report = recover(catalog, paths, integrity=mode, check_models=check_models)
    return held, catalog, report


__all__ = [
    "check_catalog",
    "open_library",
    "RecoveryReport",
    "check_integrity",
    "clean_part_files",
    "dismiss_job",
    "interrupted_jobs",
    "mark_dead_jobs",
    "pid_alive",
    "recover",
    "resumable_jobs",
    "resume_job",
]
