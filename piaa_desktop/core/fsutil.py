"""Crash-safe file writes: nothing half-written ever sits under a final name."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterator, Optional


# A file PIAA's export leaves in each export folder; the library scan skips folders holding it.
EXPORT_MARKER = ".piaa-export"
NAME_MAX = 255  # bytes of one file name on Linux/macOS file systems (and UTF-16 units on Windows)
_TEMP_EXTRA = 8 + len(".part")  # mkstemp's random part and our suffix


def cap_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8 (and of UTF-16 on Windows), never mid-character."""
    out = text[:limit]  # a character is at least one byte
    while len(out.encode("utf-8", "surrogateescape")) > limit or len(out.encode("utf-16-le", "surrogatepass")) > 2 * limit:
        out = out[:-1]
    return out


def temp_prefix(name: str) -> str:
    """The prefix of the hidden temporary file written beside ``name``: the name itself when it fits,
    shortened (by bytes) so that prefix + random part + ``.part`` stays within :data:`NAME_MAX`."""
    return "." + cap_bytes(name, NAME_MAX - 2 - _TEMP_EXTRA) + "."


@contextlib.contextmanager
def atomic_write(path: os.PathLike | str, mode: str = "wb", durable: bool = True) -> Iterator:
    """Write to a temporary file beside ``path``, fsync it and rename it into place.

    If the body raises (disk full, cancelled, killed mid-way) the temporary file is removed and
    ``path`` is untouched: a reader sees either the old file or the complete new one. ``durable=False``
    skips the fsync (caches that are rebuilt when unreadable: a crash may leave a truncated file there).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".part", dir=path.parent)
    try:
        # mkstemp makes 0600 files; give the final file the mode a plain open() would (or keep the old one).
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp, file_mode())
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# os.umask can only be read by setting it, process-wide: read it once, at import, on the main thread,
# never later from a worker thread (where another thread could create a file with the wrong mask).
_UMASK = _read_umask()


def file_mode() -> int:
    """The permission bits a normally created file gets (0o666 minus the process umask)."""
    return 0o666 & ~_UMASK


def hash_file(path: os.PathLike | str, hasher=None, chunk: int = 1 << 20) -> str:
    """Hex digest of a file's bytes, read in chunks (``hasher`` is a hashlib object; sha256 by default)."""
    with open_regular(path) as fh:
        return hash_fileobj(fh, hasher, chunk)


class NotRegularFile(OSError):
    """A path that is not a plain file (a FIFO, a device such as /dev/zero, a socket): never read it."""


def open_regular(path: os.PathLike | str):
    """Open ``path`` for reading (binary) only if it is a regular file; never blocks.

    The open is non-blocking (a FIFO swapped in after the folder walk would otherwise wait forever for
    a writer) and the check is an ``fstat`` of the opened descriptor, so a file swapped for a FIFO or a
    symlink to a device between any earlier check and this open is still refused
    (:class:`NotRegularFile`).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                    or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a file")
            raise NotRegularFile(f"not a regular file ({kind}): not read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: ordinary reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def hash_fileobj(fh, hasher=None, chunk: int = 1 << 20) -> str:
    """Hex digest of an open binary file from its current position to the end."""
    h = hasher if hasher is not None else hashlib.sha256()
    while True:
        block = fh.read(chunk)
        if not block:
            break
        h.update(block)
    return h.hexdigest()


DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_LOW_SPACE = 1 << 20  # below 1 MB free, SQLite's "disk I/O error" (WAL index, journal) means a full disk


def free_bytes(path: os.PathLike | str) -> Optional[int]:
    """Free space for this user on the filesystem holding ``path`` (its nearest existing parent)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p.parent != p:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def mount_point(path: os.PathLike | str) -> Path:
    """The mount point of the filesystem holding ``path`` (what the user has to free space on)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p.parent != p:
        p = p.parent
    with contextlib.suppress(OSError):
        while p.parent != p and not os.path.ismount(p):
            p = p.parent
    return p


def is_disk_full(exc: BaseException, path: Optional[os.PathLike | str] = None) -> bool:
    """Whether ``exc`` (an OSError or a sqlite3 error) means the disk holding ``path`` is full."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return True
    msg = str(exc).lower()
    if "database or disk is full" in msg or "no space left" in msg or "disk quota" in msg:
        return True
    if path is not None and ("disk i/o error" in msg or "unable to open database" in msg):
        free = free_bytes(path)
        return free is not None and free < _LOW_SPACE
    return False


def disk_full_message(path: os.PathLike | str, what: str = "") -> str:
    """``disk full: free space on <mount point> ...``: the message every disk-full error ends up as."""
    free = free_bytes(path)
    left = f" ({free // 1024} KB left)" if free is not None else ""
    return f"disk full: free space on {mount_point(path)}{left} and try again" + (f"; {what}" if what else "")


def unique_path(path: os.PathLike | str) -> Path:
    """``path`` if free, else ``name-1.ext``, ``name-2.ext`` ...: never overwrite."""
    path = Path(path)
    if not path.exists():
        return path
    stem, suffix = path.stem, path.suffix
    n = 1
    while True:
        cand = path.with_name(f"{stem}-{n}{suffix}")
        if not cand.exists():
            return cand
        n += 1


def is_within(child: os.PathLike | str, parent: os.PathLike | str) -> bool:
    """True if ``child`` resolves to a path inside ``parent`` (path-traversal guard)."""
    c = Path(os.path.abspath(child))
    p = Path(os.path.abspath(parent))
    try:
        c.resolve().relative_to(p.resolve())
        return True
    except ValueError:
        return False
