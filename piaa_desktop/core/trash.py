"""Move rejected photos to the system trash, and bring them back.

* Files go to the **system trash** through `send2trash <https://pypi.org/project/Send2Trash/>`_
  (the freedesktop.org trash on Linux, the Finder's Trash on macOS, the Recycle Bin on Windows): never
  a delete. A photo's XMP sidecars (``photo.jpg.xmp``, ``photo.xmp``, any case) go with it.
* The catalog keeps the photo's record (ratings, keywords, edits, scores), marked trashed and missing,
  with where each file went (:meth:`~piaa_desktop.core.catalog.Catalog.mark_trashed`).
* :func:`restore` moves the files back to where they were (never over a file that appeared there
  meanwhile) and clears the mark. Where the trash keeps a record of each file (the freedesktop.org
  ``.trashinfo`` files; the Recycle Bin's ``$I`` files) the trashed file is found exactly; on macOS it is
  looked up by name and size in ``~/.Trash``. Restoring works while the app runs (Undo) and later
  (``piaa trash restore``), as long as the trash was not emptied.
* Trashing is a :class:`~piaa_desktop.core.catalog.Change` (field ``"trashed"``) that
  :func:`apply_change` replays, so the window's undo stack undoes and redoes it.

A file that cannot be trashed (permission, no trash on that volume) is reported and left in place, with
its photo unchanged; nothing else is tried.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence
from urllib.parse import unquote

from piaa_desktop.core import xmp
from piaa_desktop.core.catalog import Change

TRASH_FIELD = "trashed"


class TrashError(RuntimeError):
    """The system trash is not available (send2trash missing or refusing every file)."""


@dataclass
class TrashResult:
    trashed: list[int] = field(default_factory=list)  # photo ids
    files: int = 0  # files moved (photos + sidecars)
    sidecars: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def summary(self) -> str:
        s = f"{len(self.trashed)} photo{'s' if len(self.trashed) != 1 else ''} moved to the trash"
        if self.sidecars:
            s += f" with {self.sidecars} sidecar{'s' if self.sidecars != 1 else ''}"
        if self.failed:
            s += f"; {len(self.failed)} could not be moved"
        return s


@dataclass
class RestoreResult:
    restored: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- what goes
def sidecars_of(photo_path: os.PathLike | str) -> list[Path]:
    """Every existing XMP sidecar of a photo (both namings, ``.xmp`` or ``.XMP``), without duplicates."""
    out: list[Path] = []
    for naming in xmp.NAMINGS:
        base = xmp.sidecar_path(photo_path, naming)
        for cand in (base, base.with_name(base.name[:-4] + ".XMP")):
            if cand.is_file() and not any(_same(cand, o) for o in out):
                out.append(cand)
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def plan(catalog, photo_ids: Sequence[int]) -> dict:
    """What moving these photos to the trash would move: ``{photos, sidecars, bytes, paths}``."""
    photos = [p for p in catalog.photos([int(i) for i in photo_ids]) if Path(p.path).is_file()]
    sidecars = [s for p in photos for s in sidecars_of(p.path)]
    size = sum(p.size for p in photos) + sum(s.stat().st_size for s in sidecars if s.exists())
    return {"photos": len(photos), "sidecars": len(sidecars), "bytes": size,
            "ids": [p.id for p in photos], "paths": [p.path for p in photos]}


# ---------------------------------------------------------------------------------------------- trash
def _send2trash() -> Callable:
    try:
        from send2trash import send2trash
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise TrashError("the system trash needs the send2trash package (pip install send2trash)") from exc
    return send2trash


def move_to_trash(catalog, photo_ids: Sequence[int], progress=None, cancel=None) -> tuple[TrashResult, Change]:
    """Move photos (and their sidecars) to the system trash and mark them in the catalog.

    Returns the result and the undoable :class:`Change` (also emitted by the catalog)."""
    from piaa_desktop.core.sync import flush_pending

    s2t = _send2trash()
    flush_pending(catalog)  # sidecars still being written go to the trash complete, not after it
    res = TrashResult()
    records: dict[int, list[dict]] = {}
    photos = catalog.photos([int(i) for i in photo_ids])
    for k, photo in enumerate(photos):
        if cancel is not None and cancel.cancelled:
            break
        if progress:
            progress(k, len(photos), f"Moving {photo.name} to the trash")
        src = Path(photo.path)
        if not src.is_file():
            res.failed.append((photo.path, "file not found"))
            continue
        moved: list[dict] = []
        try:
            for f in [src, *sidecars_of(src)]:
                started = time.time()
                s2t(str(f))
                moved.append({"from": str(f), "trash": _locate(f, started)})
        except Exception as exc:  # noqa: BLE001 - OSError, TrashPermissionError...: report, keep the rest
            res.failed.append((str(f), _reason(exc)))
            if not moved:
                continue  # the photo itself is still in place: nothing changes for it
        records[photo.id] = moved
        res.trashed.append(photo.id)
        res.files += len(moved)
        res.sidecars += len(moved) - 1
    if progress:
        progress(len(photos), len(photos), "Moved to the trash")
    change = catalog.mark_trashed(records)
    return res, change


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------------------------------------- restore
def restore(catalog, photo_ids: Sequence[int], progress=None) -> tuple[RestoreResult, Change]:
    """Move trashed photos (and their sidecars) back where they were; returns the result and the Change."""
    from piaa_desktop.core.sync import flush_pending

    flush_pending(catalog)
    res = RestoreResult()
    info = catalog.trash_records([int(i) for i in photo_ids])
    done: list[int] = []
    for k, (pid, moved) in enumerate(info.items()):
        if progress:
            progress(k, len(info), "Restoring from the trash")
        ok = True
        for m in moved:
            dest = Path(m["from"])
            src = Path(m["trash"]) if m.get("trash") else _find_in_trash(dest)
            if dest.exists():
                if src is None or not src.exists():
                    continue  # already back (restored by hand)
                res.failed.append((str(dest), "a file with this name exists again; the trashed one stays in the trash"))
                ok = False
                continue
            if src is None or not src.exists():
                res.failed.append((str(dest), "not found in the trash (emptied?)"))
                ok = False
                continue
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(src), str(dest))
            except OSError as exc:
                res.failed.append((str(dest), _reason(exc)))
                ok = False
                continue
            _forget_trashinfo(src)
        if ok:
            done.append(pid)
    change = catalog.mark_restored(done)
    res.restored = done
    return res, change


def apply_change(catalog, change: Change) -> Change:
    """Replay a trash Change for undo/redo: ``after`` True trashes the photos again, False restores."""
    to_trash = [i for i in change.photo_ids if change.after.get(i)]
    to_restore = [i for i in change.photo_ids if not change.after.get(i)]
    out = Change("trash", TRASH_FIELD, [], {}, {})
    if to_restore:
        _r, c = restore(catalog, to_restore)
        out.photo_ids += c.photo_ids
        out.before.update(c.before)
        out.after.update(c.after)
    if to_trash:
        _r, c = move_to_trash(catalog, to_trash)
        out.photo_ids += c.photo_ids
        out.before.update(c.before)
        out.after.update(c.after)
    return out


# ---------------------------------------------------------------------------------------------- locating
def _locate(original: Path, since: float) -> Optional[str]:
    """Where the trash put ``original`` (just trashed), or None when this platform's trash cannot say."""
    try:
        found = _find_in_trash(original, since=since - 2)
    except OSError:
        found = None
    return str(found) if found else None


