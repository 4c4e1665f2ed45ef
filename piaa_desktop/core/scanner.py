"""Library import: scan folders, read EXIF, cache thumbnails, measure signals.

A scan walks a folder recursively and reconciles it with the catalog:

* **new** files are hashed, decoded (in parallel threads; Pillow releases the GIL while decoding),
  thumbnailed and added;
* **changed** files (same path, new content) get fresh metadata, thumbnail, signals and embedding;
  their ratings stay;
* **moved** files (a new path whose content hash matches a photo that disappeared) keep their id and
  every rating, flag, edit and preference;
* **missing** files are marked missing, never deleted, so nothing the user did is lost if a drive is
  simply unplugged;
* bad files (corrupt, truncated, empty, too large, unsupported, unreadable) are recorded in
  ``import_errors`` with the reason and skipped: one bad file never stops an import.

Work is committed in batches, so a cancelled or killed import keeps everything it finished and the
next scan continues where it stopped (unchanged files are recognised by size and mtime).
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np

from piaa_desktop.core.catalog import Catalog
from piaa_desktop.core.fsutil import EXPORT_MARKER, disk_full_message, hash_file
from piaa_desktop.core.imageio import (
    ImageError,
    is_candidate,
    load_rgb,
    oriented_size,
    open_image,
    read_exif,
)
from piaa_desktop.core.jobs import CancelToken, Cancelled, ProgressCallback, ensure
from piaa_desktop.core.signals import compute_signals
from piaa_desktop.core.thumbnails import THUMB_SIZE, save_thumbnail

HASH_CHUNK = 1 << 20
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
BATCH = 32


@dataclass
class ScanResult:
    folder: str = ""
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    unchanged: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # imported, with a caveat (a RAW from its preview)
    embedded: int = 0
    scored: int = 0
    cancelled: bool = False
    seconds: float = 0.0  # the whole import (scan, embeddings, scores) for import_folder; the scan alone for scan_folder
    scan_seconds: float = 0.0

    def summary(self, only_nonzero: bool = False) -> str:
        """"67 new, 0 changed, 0 moved, 0 missing, 0 unchanged, 0 skipped" (every count, as scripts read it from
        ``piaa scan``); ``only_nonzero``: what happened only, "67 new" (the app's status bar)."""
        counts = [(len(self.new), "new"), (len(self.changed), "changed"), (len(self.moved), "moved"),
                  (len(self.missing), "missing"), (self.unchanged, "unchanged"), (len(self.errors), "skipped")]
        parts = [f"{n} {what}" for n, what in counts if n or not only_nonzero]
        if self.notes:
            parts.append(f"{len(self.notes)} from the embedded preview only (see notes)")
        s = ", ".join(parts) or "no photos found"
        return s + (" (cancelled)" if self.cancelled else "")

    def as_dict(self) -> dict:
        return {
            "folder": self.folder,
            "new": len(self.new),
            "changed": len(self.changed),
            "moved": len(self.moved),
            "missing": len(self.missing),
            "unchanged": self.unchanged,
            "errors": [{"path": p, "reason": r} for p, r in self.errors],
            "warnings": list(self.warnings),
            "notes": [{"path": p, "note": n} for p, n in self.notes],
            "embedded": self.embedded,
            "scored": self.scored,
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3),
            "scan_seconds": round(self.scan_seconds or self.seconds, 3),
        }


@dataclass
class _Decoded:
    path: str
    size: int
    mtime: float
    content_hash: str = ""
    meta: Optional[dict] = None
    signals: Optional[dict] = None
    error: Optional[str] = None
    note: Optional[str] = None


def file_hash(path: os.PathLike | str) -> str:
    """The content hash that identifies a photo across renames and moves (BLAKE2b, 160 bits)."""
    return hash_file(path, hashlib.blake2b(digest_size=20), HASH_CHUNK)


