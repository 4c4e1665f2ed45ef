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
"""
from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Optional

from piaa_desktop.core import xmp

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


class SidecarHook:
    """A catalog ``on_change`` callback writing sidecars; ``errors`` keeps (path, reason) of failures."""

    def __init__(self, catalog, settings=None):
        self.catalog = catalog
        self.settings = settings
        self.errors: list[tuple[str, str]] = []
        # True when the caller reports ``errors`` itself (the CLI prints them): then they are not also logged
        self.quiet = False

    def __call__(self, change) -> None:
        if getattr(_state, "suppress", False):
            return
        if change.field == "params":
            self._geometry(change)
            return
        if change.field not in SYNCED_FIELDS:
            return
        if not _setting(self.settings, "xmp_write", True):
            return
        for pid in change.photo_ids:
            if change.before.get(pid) == change.after.get(pid):
                continue
            delta = None
            if change.field == "keywords":
                old = {k.lower(): k for k in change.before.get(pid) or ()}
                new = {k.lower(): k for k in change.after.get(pid) or ()}
                delta = ([v for k, v in new.items() if k not in old], [v for k, v in old.items() if k not in new])
            _, error = _sync(self.catalog, pid, self.settings, keyword_delta=delta, quiet=self.quiet)
            if error:
                photo = self.catalog.photo(pid)
                self.errors.append((photo.path if photo else str(pid), error))


    def _geometry(self, change) -> None:
        from piaa_desktop.core import develop

        if not _setting(self.settings, "xmp_write", True):
            return
        for pid in change.photo_ids:
            try:
                if develop.geometry_of(change.before.get(pid)) == develop.geometry_of(change.after.get(pid)):
                    continue  # a tone change: nothing for the sidecar
            except ValueError:
                pass
            _, error = sync_geometry(self.catalog, pid, self.settings)
            if error:
                photo = self.catalog.photo(pid)
                self.errors.append((photo.path if photo else str(pid), error))


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


def install_sidecar_hook(catalog, settings=None) -> SidecarHook:
    """Write sidecars after every rating/flag/label change of ``catalog`` (undo/redo included)."""
    hook = SidecarHook(catalog, settings)
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