def _find_in_trash(original: Path, since: float = 0.0) -> Optional[Path]:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return _find_windows(original)
    if sys.platform == "darwin":  # pragma: no cover - macOS only
        return _find_mac(original, since)
    return _find_freedesktop(original)


def _freedesktop_trash_dirs(original: Path) -> list[Path]:
    dirs: list[Path] = []
    try:  # the home trash send2trash uses (it reads XDG_DATA_HOME when imported)
        from send2trash import plat_other

        dirs.append(Path(os.fsdecode(plat_other.HOMETRASH_B)))
    except Exception:  # noqa: BLE001
        pass
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    dirs.append(Path(xdg) / "Trash")
    mount = Path(original).parent
    with contextlib.suppress(OSError):
        while not os.path.ismount(mount) and mount.parent != mount:
            mount = mount.parent
        uid = os.getuid() if hasattr(os, "getuid") else 0
        dirs += [mount / ".Trash" / str(uid), mount / f".Trash-{uid}"]
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def _find_freedesktop(original: Path) -> Optional[Path]:
    """The newest trashinfo whose Path is ``original`` names the trashed file (freedesktop.org spec)."""
    original = Path(original)
    stem, ext = os.path.splitext(original.name)
    best: Optional[tuple[str, Path]] = None
    for trash in _freedesktop_trash_dirs(original):
        info_dir = trash / "info"
        if not info_dir.is_dir():
            continue
        for name in os.listdir(info_dir):
            if not (name.startswith(stem) and name.endswith(ext + ".trashinfo")):
                continue
            try:
                text = (info_dir / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            path = date = None
            for line in text.splitlines():
                if line.startswith("Path="):
                    path = unquote(line[5:].strip())
                elif line.startswith("DeletionDate="):
                    date = line[13:].strip()
            if path is None:
                continue
            full = Path(path) if os.path.isabs(path) else trash.parent.parent / path
            if os.path.normpath(str(full)) != os.path.normpath(str(original)):
                continue
            cand = trash / "files" / name[: -len(".trashinfo")]
            if cand.exists() and (best is None or (date or "") > best[0]):
                best = (date or "", cand)
    return best[1] if best else None


def _forget_trashinfo(trashed: Path) -> None:
    """Remove the ``.trashinfo`` of a file taken back out of a freedesktop.org trash."""
    info = trashed.parent.parent / "info" / (trashed.name + ".trashinfo")
    if trashed.parent.name == "files" and info.is_file():
        with contextlib.suppress(OSError):
            info.unlink()
    if sys.platform == "win32":  # pragma: no cover - the Recycle Bin's $I record of a $R file
        i = trashed.with_name("$I" + trashed.name[2:])
        if trashed.name.startswith("$R") and i.is_file():
            with contextlib.suppress(OSError):
                i.unlink()


def _find_mac(original: Path, since: float) -> Optional[Path]:  # pragma: no cover - macOS only
    """The Finder names a trashed file like the original, or ``name 10.22.33.ext`` on a clash."""
    trash = Path.home() / ".Trash"
    stem, ext = os.path.splitext(original.name)
    cands = []
    with contextlib.suppress(OSError):
        for p in trash.iterdir():
            if p.name == original.name or (p.name.startswith(stem + " ") and p.name.endswith(ext)):
                st = p.lstat()
                if st.st_ctime >= since:
                    cands.append((st.st_ctime, p))
    return max(cands)[1] if cands else None


def _find_windows(original: Path) -> Optional[Path]:  # pragma: no cover - Windows only
    """The Recycle Bin keeps ``$I<id>`` (original path) beside ``$R<id>`` (the file) per user SID."""
    import struct

    root = Path(original.drive + "\\") / "$Recycle.Bin"
    best = None
    with contextlib.suppress(OSError):
        for sid in root.iterdir():
            with contextlib.suppress(OSError):
                for i in sid.glob("$I*"):
                    data = i.read_bytes()
                    if len(data) < 28:
                        continue
                    version, _size, when = struct.unpack_from("<qqq", data, 0)
                    if version == 2:
                        n = struct.unpack_from("<i", data, 24)[0]
                        path = data[28 : 28 + 2 * n].decode("utf-16-le").rstrip("\0")
                    else:
                        path = data[24:].decode("utf-16-le").split("\0", 1)[0]
                    if os.path.normcase(path) == os.path.normcase(str(original)):
                        r = i.with_name("$R" + i.name[2:])
                        if r.exists() and (best is None or when > best[0]):
                            best = (when, r)
    return best[1] if best else None