def walk_images(
    root: Path, on_error: Callable[[str, str], None], on_skip: Optional[Callable[[str], None]] = None
) -> Iterator[tuple[str, os.stat_result]]:
    """Yield (path, stat) of candidate image files below ``root``, never following directory symlinks
    (so symlink loops cannot trap the scan) and reporting unreadable folders through ``on_error``.

    A sub-folder holding PIAA's export marker (exports saved inside the library) is skipped and named
    through ``on_skip``: its files are copies of library photos, not new ones.
    """
    stack = [root]
    seen_dirs: set[tuple[int, int]] = set()
    while stack:
        d = stack.pop()
        try:
            st = d.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                continue
            seen_dirs.add(key)
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except PermissionError:
            on_error(str(d), "folder cannot be read (permission denied)")
            continue
        except OSError as exc:
            on_error(str(d), f"folder cannot be read: {exc.strerror or exc}")
            continue
        if d != root and any(e.name == EXPORT_MARKER for e in entries):
            if on_skip is not None:
                on_skip(str(d))
            continue
        subdirs = []
        for e in entries:
            name = e.name
            if name.startswith("."):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    subdirs.append(Path(e.path))
                    continue
                if not is_candidate(name):
                    continue
                st = e.stat(follow_symlinks=True)
                if not stat.S_ISREG(st.st_mode):
                    continue
            except OSError as exc:
                on_error(_display(e.path), f"cannot read file information: {exc.strerror or exc}")
                continue
            yield e.path, st
        stack.extend(reversed(subdirs))


