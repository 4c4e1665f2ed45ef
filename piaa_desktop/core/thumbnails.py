"""Thumbnails in a content-hash disk cache; numpy arrays in the core (napari style).

A thumbnail is keyed by the photo's content hash, so a moved or renamed file keeps its thumbnail and
a changed file gets a new one. An *edited* thumbnail (the photo's develop settings rendered) is keyed by
the content hash and the edit's signature (:func:`piaa_desktop.core.develop.edit_signature`) and rendered
from the cached thumbnail (the proxy), never from the original: re-rendering after an edit costs a few
milliseconds, and undo finds the previous rendering still cached. Files are written atomically: a crash or a full disk never leaves a
truncated JPEG under a final name (a half-written one is a ``.part`` file that the next write replaces).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from piaa_desktop.core.fsutil import atomic_write
from piaa_desktop.core.imageio import ImageError, load_rgb

THUMB_SIZE = 512  # long edge in pixels: sharp in the grid at 2x DPI, input of embeddings and signals
THUMB_QUALITY = 88


def thumbnail_path(cache_dir: os.PathLike | str, content_hash: str, size: int = THUMB_SIZE) -> Path:
    return Path(cache_dir) / str(size) / content_hash[:2] / f"{content_hash}.jpg"


def make_thumbnail(
    src: os.PathLike | str, content_hash: str, cache_dir: os.PathLike | str, size: int = THUMB_SIZE
) -> Image.Image:
    """Decode ``src`` (EXIF-oriented, JPEG draft mode) and cache a thumbnail; returns the RGB image."""
    im = load_rgb(src, max_size=size)
    save_thumbnail(im, content_hash, cache_dir, size)
    return im


def save_thumbnail(im: Image.Image, content_hash: str, cache_dir: os.PathLike | str, size: int = THUMB_SIZE) -> None:
    """Cache an already decoded thumbnail (``load_rgb(src, max_size=size)``) under its content hash."""
    dest = thumbnail_path(cache_dir, content_hash, size)
    if not dest.exists():
        with atomic_write(dest) as fh:
            im.save(fh, format="JPEG", quality=THUMB_QUALITY)


def load_thumbnail(cache_dir: os.PathLike | str, content_hash: str, size: int = THUMB_SIZE) -> Optional[np.ndarray]:
    """The cached thumbnail as an HxWx3 uint8 array, or None if it is not cached (or unreadable)."""
    p = thumbnail_path(cache_dir, content_hash, size)
    try:
        with Image.open(p, formats=("JPEG",)) as im:  # our own cache: JPEG only
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError):
        return None


def thumbnail_array(
    src: os.PathLike | str, content_hash: str, cache_dir: os.PathLike | str, size: int = THUMB_SIZE
) -> np.ndarray:
    """Cached thumbnail if present, else decode the original and cache it. Raises ImageError."""
    arr = load_thumbnail(cache_dir, content_hash, size)
    if arr is not None:
        return arr
    return np.asarray(make_thumbnail(src, content_hash, cache_dir, size))


class _BaseCache:
    """The proxies that edits are rendered from, decoded and scaled to the rendering's edge, kept in memory
    (LRU, bounded in bytes; thread-safe): re-rendering a photo after each edit (a slider drag, a crop on
    every visible cell) skips the JPEG decode and the resize, half of its cost."""

    def __init__(self, max_bytes: int = 48 * 1024 * 1024):
        import threading
        from collections import OrderedDict

        self.max_bytes = max_bytes
        self._d: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key) -> Optional[np.ndarray]:
        with self._lock:
            arr = self._d.get(key)
            if arr is not None:
                self._d.move_to_end(key)
            return arr

    def put(self, key, arr: np.ndarray) -> None:
        arr = np.asarray(arr)
        arr.setflags(write=False)  # shared between renders: nobody may change it
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._d[key] = arr
            self._bytes += arr.nbytes
            while self._bytes > self.max_bytes and len(self._d) > 1:
                _, ev = self._d.popitem(last=False)
                self._bytes -= ev.nbytes

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self._bytes = 0


_BASES = _BaseCache()


def edited_thumbnail_path(
    cache_dir: os.PathLike | str, content_hash: str, signature: str, size: int = THUMB_SIZE
) -> Path:
    return Path(cache_dir) / "edited" / str(size) / content_hash[:2] / f"{content_hash}-{signature}.jpg"


def edited_thumbnail_array(
    src: os.PathLike | str,
    content_hash: str,
    cache_dir: os.PathLike | str,
    params: Optional[dict],
    size: int = THUMB_SIZE,
    edge: Optional[int] = None,
    write_cache: bool = True,
) -> np.ndarray:
    """The thumbnail with ``params`` rendered (crop and straighten included): the cached rendering if
    there is one, else rendered from the cached (or freshly made) thumbnail and cached. ``edge`` renders
    (and caches) at a smaller long edge, e.g. the grid's cell size: fewer pixels, same look. No edit: the
    plain thumbnail. Raises ImageError when the photo cannot be read."""
    from piaa_desktop.core import develop

    sig = develop.edit_signature(params)
    if not sig:
        return thumbnail_array(src, content_hash, cache_dir, size)
    e = min(int(edge or size), size)
    dest = edited_thumbnail_path(cache_dir, content_hash, sig, e)
    try:
        with Image.open(dest, formats=("JPEG",)) as im:  # our own cache: JPEG only
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError):
        pass
    base = _BASES.get((content_hash, e, str(cache_dir)))
    if base is None:
        base = thumbnail_array(src, content_hash, cache_dir, size)
        if max(base.shape[:2]) > e:
            im = Image.fromarray(base)
            im.thumbnail((e, e), Image.Resampling.BILINEAR, reducing_gap=2.0)
            base = np.asarray(im)
        _BASES.put((content_hash, e, str(cache_dir)), base)
    out = develop.render_uint8(base, params, threads=1, fast=True)
    if out is base:
        out = base.copy()
    if write_cache:
        save_edited_thumbnail(cache_dir, content_hash, sig, out, e)
    return out


def save_edited_thumbnail(cache_dir: os.PathLike | str, content_hash: str, signature: str, rgb: np.ndarray, edge: int) -> None:
    """Cache a rendered thumbnail (atomic, not fsynced: it is a cache, and an unreadable file is simply
    rendered again, as after a full disk)."""
    try:
        with atomic_write(edited_thumbnail_path(cache_dir, content_hash, signature, edge), durable=False) as fh:
            Image.fromarray(np.asarray(rgb, dtype=np.uint8), "RGB").save(fh, format="JPEG", quality=THUMB_QUALITY)
    except OSError:
        pass


__all__ = ["THUMB_SIZE", "edited_thumbnail_array", "edited_thumbnail_path", "save_edited_thumbnail", "ImageError", "make_thumbnail", "save_thumbnail", "load_thumbnail", "thumbnail_array", "thumbnail_path"]
