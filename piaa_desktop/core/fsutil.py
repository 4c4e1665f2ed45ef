"""Crash-safe file writes: nothing half-written ever sits under a final name."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_write(path: os.PathLike | str, mode: str = "wb") -> Iterator:
    """Write to a temporary file beside ``path``, fsync it and rename it into place.

    If the body raises (disk full, cancelled, killed mid-way) the temporary file is removed and
    ``path`` is untouched: a reader sees either the old file or the complete new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".part", dir=path.parent)
    try:
        # mkstemp makes 0600 files; give the final file the mode a plain open() would (or keep the old one).
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp, file_mode())
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
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
    h = hasher if hasher is not None else hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


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