def _display(path: str) -> str:
    """A path safe to store and show even when its name is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _decode(path: str, size: int, mtime: float, cache_dir: Path) -> _Decoded:
    rec = _Decoded(path=path, size=size, mtime=mtime)
    try:
        if size == 0:
            raise ImageError("empty file (0 bytes)")
        # The header first (a regular file, an allowed format, a sane size): a 20 GB file that is not
        # an image is refused after reading 64 bytes, never hashed.
        im = open_image(path)
        try:
            exif = read_exif(im)
            fmt = im.info.get("raw_format") or im.format
            # a RAW file: the photo's own size, not its embedded preview's (100 % in the loupe)
            w, h = im.info.get("raw_size") or oriented_size(im, exif.orientation)
            rec.note = im.info.get("raw_note")
        finally:
            im.close()
        # Decode before hashing: a file whose pixels cannot be read is refused without reading it all.
        thumb = load_rgb(path, max_size=THUMB_SIZE)
        rec.content_hash = file_hash(path)
        save_thumbnail(thumb, rec.content_hash, cache_dir)
        rec.signals = compute_signals(np.asarray(thumb))
        rec.meta = {"width": w, "height": h, "format": fmt, **exif.as_dict()}
    except ImageError as exc:
        rec.error = str(exc)
    except PermissionError:
        rec.error = "permission denied: the file cannot be read"
    except FileNotFoundError:
        rec.error = "file disappeared during import"
    except MemoryError:
        rec.error = "not enough memory to decode this image"
    except OSError as exc:
        if exc.errno in _DISK_FULL:  # our write (the thumbnail cache) failed, not the photo
            rec.error = disk_full_message(cache_dir, f"the thumbnail cache ({cache_dir}) could not be written "
                                                     "(the photo itself is fine)")
        else:
            rec.error = f"cannot read file: {exc.strerror or exc}"
    return rec


def scan_folder(
    catalog: Catalog,
    folder: os.PathLike | str,
    cache_dir: os.PathLike | str,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    workers: Optional[int] = None,
    on_new_photo: Optional[Callable[[Catalog, int], None]] = None,
) -> ScanResult:
    """Reconcile ``folder`` (recursively) with the catalog. See the module docstring."""
    progress, cancel = ensure(progress, cancel)
    t0 = time.perf_counter()
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {root}")
    root = root.resolve()
    folder_id = catalog.add_folder(root)
    result = ScanResult(folder=str(root))
    cache_dir = Path(cache_dir)

    def on_error(path: str, reason: str) -> None:
        result.errors.append((path, reason))
        catalog.record_import_error(path, folder_id, reason)

    started = time.time()
    progress(0, 0, "Looking for photos")
    files: list[tuple[str, os.stat_result]] = []
    def on_skip(path: str) -> None:
        result.warnings.append(f"skipped {_display(path)}: a folder of PIAA Desktop exports (copies of library "
                               f"photos); delete its {EXPORT_MARKER} file to import it")

    for item in walk_images(root, on_error, on_skip):
        files.append(item)
        if cancel.cancelled:
            result.cancelled = True
            result.seconds = time.perf_counter() - t0
            return result
    known = {r["path"]: r for r in catalog.photos_under(folder_id, root)}
    failed = catalog.import_errors_under(folder_id, root)
    seen: set[str] = set()
    todo: list[tuple[str, int, float]] = []
    for path, st in files:
        spath = _display(path)
        seen.add(spath)
        row = known.get(spath)
        if row is not None and row["size"] == st.st_size and abs(row["mtime"] - st.st_mtime) < 1e-3 and not row["missing"]:
            result.unchanged += 1
            continue
        err = failed.get(spath) if row is None else None
        if err is not None and _unchanged_since_failure(st, *err):
            result.errors.append((spath, err[0]))  # still bad: reported, not read again
            continue
        todo.append((path, st.st_size, st.st_mtime))

    # Photos of this folder that are gone: candidates for "moved" first, "missing" otherwise.
    gone = {p: r for p, r in known.items() if p not in seen and not r["missing"]}
    gone_by_hash: dict[str, list[tuple[int, str, str]]] = {}
    for r in gone.values():
        gone_by_hash.setdefault(r["content_hash"], []).append((r["id"], r["path"], str(root)))
    # Photos already missing anywhere in the catalog can reappear at a new path too.
    for r in catalog.missing_photos():
        gone_by_hash.setdefault(r["content_hash"], []).append((r["id"], r["path"], r["folder"]))

    total = len(todo)
    done = 0
    progress(0, total, "Importing photos")
    workers = workers or max(1, min(8, os.cpu_count() or 1))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for start in range(0, total, BATCH):
                if cancel.cancelled:
                    raise Cancelled()
                chunk = todo[start : start + BATCH]
                decoded = list(pool.map(lambda a: _decode(a[0], a[1], a[2], cache_dir), chunk))
                _commit_batch(catalog, folder_id, decoded, known, gone_by_hash, result, on_new_photo, started)
                done += len(chunk)
                progress(done, total, f"Imported {done} of {total}")
    except Cancelled:
        result.cancelled = True

    if not result.cancelled:
        moved_ids = set(result.moved)
        missing = [r["id"] for r in gone.values() if r["id"] not in moved_ids]
        if missing:
            catalog.mark_missing(missing)
            result.missing = missing
        catalog.folder_scanned(folder_id)
    result.seconds = time.perf_counter() - t0
    return result


def _commit_batch(
    catalog: Catalog,
    folder_id: int,
    decoded: list[_Decoded],
    known: dict,
    gone_by_hash: dict[str, list[tuple[int, str, str]]],
    result: ScanResult,
    on_new_photo: Optional[Callable[[Catalog, int], None]],
    started: Optional[float] = None,
) -> None:
    now = time.time()
    # An error is dated from before the walk's stat: a file changed at any time after that is read again.
    error_time = started if started is not None else now
    new_ids: list[int] = []
    sig_rows: list[tuple[int, dict]] = []
    with catalog.photo_writer() as tx:
        for rec in decoded:
            spath = _display(rec.path)
            if rec.error:
                result.errors.append((spath, rec.error))
                tx.record_error(spath, folder_id, rec.error, error_time)
                continue
            tx.clear_error(spath)
            if rec.note:
                result.notes.append((spath, rec.note))
            m = rec.meta or {}
            cols = dict(
                folder_id=folder_id,
                path=spath,
                content_hash=rec.content_hash,
                size=rec.size,
                mtime=rec.mtime,
                missing=0,
                updated_at=now,
                **{k: m.get(k) for k in ("width", "height", "format", "capture_time", "camera", "lens", "iso",
                                         "shutter", "aperture", "focal_length", "orientation")},
            )
            row = known.get(spath)
            if row is None:
                # Another scan of the same folder (a second process) may have added it since we looked:
                # the write lock is held now, so this answer is current.
                row = tx.photo_at(spath)
            if row is not None:
                pid = row["id"]
                tx.update_photo(pid, cols)
                if row["content_hash"] != rec.content_hash:
                    result.changed.append(pid)
                else:
                    result.unchanged += 1  # touched (mtime) or back from missing, same content
            else:
                pid = _take_moved(gone_by_hash.get(rec.content_hash))
                if pid is not None:
                    tx.update_photo(pid, cols)
                    result.moved.append(pid)
                else:
                    cols["added_at"] = now
                    pid = tx.insert_photo(cols)
                    result.new.append(pid)
                    new_ids.append(pid)
            sig_rows.append((pid, rec.signals or {}))
    if sig_rows:
        catalog.set_signals(sig_rows)
    if on_new_photo:
        for pid in new_ids:
            try:
                on_new_photo(catalog, pid)
            except Exception as exc:  # noqa: BLE001 - a hook must never stop the import
                result.errors.append((str(pid), f"post-import hook failed: {exc}"))


# Reasons that depend on the file's bytes only: the same bytes give the same verdict, so an unchanged file
# is not read (or hashed) again on the next scan. Others (permissions, a missing decoder, memory, disk
# space) may change without the file changing and are retried.
_CONTENT_ERRORS = (
    "empty file", "not a recognised image", "file is truncated", "corrupt image data", "not a regular file",
    "image too large to decode safely", "image has no pixels", "cannot decode:",
)
_MTIME_SLACK = 2.0  # FAT and some network filesystems keep mtimes to 2 s


def _unchanged_since_failure(st: os.stat_result, reason: str, seen_at: Optional[float]) -> bool:
    """True when a file that failed for a content reason has not changed since (size, mtime, inode:
    ``st_ctime`` moves with any write, rename or replacement of the inode at this path)."""
    if seen_at is None or not reason.startswith(_CONTENT_ERRORS):
        return False
    return max(st.st_mtime, st.st_ctime) < float(seen_at) - _MTIME_SLACK


def _really_gone(old_path: str, old_root: str) -> bool:
    """True when a photo's old file is gone from a folder that is there: a move, not a copy.

    A file still at its old path means the new one is a copy (it must not take over the record, its
    rating or its edits). A folder that cannot be reached at all (neither it nor its parent: a drive
    unplugged) proves nothing either; a renamed folder (its parent is there) does count as a move.
    """
    try:
        if os.path.lexists(old_path):
            return False
        return os.path.isdir(old_root) or os.path.isdir(os.path.dirname(old_root.rstrip("/\\")))
    except (OSError, ValueError):
        return False


def _take_moved(candidates: Optional[list[tuple[int, str, str]]]) -> Optional[int]:
    """The id of the first photo among ``candidates`` (same content) that really moved; removes it."""
    while candidates:
        pid, old_path, old_root = candidates.pop(0)
        if _really_gone(old_path, old_root):
            return pid
    return None


def update_models(
    catalog: Catalog,
    cache_dir: os.PathLike | str,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> dict:
    """Bring a library up to the shipped models after an update (a new backbone or prior), without a scan:
    embed the photos that have no embedding from the current backbone (from the thumbnail cache), re-score
    them, and re-train a personal model fitted on the old features from the kept ratings and answers.
    The app runs it after its start-up checks; it costs one query when nothing changed.
    Returns {"embedded", "scored", "personal"} (photos embedded, scored, personally re-scored)."""
    from piaa_desktop.core.embeddings import extract_embeddings
    from piaa_desktop.core.personal.operations import model_is_stale, rescore_personal
    from piaa_desktop.core.scoring import score_library

    progress, cancel = ensure(progress, cancel)
    out = {"embedded": 0, "scored": 0, "personal": 0}
    out["embedded"] = extract_embeddings(catalog, cache_dir, progress=progress, cancel=cancel)
    if out["embedded"]:
        out["scored"] = score_library(catalog, progress=progress, cancel=cancel)
    if out["embedded"] or model_is_stale(catalog):
        out["personal"] = rescore_personal(catalog, progress=progress, cancel=cancel)
    return out


def import_folder(
    catalog: Catalog,
    folder: os.PathLike | str,
    cache_dir: os.PathLike | str,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    embeddings: bool = True,
    score: bool = True,
    workers: Optional[int] = None,
    on_new_photo: Optional[Callable[[Catalog, int], None]] = None,
) -> ScanResult:
    """The whole import of a folder: scan, then embeddings, then scores. Cancellable at every stage."""
    progress, cancel = ensure(progress, cancel)
    t0 = time.perf_counter()
    job = catalog.job_started("import", {"folder": str(folder)})
    state = "failed"
    res: Optional[ScanResult] = None
    try:
        res = scan_folder(catalog, folder, cache_dir, progress, cancel, workers, on_new_photo)
        res.scan_seconds = res.seconds
        if not res.cancelled and embeddings:
            from piaa_desktop.core.embeddings import extract_embeddings
            from piaa_desktop.core.models import ModelError

            try:
                res.embedded = extract_embeddings(catalog, cache_dir, progress=progress, cancel=cancel)
            except Cancelled:
                res.cancelled = True
            except ModelError as exc:
                res.warnings.append(f"embeddings skipped: {exc}")
        if not res.cancelled and score:
            from piaa_desktop.core.scoring import score_library

            try:
                res.scored = score_library(catalog, progress=progress, cancel=cancel)
            except Cancelled:
                res.cancelled = True
        state = "cancelled" if res.cancelled else "done"
        return res
    finally:
        if res is not None:
            res.seconds = time.perf_counter() - t0  # the whole import, not only its scan
        catalog.job_finished(job, state)
