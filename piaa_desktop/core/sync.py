"""Glue between the catalog and XMP sidecars.

* :func:`sync_sidecar` writes a photo's rating, pick/reject, colour label and keywords to its sidecar (when the
  ``xmp_write`` setting is on), after a change in the catalog.
* :func:`import_sidecar` reads an existing sidecar of a newly imported photo into the catalog, so ratings
  made in darktable, digiKam or Lightroom become training data (the scanner calls it for new photos).
* :func:`import_library` is the import of a folder with its sidecars (CLI and GUI run it).
* :func:`install_sidecar_hook` subscribes a catalog's ``on_change`` so every rating/flag/label change,
  undo and redo included, reaches the sidecars; so does every crop/straighten/turn (develop geometry,
  :func:`sync_geometry`: Lightroom's ``crs:`` crop fields where they are exact, the app's own ``piaa:``
  fields always; tone settings stay in the catalog).

Sidecar problems (a corrupt sidecar, a read-only folder) never fail the rating itself: they are logged
and returned, and the existing sidecar is left untouched.

Writing is split in two (:class:`SidecarHook`, :class:`SidecarWriter`): inside the transaction of the
change, the catalog marks the photo's sidecar pending (table ``sidecar_pending``: what to write, and the
keyword change still to apply); after the commit the writer writes it from the catalog's current state and
clears the mark. The CLI writes at once; the app writes on one background thread (FIFO, a photo changed
again before its turn written once), so the GUI thread never waits for an fsync. :func:`flush_pending`
waits for a catalog's background writers: trash and export call it before they touch files, the window
before it closes. A killed process loses nothing: the marks are committed with the change, and the next
start (:meth:`SidecarWriter.queue_left_pending`) writes what is left.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import operator
import os
import threading
import time
from pathlib import Path
from typing import Optional

from piaa_desktop.core import xmp
from piaa_desktop.core.catalog import CULLING_FIELDS

log = logging.getLogger(__name__)

SYNCED_FIELDS = ("rating", "flag", "color_label", "keywords")
_state = threading.local()


@contextlib.contextmanager
def _suppressed():
    """Inside, the on_change hook does not write sidecars (used while importing one)."""
    prev = getattr(_state, "suppress", False)
    _state.suppress = True
    try:
        yield
    finally:
        _state.suppress = prev


def _setting(settings, name: str, default):
    if settings is None:
        return default
    try:
        return settings.get(name) if hasattr(settings, "get") else getattr(settings, name)
    except (KeyError, AttributeError):
        return default


def sync_sidecar(catalog, photo_id: int, settings=None) -> Optional[Path]:
    """Write the photo's current rating/flag/label to its sidecar; returns the path, or None if not written.

    Does nothing when ``settings.xmp_write`` is off, or when the photo has no sidecar and nothing to say
    (no empty sidecars litter the folders). Errors are logged, never raised.
    """
    return _sync(catalog, photo_id, settings)[0]


def _sync(
    catalog, photo_id: int, settings, keyword_delta: Optional[tuple] = None, quiet: bool = False
) -> tuple[Optional[Path], Optional[str]]:
    """``keyword_delta`` = (added, removed) keyword paths: only those change in the sidecar, so keywords
    written there by another tool (and never imported) stay."""
    if not _setting(settings, "xmp_write", True):
        return None, None
    photo = catalog.photo(int(photo_id))
    if photo is None or photo.missing:
        return None, None
    naming = _setting(settings, "xmp_naming", "ext")
    adds = keyword_delta[0] if keyword_delta else ()
    if (
        xmp.find_sidecar(photo.path, naming) is None
        and not photo.rating
        and not photo.flag
        and not photo.color_label
        and not adds
    ):
        return None, None
    try:
        return (
            xmp.write_sidecar(
                photo.path, rating=photo.rating, flag=photo.flag, color_label=photo.color_label, naming=naming,
                keyword_delta=keyword_delta,
            ),
            None,
        )
    except (xmp.XmpError, OSError, ValueError) as exc:
        reason = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
        if not quiet:
            log.warning("sidecar of %s not written: %s", photo.path, reason)
        return None, reason


def import_sidecar(catalog, photo_id: int, overwrite: bool = False, settings=None) -> Optional[dict]:
    """Copy rating/flag/label/keywords from an existing sidecar into the catalog; returns what was applied.

    Without ``overwrite`` only fields still at their default in the catalog are set (a new photo has
    all defaults). Without a sidecar, a JPEG's own embedded XMP keywords are read (only the keywords:
    ratings inside exported files describe someone else's copy). Returns None when there is nothing.
    """
    if not _setting(settings, "xmp_read_on_import", True):
        return None
    photo = catalog.photo(int(photo_id))
    if photo is None:
        return None
    try:
        vals = xmp.read_sidecar(photo.path, _setting(settings, "xmp_naming", "ext"))
    except xmp.XmpError as exc:
        log.warning("sidecar of %s not read: %s", photo.path, exc)
        return None
    if not vals:
        # no sidecar: keywords a JPEG carries in its own XMP (exported from Lightroom or digiKam) still count
        kws = xmp.read_embedded_keywords(photo.path)
        if not kws:
            return None
        vals = {"rating": None, "flag": None, "color_label": None, "keywords": kws}
    applied: dict = {}
    with _suppressed():
        if vals["rating"] is not None and (overwrite or not photo.rating) and vals["rating"] != photo.rating:
            catalog.set_rating([photo.id], vals["rating"])
            applied["rating"] = vals["rating"]
        if vals["flag"] is not None and (overwrite or not photo.flag) and vals["flag"] != photo.flag:
            catalog.set_flag([photo.id], vals["flag"])
            applied["flag"] = vals["flag"]
        label = vals["color_label"]
        if label is not None and (overwrite or not photo.color_label) and label != photo.color_label:
            catalog.set_color_label([photo.id], label)
            applied["color_label"] = label
        # darktable's automatic tags (darktable|format|nef, darktable|changed) are not the user's keywords
        kws = [k for k in vals.get("keywords") or () if not k.lower().startswith("darktable|")]
        if kws and hasattr(catalog, "add_keywords"):
            have = catalog.photo_keywords(photo.id)
            if overwrite or not have:
                change = catalog.set_keywords([photo.id], kws) if overwrite else catalog.add_keywords([photo.id], kws)
                if not change.empty:
                    applied["keywords"] = list(change.after.get(photo.id, ()))
    return applied


# What a pending sidecar row says to write (``Catalog.put_sidecar_pending``'s ``what`` bits).
FIELDS, KEYWORDS, GEOMETRY = 1, 2, 4


def _keyword_delta(before, after) -> tuple[list[str], list[str]]:
    old = {k.lower(): k for k in before or ()}
    new = {k.lower(): k for k in after or ()}
    return [v for k, v in new.items() if k not in old], [v for k, v in old.items() if k not in new]


def _compose(pending_added, pending_removed, added, removed) -> tuple[list[str], list[str]]:
    """The keyword change still to write after a further change: later adds/removes win over earlier ones."""
    add = {k.lower(): k for k in pending_added or ()}
    rem = {k.lower(): k for k in pending_removed or ()}
    for k in removed:
        add.pop(k.lower(), None)
        rem[k.lower()] = k
    for k in added:
        rem.pop(k.lower(), None)
        add[k.lower()] = k
    return list(add.values()), list(rem.values())


def sidecar_relevant(change) -> dict[int, tuple[int, list, list]]:
    """What a catalog Change means for the sidecars: ``{photo_id: (what bits, keywords added, removed)}``
    for the photos whose rating/flag/label, keywords or crop/straighten/turn changed (a tone edit: none)."""
    out: dict[int, tuple[int, list, list]] = {}
    if change.field == "params":
        from piaa_desktop.core import develop

        for pid in change.photo_ids:
            try:
                if develop.geometry_of(change.before.get(pid)) == develop.geometry_of(change.after.get(pid)):
                    continue  # a tone change: nothing for the sidecar
            except ValueError:
                pass
            out[pid] = (GEOMETRY, [], [])
    elif change.field in SYNCED_FIELDS and change.field != "keywords":
        out = dict.fromkeys(fields_changed(change), (FIELDS, [], []))
    elif change.field in SYNCED_FIELDS:
        for pid in change.photo_ids:
            if change.before.get(pid) == change.after.get(pid):
                continue
            if change.field == "keywords":
                added, removed = _keyword_delta(change.before.get(pid), change.after.get(pid))
                out[pid] = (KEYWORDS, added, removed)
            else:
                out[pid] = (FIELDS, [], [])
    return out


def fields_changed(change) -> list[int]:
    """The photos whose rating, flag or colour label a change of that field really changed (in order)."""
    before, after, ids = change.before, change.after, change.photo_ids
    # (maps over C functions: 100,000 photos without a Python loop, on the worker that wrote them)
    if len(after) == len(ids) and len(set(after.values())) == 1:  # one value for all (a rating)
        value = next(iter(after.values()))
        return list(itertools.compress(ids, map(operator.ne, map(before.get, ids), itertools.repeat(value))))
    return list(itertools.compress(ids, map(operator.ne, map(before.get, ids), map(after.get, ids))))


def write_pending_sidecar(catalog, photo, pending: dict, settings=None) -> tuple[Optional[Path], Optional[str]]:
    """Write what a pending row (``Catalog.sidecar_pending``) says, from the catalog's current state
    (``photo`` just read from ``catalog``); returns (path or None, error or None). Never raises."""
    naming = _setting(settings, "xmp_naming", "ext")
    what = pending["what"]
    added, removed = pending["keywords_added"], pending["keywords_removed"]
    has_sidecar = xmp.find_sidecar(photo.path, naming) is not None
    kwargs: dict = {}
    if what & (FIELDS | KEYWORDS) and (has_sidecar or photo.rating or photo.flag or photo.color_label or added):
        kwargs.update(rating=photo.rating, flag=photo.flag, color_label=photo.color_label)
        if what & KEYWORDS and (added or removed):
            kwargs["keyword_delta"] = (added, removed)
    if what & GEOMETRY:
        geo = geometry_for_sidecar(catalog.get_edit(photo.id), photo.width, photo.height,
                                   getattr(photo, "orientation", None))
        if geo is not None or has_sidecar or kwargs:
            kwargs["geometry"] = geo
    if not kwargs:
        return None, None  # no sidecar and nothing to say: no empty sidecar litters the folder
    try:
        return xmp.write_sidecar(photo.path, naming=naming, **kwargs), None
    except (xmp.XmpError, OSError, ValueError) as exc:
        return None, (str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc)))


# Live background writers by catalog file: :func:`flush_pending` waits for them (before files move).
_WRITERS: dict[str, set] = {}
_WRITERS_LOCK = threading.Lock()


def _key(path) -> str:
    return os.path.realpath(str(path))


def flush_pending(catalog_or_path, timeout: Optional[float] = None) -> bool:
    """Wait until every background sidecar writer of this catalog file has written what it was given
    (call before photos or sidecars are moved, exported or trashed; from any thread). True when done."""
    path = getattr(catalog_or_path, "path", catalog_or_path)
    with _WRITERS_LOCK:
        writers = list(_WRITERS.get(_key(path), ()))
    ok = True
    for w in writers:
        ok &= w.flush(timeout)
    return ok


class SidecarWriter:
    """Writes the sidecars marked pending in the catalog, FIFO, one photo at a time.

    ``background=False`` (the CLI, tests): :meth:`submit` writes at once on the calling thread.
    ``background=True`` (the app): one worker thread with a catalog connection of its own writes them;
    a photo submitted again before it is written is written once, from the catalog's state at that time
    (the last change wins; a change made while its sidecar is being written marks it again, so it is
    written again). :meth:`flush` waits for the queue; :meth:`close` flushes and stops the thread (later
    changes are written at once). Errors go to ``errors`` (path, reason) and to ``on_error(path, reason)``,
    called on the writing thread.

    ``delay`` (seconds): the worker starts writing only once no photo was submitted for that long (or a
    flush asks), so a burst of changes (a crop dragged, stars pressed in a row) is written once, and the
    thumbnails re-rendered after an edit do not share the CPU with the sidecars' XML.
    """

    BATCH = 32

    def __init__(self, catalog, settings=None, background: bool = False, on_error=None, delay: float = 0.0):
        self.catalog = catalog
        self.settings = settings
        self.on_error = on_error
        self.delay = float(delay)
        self._last_submit = self._first_queued = 0.0
        self._flushing = 0
        self.errors: list[tuple[str, str]] = []
        self.quiet = False  # True when the caller reports ``errors`` itself (the CLI prints them)
        self.written = 0
        self._cond = threading.Condition()
        self._queue: dict[int, None] = {}  # insertion-ordered: FIFO, one entry a photo
        self._busy = False
        self._stop = False
        self._hold = threading.Event()  # set: the worker waits before writing (tests simulate a crash)
        self._thread: Optional[threading.Thread] = None
        self._key = _key(catalog.path)
        if background:
            self._thread = threading.Thread(target=self._run, name="piaa-sidecars", daemon=True)
            self._thread.start()
            with _WRITERS_LOCK:
                _WRITERS.setdefault(self._key, set()).add(self)

    @property
    def background(self) -> bool:
        return self._thread is not None

    def submit(self, photo_ids) -> None:
        ids = list(map(int, photo_ids))
        if not ids:
            return
        if self._thread is None:
            self._write_batch(self.catalog, ids)
            return
        with self._cond:
            now = time.monotonic()
            if not self._queue:
                self._first_queued = now
            self._queue.update(dict.fromkeys(ids))  # a photo already queued keeps its place
            self._last_submit = now
            self._cond.notify_all()

    def queued(self) -> list[int]:
        """The photos waiting for their sidecar, in the order they will be written."""
        with self._cond:
            return list(self._queue)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def pause(self) -> None:
        """The worker waits before its next write until :meth:`unpause` (tests: a writer killed before it wrote)."""
        self._hold.set()

    def unpause(self) -> None:
        self._hold.clear()

    def queue_left_pending(self) -> int:
        """Queue the sidecars left pending in the catalog (by a killed process); returns how many."""
        ids = self.catalog.sidecar_pending_ids()
        self.submit(ids)
        return len(ids)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until everything submitted is written (True), or ``timeout`` seconds passed (False)."""
        t = self._thread
        if t is None or threading.current_thread() is t:
            return True
        with self._cond:
            self._flushing += 1  # no waiting for a quiet moment: write now
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: (not self._queue and not self._busy) or not t.is_alive(), timeout)
            finally:
                self._flushing -= 1

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flush (for at most ``timeout`` seconds), stop the worker; later submissions are written at once
        on the caller's thread. What is not written by then stays marked in the catalog and is written at
        the next start (:meth:`queue_left_pending`): a window closing after rating 100,000 photos does
        not wait for 100,000 files. Returns whether everything was written."""
        t = self._thread
        if t is None:
            return True
        ok = self.flush(timeout)
        with self._cond:
            self._stop = True
            if not ok:
                self._queue.clear()  # still marked pending in the catalog
            self._cond.notify_all()
        t.join(None if timeout is None else timeout + 30.0)  # the batch being written ends
        with _WRITERS_LOCK:
            _WRITERS.get(self._key, set()).discard(self)
        self._thread = None
        return ok

    # ------------------------------------------------------------------ writing
    def _run(self) -> None:
        from piaa_desktop.core.catalog import Catalog

        cat = None
        try:
            cat = Catalog.open(self.catalog.path)
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._stop)
                    if not self._queue:
                        return  # stopped with nothing left
                    held = self._hold.is_set() and not self._stop
                    now = time.monotonic()
                    quiet = now - self._last_submit
                    if (not held and quiet < self.delay and now - self._first_queued < 5 * self.delay
                            and not self._stop and not self._flushing):
                        self._cond.wait(self.delay - quiet)  # more changes may come: wait for a quiet moment
                        continue  # (but never longer than 5 delays after the oldest one)
                    if not held:
                        self._busy = True
                        batch = list(self._queue)[: self.BATCH]
                        for pid in batch:
                            del self._queue[pid]
                if held:
                    time.sleep(0.01)
                    continue
                try:
                    self._write_batch(cat, batch)
                except Exception as exc:  # noqa: BLE001 - the writer must outlive a bad photo
                    log.exception("sidecar writer: %s", exc)
                    self._report(str(batch), f"not written: {exc}")
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
        except Exception as exc:  # noqa: BLE001 - no catalog connection: say it, the marks stay for next start
            log.exception("sidecar writer stopped: %s", exc)
            self._report(str(self.catalog.path), f"sidecars not written: {exc}")
        finally:
            with self._cond:
                self._busy = False
                self._queue.clear()
                self._cond.notify_all()
            if cat is not None:
                cat.close()

    def _write_batch(self, cat, ids) -> None:
        done = []
        write = _setting(self.settings, "xmp_write", True)
        for pid in ids:
            pending = cat.sidecar_pending(pid)
            if pending is None:
                continue  # written already (submitted twice)
            photo = cat.photo(pid)
            if write and photo is not None and not photo.missing:
                path, error = write_pending_sidecar(cat, photo, pending, self.settings)
                if path is not None:
                    self.written += 1
                if error:
                    self._report(photo.path, error)
            done.append((pid, pending["seq"]))
        cat.clear_sidecar_pending(done)

    def _report(self, path: str, reason: str) -> None:
        if not self.quiet:
            log.warning("sidecar of %s not written: %s", path, reason)
        self.errors.append((path, reason))
        if self.on_error is not None:
            try:
                self.on_error(path, reason)
            except Exception:  # noqa: BLE001 - a closed window's callback
                log.exception("sidecar error callback failed")


class SidecarHook:
    """A catalog's sidecar writing: marks the sidecars to write inside each change's transaction
    (``catalog.in_transaction``) and hands them to its :class:`SidecarWriter` after the commit
    (``catalog.on_change``). ``errors`` keeps (path, reason) of failures."""

    def __init__(self, catalog, settings=None, background: bool = False, on_error=None, delay: float = 0.0):
        self.catalog = catalog
        self.settings = settings
        self.writer = SidecarWriter(catalog, settings, background=background, on_error=on_error, delay=delay)

    @property
    def errors(self) -> list[tuple[str, str]]:
        return self.writer.errors

    @property
    def quiet(self) -> bool:
        return self.writer.quiet

    @quiet.setter
    def quiet(self, value: bool) -> None:
        self.writer.quiet = value

    def flush(self, timeout: Optional[float] = None) -> bool:
        return self.writer.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> bool:
        return self.writer.close(timeout)

    def _active(self) -> bool:
        return not getattr(_state, "suppress", False) and _setting(self.settings, "xmp_write", True)

    def mark(self, tx, change) -> None:
        """Inside the change's transaction: the sidecars it concerns are marked pending."""
        if not self._active():
            return
        if change.field in CULLING_FIELDS:  # no keywords: one statement for any number
            try:
                ids = fields_changed(change)
            except Exception:  # noqa: BLE001 - a sidecar problem never fails the rating itself
                log.exception("sidecar marks not made for %s", change.field)
                return
            self.catalog.add_sidecar_pending(tx, ids, FIELDS)
            change.sidecar_ids = ids  # what __call__ hands to the writer after the commit
            return
        try:
            rows = sidecar_relevant(change)
        except Exception:  # noqa: BLE001 - a sidecar problem never fails the rating or the edit itself
            log.exception("sidecar marks not made for %s", change.field)
            return
        if not rows:
            return
        have = self.catalog.sidecar_pending_in(tx, list(rows))
        out = {}
        for pid, (what, added, removed) in rows.items():
            old = have.get(pid)
            if old is not None:
                what |= old["what"]
                added, removed = _compose(old["keywords_added"], old["keywords_removed"], added, removed)
            out[pid] = (what, added, removed)
        self.catalog.put_sidecar_pending(tx, out)

    def __call__(self, change) -> None:
        if not self._active():
            return
        if change.field in CULLING_FIELDS:
            ids = change.sidecar_ids if getattr(change, "sidecar_ids", None) is not None else fields_changed(change)
        else:
            ids = list(sidecar_relevant(change))
        if ids:
            self.writer.submit(ids)


