"""One running PIAA Desktop per library: an exclusive lock on ``<data dir>/catalog.lock``.

The desktop app takes the lock at start; a second app on the same data dir is refused with a message
naming the process that holds it. The lock is an OS file lock (``fcntl.flock`` on Linux/macOS,
``msvcrt.locking`` on Windows), so the kernel releases it when the holding process dies, however it
dies: a crash or a SIGKILL never leaves a stale lock behind, and the lock file itself is never
deleted (deleting lock files races with the next holder).

The CLI does not take this lock: it shares the catalog safely through SQLite (WAL, busy timeout), so
``piaa rate`` while the app runs waits for the app's write to finish and then succeeds.

File layout: byte 0 is the locked byte (Windows locks byte ranges, and a locked range cannot be read by
others), then the holder's pid in ASCII and a newline.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional, Union

_PID_OFFSET = 1


class AlreadyRunning(RuntimeError):
    """Another process holds the library; ``pid`` is its process id when known."""

    def __init__(self, message: str, pid: Optional[int] = None, lock_file: Optional[Path] = None):
        super().__init__(message)
        self.pid = pid
        self.lock_file = lock_file


def _lock_path(paths_or_dir: Union["object", os.PathLike, str]) -> tuple[Path, Path]:
    """(lock file, data dir) from an AppPaths, a data dir, or a lock file path ending in .lock."""
    lock = getattr(paths_or_dir, "lock_file", None)
    if lock is not None:
        return Path(lock), Path(getattr(paths_or_dir, "data_dir", Path(lock).parent))
    p = Path(paths_or_dir)  # type: ignore[arg-type]
    if p.suffix == ".lock":
        return p, p.parent
    return p / "catalog.lock", p


class InstanceLock:
    """Exclusive, non-blocking lock of a data dir. ``acquire()`` raises :class:`AlreadyRunning`."""

    def __init__(self, paths_or_dir):
        self.path, self.data_dir = _lock_path(paths_or_dir)
        self._fd: Optional[int] = None
        # Set by acquire(): the previous holder ended without releasing (crash, kill, power cut), so the
        # start-up recovery should check the catalog (core.recovery.recover(..., integrity="quick")).
        self.unclean = False
        self.previous_pid: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "InstanceLock":
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        try:
            if not _try_lock(fd):
                pid = _read_pid(fd)
                who = f"process {pid}" if pid else "another process"
                raise AlreadyRunning(
                    f"PIAA Desktop is already running on this library ({self.data_dir}), as {who}. "
                    "Switch to that window, or close it and start again. To work on another library, "
                    "start with --data-dir pointing to a different folder.",
                    pid=pid,
                    lock_file=self.path,
                )
            self.previous_pid = _read_pid(fd)
            self.unclean = self.previous_pid is not None
            _write_pid(fd, os.getpid())
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _write_pid(fd, 0)
            _unlock(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> "InstanceLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.release()
        except Exception:  # noqa: BLE001
            pass


def holder_pid(paths_or_dir) -> Optional[int]:
    """The pid written by the current holder, or None when nobody holds the lock."""
    path, _ = _lock_path(paths_or_dir)
    try:
        fd = os.open(str(path), os.O_RDWR | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        if _try_lock(fd):
            _unlock(fd)
            return None
        return _read_pid(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------- platform
if sys.platform == "win32":  # pragma: no cover - exercised on Windows CI only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:  # EWOULDBLOCK / EAGAIN: held by someone else
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _write_pid(fd: int, pid: int) -> None:
    data = (f"{pid}\n" if pid else "\n").encode("ascii")
    os.lseek(fd, 0, os.SEEK_SET)
    if os.fstat(fd).st_size == 0:
        os.write(fd, b" ")
    os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
    os.write(fd, data.ljust(16, b" "))
    os.ftruncate(fd, _PID_OFFSET + 16)


def _read_pid(fd: int) -> Optional[int]:
    try:
        os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
        raw = os.read(fd, 64)
    except OSError:
        return None
    try:
        pid = int(raw.decode("ascii", "ignore").strip() or "0")
    except ValueError:
        return None
    return pid or None


__all__ = ["AlreadyRunning", "InstanceLock", "holder_pid"]