def geometry_for_sidecar(params, width: Optional[int], height: Optional[int], orientation: Optional[int]) -> Optional[dict]:
    """What :func:`piaa_desktop.core.xmp.apply_geometry` writes for develop ``params``; None: no geometry."""
    from piaa_desktop.core import develop

    try:
        n = develop.normalize_params(params)
    except ValueError:
        return None
    if develop.geometry_is_identity(n):
        return None
    crs = develop.crs_crop(n, width or 1, height or 1, orientation) if width and height else None
    return {"params": develop.geometry_of(n), "crs": crs}


def sync_geometry(catalog, photo_id: int, settings=None) -> tuple[Optional[Path], Optional[str]]:
    """Write the photo's crop/straighten/turn to its sidecar (cleared when it has none); (path, error)."""
    if not _setting(settings, "xmp_write", True):
        return None, None
    photo = catalog.photo(int(photo_id))
    if photo is None or photo.missing:
        return None, None
    naming = _setting(settings, "xmp_naming", "ext")
    geo = geometry_for_sidecar(catalog.get_edit(photo.id), photo.width, photo.height, getattr(photo, "orientation", None))
    if geo is None and xmp.find_sidecar(photo.path, naming) is None:
        return None, None
    try:
        return xmp.write_sidecar(photo.path, naming=naming, geometry=geo), None
    except (xmp.XmpError, OSError, ValueError) as exc:
        reason = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
        log.warning("sidecar of %s not written: %s", photo.path, reason)
        return None, reason


def import_geometry(catalog, photo_id: int, settings=None) -> Optional[dict]:
    """A new photo's crop from its sidecar (the app's own fields, else Lightroom's ``crs:`` crop) as its
    develop geometry, when it has no edit yet; returns the geometry applied or None."""
    from piaa_desktop.core import develop

    if not _setting(settings, "xmp_read_on_import", True):
        return None
    photo = catalog.photo(int(photo_id))
    if photo is None or catalog.get_edit(photo.id):
        return None
    try:
        found = xmp.read_geometry(photo.path, _setting(settings, "xmp_naming", "ext"))
    except xmp.XmpError as exc:
        log.warning("sidecar of %s not read: %s", photo.path, exc)
        return None
    if not found:
        return None
    if found["piaa"]:
        geo = develop.geometry_of(found["piaa"])
    elif found["crs"] and photo.width and photo.height:
        geo = develop.params_from_crs(found["crs"], photo.width, photo.height, getattr(photo, "orientation", None))
    else:
        return None
    if develop.geometry_is_identity(geo):
        return None
    with _suppressed():
        catalog.set_edit([photo.id], {k: v for k, v in geo.items() if v != develop.REGISTRY_BY_NAME[k].default},
                         source="sidecar")
    return geo


def install_sidecar_hook(catalog, settings=None, background: bool = False, on_error=None,
                         delay: float = 0.0) -> SidecarHook:
    """Write sidecars after every rating/flag/label, keyword and crop change of ``catalog`` (undo/redo
    included): at once (``background=False``), or by a worker thread (the app: the GUI thread never waits
    for a sidecar; ``hook.flush()`` / :func:`flush_pending` wait for them, ``hook.close()`` at the end)."""
    hook = SidecarHook(catalog, settings, background=background, on_error=on_error, delay=delay)
    catalog.in_transaction.append(hook.mark)
    catalog.on_change.append(hook)
    return hook


def import_library(catalog, folder, cache_dir, settings=None, progress=None, cancel=None, embeddings: bool = True):
    """Import (or rescan) ``folder`` with the sidecars of new photos read into the catalog: the one
    import that ``piaa scan`` and the app's Import both run. Returns the scanner's ``ScanResult``."""
    from piaa_desktop.core.scanner import import_folder

    return import_folder(
        catalog, folder, cache_dir, progress=progress, cancel=cancel, embeddings=embeddings,
        on_new_photo=lambda c, pid: (import_sidecar(c, pid, settings=settings), import_geometry(c, pid, settings=settings)),
    )
