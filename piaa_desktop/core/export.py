"""Export picks or the best photos to a folder: originals or rendered with their edits.

* :func:`select_for_export` picks photo ids from the catalog (picks, at least K stars, top N or top P %
  by personal score, falling back to the generic score), best first.
* :func:`export_photos` writes them to a folder and a CSV + JSON report of what was exported, with scores.

Guarantees:

* **Never overwrites**: a name in use gets ``-1``, ``-2``... The final name is claimed with a hard link
  (atomic, fails if the name exists), so even a file appearing meanwhile is not replaced. Such a photo is
  reported as renamed (``ExportRow.renamed_from``).
* **A repeated export writes nothing twice**: when the folder already holds exactly the bytes a photo
  would get (under its name or a ``-N`` an earlier run gave it), that photo is ``already_there`` and
  skipped, and the report counts it apart from the files written (Lightroom's "skip existing").
* **No truncated file under a final name**: each file is written to a hidden ``.piaa-export-*.part``
  beside its destination, fsynced, then linked/renamed into place. A failure (disk full, cancel, bad
  image) removes the temporary file; one left by a killed process is removed by the next export.
* **Stays inside the folder**: template fields from the catalog (names, cameras) have path separators
  replaced, ``..`` / absolute templates are refused, and every final path is checked with
  :func:`~piaa_desktop.core.fsutil.is_within` (symlinked subfolders included).
* **Metadata**: an unprocessed original is copied byte for byte. A re-encoded JPEG keeps the original's
  EXIF (orientation reset to 1 because the pixels are rotated; pixel dimensions updated) and its ICC
  profile. Optionally the rating, pick/reject and colour label go into the JPEG's embedded XMP.

Cancel raises :class:`ExportCancelled` and a fatal destination error (disk full, read-only, permission)
raises :class:`ExportError`; both carry the partial :class:`ExportReport`, which is also written to the
folder when possible.
"""
from __future__ import annotations

import contextlib
import csv
import errno
import importlib
import io
import json
import math
import os
import re
import shutil
import string
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Sequence

from piaa_desktop.core.fsutil import (
    EXPORT_MARKER,
    atomic_write,
    cap_bytes,
    file_mode,
    is_within,
    open_regular,
    unique_path,
)
from piaa_desktop.core.jobs import CancelToken, Cancelled, ProgressCallback, ensure

DEFAULT_TEMPLATE = "{date}_{rank:03d}_{name}"
TEMPLATE_FIELDS = {
    "name": "original file name without extension",
    "ext": "original extension without the dot",
    "date": "capture date YYYY-MM-DD (file date when the photo has no EXIF date)",
    "time": "capture time HHMMSS",
    "year": "capture year",
    "month": "capture month (two digits)",
    "day": "capture day (two digits)",
    "rank": "position in the export, best first, from 1 (use {rank:03d} for 001)",
    "seq": "sequence number in the export, from 1 (the same as rank; {seq:04d} for 0001)",
    "id": "catalog id of the photo",
    "rating": "stars 0-5",
    "score": "personal score (generic when no personal model), e.g. {score:.2f}",
    "camera": "camera model",
    "folder": "name of the folder holding the original",
}
JPEG_EXTS = {".jpg", ".jpeg", ".jpe"}
FATAL_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, getattr(errno, "EDQUOT", errno.ENOSPC)}
PART_PREFIX = ".piaa-export-"
NAME_BYTES = 200  # longest file or folder name an export template gives (+ extension and "-N" < 255)
STALE_PART_SECONDS = 600
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class ExportError(Exception):
    """An export that cannot go on (bad options, missing module, disk full); ``report`` has what was done."""

    def __init__(self, message: str, report: Optional["ExportReport"] = None):
        super().__init__(message)
        self.report = report


class ExportCancelled(Cancelled):
    """The export was cancelled; ``report`` lists what was exported before that."""

    def __init__(self, report: "ExportReport"):
        super().__init__("export cancelled")
        self.report = report


@dataclass
class ExportOptions:
    # what
    picks: bool = False
    min_stars: int = 0
    top_n: Optional[int] = None
    top_percent: Optional[float] = None
    include_rejected: bool = False
    score_kind: str = "personal"  # 'personal' (falls back to generic) or 'generic'
    # how
    edits: bool = False
    long_edge: Optional[int] = None  # None or 0: full size
    quality: int = 92
    template: str = DEFAULT_TEMPLATE
    embed_xmp: bool = False
    write_report: bool = True
    # output (core.output): 'original' copies unchanged photos and writes JPEG otherwise
    format: str = "original"  # original | jpeg | png | tiff16
    color_space: Optional[str] = None  # None keeps the original's profile; srgb | display-p3 | adobe-rgb
    sharpening: str = "none"  # none | screen | print
    scope: str = ""  # what the photos were chosen from, in words ("folder "lib"", a search), for the report

    @property
    def output_format(self) -> str:
        """The format of re-encoded files ('jpeg' when ``format`` is 'original')."""
        return "jpeg" if self.format == "original" else self.format

    @property
    def reencodes(self) -> bool:
        """True when even an unedited, full-size photo must be re-encoded (format, colour, sharpening)."""
        return self.format != "original" or self.color_space is not None or self.sharpening != "none"

    def validate(self) -> None:
        if self.min_stars is None or not 0 <= int(self.min_stars) <= 5:
            raise ValueError("minimum stars must be between 0 and 5")
        if self.top_n is not None and int(self.top_n) < 1:
            raise ValueError("top N must be at least 1")
        if self.top_percent is not None and not 0 < float(self.top_percent) <= 100:
            raise ValueError("top percent must be more than 0 and at most 100")
        if self.long_edge is not None and int(self.long_edge) < 0:
            raise ValueError("long edge must be a positive number of pixels (0 keeps full size)")
        if self.long_edge and int(self.long_edge) < 16:
            raise ValueError("long edge must be at least 16 pixels")
        if not 1 <= int(self.quality) <= 100:
            raise ValueError("JPEG quality must be between 1 and 100")
        if self.score_kind not in ("personal", "generic"):
            raise ValueError("score kind must be 'personal' or 'generic'")
        from piaa_desktop.core.output import COLOR_SPACES, FORMATS, SHARPEN

        if self.format != "original" and self.format not in FORMATS:
            raise ValueError(f"format must be original, {', '.join(FORMATS)}")
        if self.color_space is not None and self.color_space not in COLOR_SPACES:
            raise ValueError(f"colour space must be one of {', '.join(COLOR_SPACES)} (or none: as the original)")
        if self.sharpening not in SHARPEN:
            raise ValueError(f"sharpening must be one of {', '.join(SHARPEN)}")
        check_template(self.template)

    @property
    def has_selection(self) -> bool:
        return bool(self.picks or self.min_stars or self.top_n or self.top_percent)


@dataclass
class ExportRow:
    rank: int
    photo_id: int
    status: str  # exported | already_there | failed | skipped | cancelled
    source: str = ""
    dest: str = ""
    rating: int = 0
    flag: int = 0
    color_label: Optional[str] = None
    personal_score: Optional[float] = None
    generic_score: Optional[float] = None
    width: Optional[int] = None
    height: Optional[int] = None
    edited: bool = False
    method: str = ""  # copy | render
    error: str = ""
    renamed_from: str = ""  # the name the template gave, when a different file held it (written as name-N)


@dataclass
class ExportReport:
    dest: str
    rows: list[ExportRow] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    started_at: float = 0.0
    seconds: float = 0.0
    cancelled: bool = False
    error: str = ""
    csv_path: Optional[str] = None
    json_path: Optional[str] = None

    def _count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def exported(self) -> int:
        return self._count("exported")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def already_there(self) -> int:
        """Photos not written because the folder already held an identical file."""
        return self._count("already_there")

    @property
    def renamed(self) -> int:
        """Photos written under a ``-N`` name because a different file had the template's name."""
        return sum(1 for r in self.rows if r.status == "exported" and r.renamed_from)

    def describe(self) -> str:
        """What the export did, in words (CLI and GUI say the same): 'exported 5 of 8 photos to D; 3 already
        there (identical files), skipped; ...'. Files written and files found already there are told apart."""
        total = len(self.rows)
        n_there = self.already_there
        if total and n_there == total:
            return (f"all {total} photo{'s' if total != 1 else ''} already there in {self.dest} "
                    "(identical files), nothing written")
        text = f"exported {self.exported} of {total} photo{'s' if total != 1 else ''} to {self.dest}"
        extra = []
        if n_there:
            extra.append(f"{n_there} already there (identical file{'s' if n_there != 1 else ''}), skipped")
        if self.renamed:
            extra.append(f"{self.renamed} saved under a new name (-1, -2…) because a different file had the name")
        if self.failed:
            extra.append(f"{self.failed} failed")
        if self.skipped:
            extra.append(f"{self.skipped} skipped (original missing)")
        stopped = self._count("cancelled")
        if stopped:
            extra.append(f"{stopped} not done (stopped)")
        return "; ".join([text, *extra])

    def summary(self) -> dict:
        return {
            "dest": self.dest,
            "exported": self.exported,
            "already_there": self.already_there,
            "renamed": self.renamed,
            "total": len(self.rows),
            "failed": self.failed,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "report_csv": self.csv_path,
            "report_json": self.json_path,
        }


# ---------------------------------------------------------------------------------------------- selection
def select_for_export(catalog, opts: ExportOptions, within: Optional[Sequence[int]] = None) -> list[int]:
    """Photo ids to export, best first (personal score, generic when none, then id).

    ``within`` limits the choice to those photos (what the user sees: a folder, a search, a selection);
    None means the whole library. Filters (picks, at least ``min_stars``) combine; then ``top_n`` and
    ``top_percent`` (of the filtered set, rounded up) cut the ranking; with both, the smaller wins.
    Rejected photos are left out unless ``include_rejected``. With no criterion at all every
    non-rejected photo is returned.
    """
    opts.validate()
    ids = catalog.query_ids(
        sort=opts.score_kind,
        min_rating=int(opts.min_stars or 0),
        flag=1 if opts.picks else None,
        include_rejected=opts.include_rejected,
    )
    if within is not None:
        keep = {int(i) for i in within}
        ids = [i for i in ids if i in keep]
    n = len(ids)
    if opts.top_percent:
        n = min(n, max(1, math.ceil(len(ids) * float(opts.top_percent) / 100.0))) if ids else 0
    if opts.top_n:
        n = min(n, int(opts.top_n))
    return ids[:n]


# Presets: the "how" of an export (never the "which photos"). Users' own presets live in the setting
# ``export_presets`` (name -> these fields); a user preset with a built-in's name replaces it.
PRESET_FIELDS = ("format", "quality", "long_edge", "color_space", "sharpening", "edits", "template", "embed_xmp")
BUILTIN_PRESETS: dict[str, dict] = {
    "Web: sRGB JPEG, 2048 px, screen sharpening": {
        "format": "jpeg", "quality": 85, "long_edge": 2048, "color_space": "srgb", "sharpening": "screen",
        "edits": True},
    "Wide-gamut screens: Display P3 JPEG, 3840 px": {
        "format": "jpeg", "quality": 92, "long_edge": 3840, "color_space": "display-p3", "sharpening": "screen",
        "edits": True},
    "Print: Adobe RGB 16-bit TIFF, print sharpening": {
        "format": "tiff16", "long_edge": 0, "color_space": "adobe-rgb", "sharpening": "print", "edits": True},
    "Full size: sRGB JPEG, quality 95": {
        "format": "jpeg", "quality": 95, "long_edge": 0, "color_space": "srgb", "sharpening": "none", "edits": True},
    "Originals: copies, untouched": {
        "format": "original", "long_edge": 0, "color_space": None, "sharpening": "none", "edits": False},
}


def presets(user: Optional[dict] = None) -> dict[str, dict]:
    """Built-in presets, then the user's (from the ``export_presets`` setting)."""
    out = {k: dict(v) for k, v in BUILTIN_PRESETS.items()}
    for name, p in (user or {}).items():
        if isinstance(p, dict):
            out[str(name)] = {k: v for k, v in p.items() if k in PRESET_FIELDS}
    return out


def apply_preset(opts: ExportOptions, preset: dict) -> ExportOptions:
    """``opts`` with the preset's output fields set (what to export is kept); validated."""
    import dataclasses

    new = dataclasses.replace(opts, **{k: v for k, v in preset.items() if k in PRESET_FIELDS})
    new.validate()
    return new


def preset_of(opts: ExportOptions) -> dict:
    """The output fields of ``opts``, to save as a preset."""
    return {k: getattr(opts, k) for k in PRESET_FIELDS}


def describe_selection(opts: ExportOptions, scope: str = "", personal_model: Optional[bool] = None) -> str:
    """What an export takes, in words: 'the best 10 by your personal score, picks only, from folder "lib"',
    'the picks, ordered by your personal score, from the whole library'. ``personal_model``: whether a personal
    model exists (True: the ranking is yours; False: it is the generic score until there is one; None: unknown,
    both are said)."""
    if opts.score_kind != "personal":
        by = "the generic score"
    elif personal_model is False:
        by = "the generic score (no personal model yet)"
    else:
        by = "your personal score"
    conds = []
    if opts.top_n and opts.top_percent:
        what = f"the best {opts.top_n} (at most {opts.top_percent:g} %) by {by}"
    elif opts.top_n:
        what = f"the best {opts.top_n} by {by}"
    elif opts.top_percent:
        what = f"the best {opts.top_percent:g} % by {by}"
    elif opts.picks:  # "all, ..., picks only" read as a contradiction
        what = f"the picks{f' with {opts.min_stars} stars and up' if opts.min_stars else ''}, ordered by {by}"
    elif opts.min_stars:
        what = f"the photos with {opts.min_stars} stars and up, ordered by {by}"
    else:
        what = f"all photos, ordered by {by}"
    if opts.top_n or opts.top_percent:
        if opts.picks:
            conds.append("picks only")
        if opts.min_stars:
            conds.append(f"{opts.min_stars} stars and up")
    if not opts.include_rejected and not opts.picks:
        conds.append("rejects left out")
    text = what + (", " + ", ".join(conds) if conds else "")
    if scope:
        text += f", from {scope}"
    else:
        text += ", from the whole library"
    if opts.score_kind == "personal" and personal_model is None:
        text += " (the generic score where there is no personal model yet)"
    return text


# ---------------------------------------------------------------------------------------------- names
class _SafeFormatter(string.Formatter):
    """``str.format`` without attribute or index access (``{name.__class__}`` is refused)."""

    def get_field(self, field_name, args, kwargs):
        if not field_name or any(c in field_name for c in ".[]"):
            raise ValueError(f"template field {{{field_name}}} is not allowed; use plain names like {{name}}")
        if field_name not in kwargs:
            raise ValueError(
                f"unknown template field {{{field_name}}}; available: "
                + ", ".join("{" + k + "}" for k in TEMPLATE_FIELDS)
            )
        return kwargs[field_name], field_name


_FORMATTER = _SafeFormatter()
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def _clean_value(v: Any) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    return _UNSAFE_CHARS.sub("_", "" if v is None else str(v))


def _clean_component(part: str) -> str:
    part = _UNSAFE_CHARS.sub("_", part).strip().rstrip(". ")
    if not part or set(part) <= {"."}:
        part = "_"
    if part.split(".")[0].lower() in _WINDOWS_RESERVED:
        part = "_" + part
    # capped in bytes, not characters (80 CJK characters are 240 bytes): room is left for the
    # extension and a "-N" suffix within the file system's 255-byte names
    return cap_bytes(part, NAME_BYTES).rstrip(". ") or "_"


def _context(photo, rank: int, score: Optional[float]) -> dict:
    ts = None
    if photo.capture_time:
        with contextlib.suppress(ValueError):
            ts = datetime.fromisoformat(photo.capture_time[:19])
    if ts is None:
        ts = datetime.fromtimestamp(photo.mtime or 0)
    p = Path(photo.path)
    return {
        "name": p.stem,
        "ext": p.suffix.lstrip("."),
        "date": ts.strftime("%Y-%m-%d"),
        "time": ts.strftime("%H%M%S"),
        "year": ts.strftime("%Y"),
        "month": ts.strftime("%m"),
        "day": ts.strftime("%d"),
        "rank": int(rank),
        "seq": int(rank),
        "id": int(photo.id),
        "rating": int(photo.rating or 0),
        "score": float(score) if score is not None else 0.0,
        "camera": photo.camera or "unknown",
        "folder": p.parent.name,
    }


def render_name(template: str, ctx: dict) -> str:
    """The relative path (no extension) a template gives; raises ``ValueError`` for unsafe templates."""
    if not template or not template.strip():
        raise ValueError("the file name template is empty")
    t = template.strip()
    if t.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", t):
        raise ValueError("the template must give a name inside the export folder, not an absolute path")
    parts_lit = re.split(r"[/\\]", t)
    if any(p in ("..", ".") for p in parts_lit):
        raise ValueError("the template must not contain '..' or '.' folders")
    values = {k: _clean_value(v) for k, v in ctx.items()}
    try:
        text = _FORMATTER.vformat(template, (), values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad file name template {template!r}: {exc}") from exc
    parts = [_clean_component(p) for p in re.split(r"[/\\]", text)]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError(f"template {template!r} gives an empty file name")
    return "/".join(parts)


def check_template(template: str) -> None:
    class _P:
        id, path, capture_time, mtime, rating, camera = 1, "/x/IMG_0001.jpg", "2024-01-02T03:04:05", 0.0, 3, "Cam"

    render_name(template, _context(_P, 1, 0.5))


# ---------------------------------------------------------------------------------------------- files


def _mark_export_folder(dest: Path) -> None:
    """Leave a marker so a library scan that reaches this folder skips the exports (copies of photos
    already in the library) instead of importing them as new photos."""
    marker = dest / EXPORT_MARKER
    if marker.exists():
        return
    with contextlib.suppress(OSError):
        marker.write_text("Photos exported by PIAA Desktop. A library scan skips this folder (delete this file "
                          "to import them).\n", encoding="utf-8")


def _clean_stale_parts(dest: Path) -> None:
    """Remove temporary files a killed export left (older than a few minutes, so a running one is safe)."""
    now = time.time()
    for d in [dest, *[p for p in dest.iterdir() if p.is_dir() and not p.is_symlink()]] if dest.is_dir() else []:
        with contextlib.suppress(OSError):
            for p in d.glob(PART_PREFIX + "*.part"):
                with contextlib.suppress(OSError):
                    if now - p.stat().st_mtime > STALE_PART_SECONDS:
                        p.unlink()


def _commit_no_overwrite(tmp: Path, final: Path) -> Path:
    """Move ``tmp`` to ``final`` or the next free ``final-N``; never replaces an existing file."""
    cand = unique_path(final)
    for _ in range(10000):
        try:
            os.link(tmp, cand)
        except FileExistsError:
            cand = unique_path(final if not cand.exists() else cand)
            continue
        except OSError:
            # No hard links here (FAT/exFAT, some network shares, where exports to a card often go): claim the
            # name by creating it exclusively (fails if it exists, atomic), then rename onto our own empty
            # placeholder. A bare "exists? then rename" would replace a file appearing in between.
            try:
                fd = os.open(cand, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:
                cand = unique_path(final)
                continue
            os.close(fd)
            try:
                os.replace(tmp, cand)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(cand)
                raise
            return cand
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return cand
    raise ExportError(f"could not find a free name for {final}")


@contextlib.contextmanager
def _part_file(final: Path):
    """A temporary file beside ``final`` (hidden ``.part``); removed unless committed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=PART_PREFIX, suffix=".part", dir=final.parent)
    tmp_path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            with contextlib.suppress(OSError, AttributeError):
                os.fchmod(fh.fileno(), file_mode())
            yield fh, tmp_path
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


def _same_as_existing(final: Path, data: Optional[bytes], src_fh) -> bool:
    """Whether ``final`` already holds exactly the bytes this export would write."""
    try:
        if final.is_symlink() or not final.is_file():
            return False
        size = final.stat().st_size
        if data is not None:
            if size != len(data):
                return False
            with open_regular(final) as fh:
                return fh.read() == data
        if src_fh is None or size != os.fstat(src_fh.fileno()).st_size:
            return False
        src_fh.seek(0)
        with open_regular(final) as fh:
            while True:
                a, b = src_fh.read(1 << 20), fh.read(1 << 20)
                if a != b:
                    return False
                if not a:
                    return True
    except OSError:
        return False
    finally:
        if src_fh is not None:
            with contextlib.suppress(OSError, ValueError):
                src_fh.seek(0)


def _identical_export(final: Path, data: Optional[bytes], src_fh) -> Optional[Path]:
    """``final`` or the ``final-N`` an earlier run of the same export wrote, if it holds exactly these bytes."""
    cand, n = final, 0
    while n < 1000 and (cand.exists() or cand.is_symlink()):
        if _same_as_existing(cand, data, src_fh):
            return cand
        n += 1
        cand = final.with_name(f"{final.stem}-{n}{final.suffix}")
    return None


def _write_file(final: Path, data_writer) -> Path:
    with _part_file(final) as (fh, tmp):
        data_writer(fh)
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        return _commit_no_overwrite(tmp, final)


def jpeg_with_xmp(data: bytes, packet: bytes) -> bytes:
    """The JPEG ``data`` with its XMP APP1 segment replaced by (or given) ``packet``; pixels untouched."""
    header = b"http://ns.adobe.com/xap/1.0/\x00"
    if len(header) + len(packet) + 2 > 65535:
        raise ValueError("XMP packet too large for one JPEG segment")
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos = 2
    segments: list[tuple[int, int, int]] = []  # (marker, start, end)
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("corrupt JPEG marker stream")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # start of scan / end of image: metadata ends here
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("corrupt JPEG segment length")
        segments.append((marker, pos, end))
        pos = end
    out = bytearray(data[:2])
    inserted = False
    new_seg = b"\xff\xe1" + (len(header) + len(packet) + 2).to_bytes(2, "big") + header + packet
    leading = True
    for marker, start, end in segments:
        seg = data[start:end]
        is_xmp = marker == 0xE1 and seg[4:4 + len(header)] == header
        if is_xmp:
            continue  # replaced
        if leading and not (marker == 0xE0 or (marker == 0xE1 and seg[4:10] == b"Exif\x00\x00")):
            out += new_seg
            inserted = True
            leading = False
        out += seg
    if not inserted:
        out += new_seg
    out += data[pos:]
    return bytes(out)


def _existing_xmp(data: bytes) -> Optional[bytes]:
    header = b"http://ns.adobe.com/xap/1.0/\x00"
    i = data.find(b"\xff\xe1")
    while i != -1 and i < len(data) - 4:
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if data[i + 4 : i + 4 + len(header)] == header:
            return data[i + 4 + len(header) : i + 2 + length]
        i = data.find(b"\xff\xe1", i + 2)
    return None


def _load_develop():
    try:
        develop = importlib.import_module("piaa_desktop.core.develop")
    except ImportError as exc:
        raise ExportError(
            "exporting with edits needs piaa_desktop.core.develop, which is not available in this build; "
            "export originals instead"
        ) from exc
    if not hasattr(develop, "render_image"):
        raise ExportError("piaa_desktop.core.develop has no render_image(); export originals instead")
    return develop


def _decode_full(path: Path):
    """Full-resolution, EXIF-oriented RGB image (RAW: full demosaic, not the embedded preview)."""
    from piaa_desktop.core import imageio

    if path.suffix.lower() in imageio.RAW_EXTENSIONS:
        im = imageio._open_raw_preview(path, full=True)  # noqa: SLF001 - the full-quality RAW path
        return im.convert("RGB")
    return imageio.load_rgb(path)


def _source_metadata(path: Path) -> tuple[Optional[Any], Optional[bytes]]:
    """(Pillow Exif or None, ICC profile bytes or None) of the original."""
    from piaa_desktop.core.imageio import ImageError, open_image

    try:
        im = open_image(path)
    except ImageError:
        return None, None
    try:
        exif = None
        with contextlib.suppress(Exception):
            e = im.getexif()
            exif = e if len(e) else None
        return exif, im.info.get("icc_profile")
    finally:
        with contextlib.suppress(Exception):
            im.close()


def _exif_bytes(exif, size: tuple[int, int]) -> Optional[bytes]:
    if exif is None:
        return None
    try:
        if 0x0112 in exif:
            exif[0x0112] = 1  # the pixels are already rotated upright
        sub = exif.get_ifd(0x8769)
        if sub:
            if 0xA002 in sub:
                sub[0xA002] = int(size[0])
            if 0xA003 in sub:
                sub[0xA003] = int(size[1])
        data = exif.tobytes()
        return data if len(data) < 65000 else None  # one APP1 segment; an oversized EXIF is dropped
    except Exception:  # noqa: BLE001 - broken EXIF must not fail the export
        return None


# ---------------------------------------------------------------------------------------------- export
def export_photos(
    catalog,
    ids: Sequence[int],
    dest: os.PathLike | str,
    opts: Optional[ExportOptions] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> ExportReport:
    """Export ``ids`` (in this order: rank 1 first) to ``dest``; see the module docstring."""
    from piaa_desktop.core.sync import flush_pending

    opts = opts or ExportOptions()
    opts.validate()
    progress, cancel = ensure(progress, cancel)
    flush_pending(catalog)  # the sidecars beside the originals say what the export shows
    dest = Path(dest).expanduser()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the export folder {dest}: {exc.strerror or exc}") from exc
    if not dest.is_dir():
        raise ExportError(f"not a folder: {dest}")
    dest = dest.resolve()
    develop = _load_develop() if opts.edits else None
    _clean_stale_parts(dest)
    _mark_export_folder(dest)

    personal = catalog.scores("personal")
    generic = catalog.scores("generic")
    report = ExportReport(dest=str(dest), options=asdict(opts), started_at=time.time())
    t0 = time.perf_counter()
    ids = [int(i) for i in ids]
    total = len(ids)
    progress(0, total, "Exporting")
    try:
        for k, pid in enumerate(ids):
            rank = k + 1
            if cancel.cancelled:
                report.cancelled = True
                report.rows.extend(ExportRow(rank=r + 1, photo_id=i, status="cancelled") for r, i in enumerate(ids[k:], k))
                break
            row = _export_one(catalog, pid, rank, dest, opts, develop, personal, generic)
            report.rows.append(row)
            progress(rank, total, "Exporting")
    except _Fatal as fatal:
        report.rows.append(fatal.row)
        report.error = str(fatal)
        report.seconds = time.perf_counter() - t0
        with contextlib.suppress(Exception):
            _write_report(report, opts)
        raise ExportError(str(fatal), report) from fatal.__cause__
    report.seconds = time.perf_counter() - t0
    try:
        _write_report(report, opts)
    except OSError as exc:
        report.error = f"the report could not be written: {exc.strerror or exc}"
    if report.cancelled:
        raise ExportCancelled(report)
    return report


class _Fatal(Exception):
    def __init__(self, message: str, row: ExportRow):
        super().__init__(message)
        self.row = row


def _destination(catalog, photo, rank: int, dest: Path, opts: ExportOptions, develop, score) -> tuple[Path, Optional[dict], bool]:
    """Where a photo goes and how: (final path under the template, its edit or None, whether it is rendered
    rather than copied). ValueError (with the words for the report) when its name cannot be made."""
    rel = render_name(opts.template, _context(photo, rank, score))
    params = catalog.get_edit(photo.id) if develop is not None else None
    if params is not None and hasattr(develop, "is_identity") and develop.is_identity(params):
        params = None
    long_edge = int(opts.long_edge or 0)
    src_long = max(photo.width or 0, photo.height or 0)
    needs_resize = bool(long_edge) and (src_long == 0 or src_long > long_edge)
    render = params is not None or needs_resize or opts.reencodes
    from piaa_desktop.core import output

    final = dest / (rel + (output.FORMATS[opts.output_format] if render else Path(photo.path).suffix))
    if not is_within(final, dest):
        raise ValueError("the file name would fall outside the export folder; refused")
    return final, params, render


@dataclass
class ExportPreview:
    """What an export into a folder would do, told before it runs (:func:`preview_export`)."""

    total: int = 0
    already_there: int = 0  # an identical file is there (the export skips it)
    to_export: int = 0  # no file of its name, or a different one (written as name-N)
    name_taken: int = 0  # rendered photos whose name is taken: compared only when rendered, at export
    skipped: int = 0  # original missing, or no name can be made for it

    def describe(self, what: str = "") -> str:
        """'8 photos: 6 already there (identical files), 2 to export' (what the export dialog says before
        Export); ``what`` goes after the count ('8 photos (the best 8 …): …')."""
        n = self.total
        head = f"{n:,} photo{'s' if n != 1 else ''}" + (f" {what}" if what else "")
        parts = []
        if self.already_there:
            parts.append(("all already there" if self.already_there == n else f"{self.already_there:,} already there")
                         + " (identical files)")
        if self.to_export and self.to_export != n:
            parts.append(f"{self.to_export:,} to export")
        if self.name_taken:
            parts.append(f"{self.name_taken:,} whose name is taken by a file there (compared when exported)")
        if self.skipped:
            parts.append(f"{self.skipped:,} that cannot be exported (original missing or no name)")
        return head + (": " + ", ".join(parts) if parts else " will be exported")


def preview_export(catalog, ids: Sequence[int], dest: os.PathLike | str, opts: Optional[ExportOptions] = None,
                   progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> ExportPreview:
    """How many of ``ids`` (rank 1 first) an export into ``dest`` would find already there, decided as
    :func:`export_photos` decides, cheaply: each photo's name from the template, then only where a file of
    that name (or an earlier ``-N``) exists, its size against the original's, and the bytes only when the sizes
    agree. A photo that would be rendered (edits, resize, another format) and whose name is taken counts
    apart (its bytes exist only once rendered). Reads nothing but the catalog and the folder; writes nothing."""
    opts = opts or ExportOptions()
    progress, cancel = ensure(progress, cancel)
    ids = [int(i) for i in ids]
    out = ExportPreview(total=len(ids))
    dest = Path(dest).expanduser()
    if not dest.is_dir():  # a folder still to create holds nothing yet
        out.to_export = len(ids)
        return out
    dest = dest.resolve()
    develop = _load_develop() if opts.edits else None
    photos = {}
    for k in range(0, len(ids), 900):
        photos.update((p.id, p) for p in catalog.photos(ids[k:k + 900], include_missing=True))
    scores = catalog.scores(opts.score_kind if opts.score_kind in ("personal", "generic") else "generic")
    generic = catalog.scores("generic") if opts.score_kind == "personal" else scores
    for rank, pid in enumerate(ids, 1):
        if rank % 64 == 0:
            cancel.raise_if_cancelled()
            progress(rank, len(ids), "Checking the folder")
        photo = photos.get(pid)
        if photo is None or photo.missing or not os.path.isfile(photo.path):
            out.skipped += 1
            continue
        score = scores.get(pid)
        if score is None:
            score = generic.get(pid)
        try:
            final, _params, render = _destination(catalog, photo, rank, dest, opts, develop, score)
        except ValueError:
            out.skipped += 1
            continue
        if not (final.exists() or final.is_symlink()):
            out.to_export += 1  # nothing under its name: written (the common first export: one stat)
            continue
        if render:
            out.name_taken += 1
            continue
        if _copy_is_there(catalog, photo, final, opts):
            out.already_there += 1
        else:
            out.to_export += 1
    return out


def _copy_is_there(catalog, photo, final: Path, opts: ExportOptions) -> bool:
    """Whether the folder holds exactly what copying ``photo`` to ``final`` would write (sizes first)."""
    src = Path(photo.path)
    try:
        src_fh = open_regular(src)
    except OSError:
        return False
    with src_fh:
        if opts.embed_xmp and src.suffix.lower() in JPEG_EXTS:
            from piaa_desktop.core import xmp

            args = dict(rating=photo.rating, flag=photo.flag, color_label=photo.color_label)
            if hasattr(catalog, "photo_keywords"):
                args["keywords"] = catalog.photo_keywords(photo.id) or xmp.UNCHANGED
            raw = src_fh.read()
            try:
                data = jpeg_with_xmp(raw, xmp.packet_bytes(_existing_xmp(raw), **args))
            except ValueError:
                data = raw
            return _identical_export(final, data, None) is not None
        return _identical_export(final, None, src_fh) is not None


def _export_one(catalog, pid, rank, dest, opts, develop, personal, generic) -> ExportRow:
    from piaa_desktop.core.imageio import ImageError

    photo = catalog.photo(pid)
    row = ExportRow(rank=rank, photo_id=pid, status="failed")
    if photo is None:
        row.status, row.error = "skipped", "not in the catalog"
        return row
    row.source = photo.path
    row.rating, row.flag, row.color_label = photo.rating, photo.flag, photo.color_label
    row.personal_score, row.generic_score = personal.get(pid), generic.get(pid)
    src = Path(photo.path)
    if photo.missing or not src.is_file():
        row.status, row.error = "skipped", "original file is missing"
        return row
    score = row.personal_score if opts.score_kind == "personal" and row.personal_score is not None else row.generic_score
    try:
        final, params, render = _destination(catalog, photo, rank, dest, opts, develop, score)
    except ValueError as exc:
        row.error = str(exc)
        return row
    long_edge = int(opts.long_edge or 0)
    from piaa_desktop.core import output

    xmp_packet = None
    src_fh = None
    if opts.embed_xmp:
        from piaa_desktop.core import xmp

        xmp_args = dict(rating=photo.rating, flag=photo.flag, color_label=photo.color_label)
        if hasattr(catalog, "photo_keywords"):
            xmp_args["keywords"] = catalog.photo_keywords(pid) or xmp.UNCHANGED

    try:
        if render:
            row.method = "render"
            im = _decode_full(src)
            exif, icc = _source_metadata(src)
            if params is not None:
                im = develop.render_image(im, params)
                row.edited = True
            size = output.target_size(im.size, long_edge)
            enc = output.encode(
                im, opts.output_format, quality=int(opts.quality), color_space=opts.color_space,
                sharpening=opts.sharpening, long_edge=long_edge, src_icc=icc,
                exif=_exif_bytes(exif, size) if opts.output_format != "tiff16" else None,
                xmp=xmp.packet_bytes(None, **xmp_args) if opts.embed_xmp and opts.output_format == "jpeg" else None,
            )
            data = enc.data
            im_size = enc.size
            row.width, row.height = im_size
        else:
            row.method = "copy"
            data = None
            # non-blocking open + fstat: a FIFO or a device swapped in for the photo is refused, not waited on
            src_fh = open_regular(src)
            if opts.embed_xmp and src.suffix.lower() in JPEG_EXTS:
                with src_fh:
                    raw = src_fh.read()
                try:
                    xmp_packet = xmp.packet_bytes(_existing_xmp(raw), **xmp_args)
                    data = jpeg_with_xmp(raw, xmp_packet)
                except ValueError:
                    data = raw  # odd JPEG structure: copy it as it is
            row.width, row.height = photo.width, photo.height
    except ImageError as exc:
        row.error = f"cannot decode: {exc}"
        return row
    except MemoryError:
        row.error = "not enough memory to render this photo"
        return row
    except OSError as exc:
        row.error = f"cannot read the original: {exc.strerror or exc}"
        return row

    def writer(fh) -> None:
        if data is not None:
            fh.write(data)
        else:
            with src_fh as sfh:
                sfh.seek(0)
                shutil.copyfileobj(sfh, fh, 1024 * 1024)

    same = _identical_export(final, data, src_fh)
    if same is not None:
        # a re-run (after a killed or repeated export): the identical file is already there, not "-1" again
        if src_fh is not None:
            src_fh.close()
        row.dest = str(same)
        row.status = "already_there"
        return row
    try:
        out = _write_file(final, writer)
    except OSError as exc:
        if src_fh is not None:
            src_fh.close()
        if exc.errno in FATAL_ERRNOS:
            row.error = f"cannot write to the export folder: {exc.strerror or exc}"
            raise _Fatal(row.error, row) from exc
        row.error = f"cannot write {final.name}: {exc.strerror or exc}"
        return row
    if not is_within(out, dest):  # belt and braces: never leave a file outside the folder
        with contextlib.suppress(OSError):
            out.unlink()
        row.error = "the file name fell outside the export folder; removed"
        return row
    if row.method == "copy":
        with contextlib.suppress(OSError):
            shutil.copystat(src, out)  # keep the original's dates, as a file copy would
            os.chmod(out, file_mode())
    row.dest = str(out)
    row.status = "exported"
    if out != final:
        row.renamed_from = final.name
    return row


def _write_report(report: ExportReport, opts: ExportOptions) -> None:
    if not opts.write_report:
        return
    dest = Path(report.dest)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(report.started_at or time.time()))
    csv_path = unique_path(dest / f"piaa-export-{stamp}.csv")
    json_path = unique_path(csv_path.with_suffix(".json"))
    cols = list(ExportRow.__dataclass_fields__)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for r in report.rows:
        w.writerow(asdict(r))
    with atomic_write(csv_path, "wb") as fh:
        fh.write(buf.getvalue().encode("utf-8"))
    report.csv_path = str(csv_path)
    report.json_path = str(json_path)
    payload = {"summary": report.summary(), "options": report.options, "photos": [asdict(r) for r in report.rows]}
    with atomic_write(json_path, "wb") as fh:
        fh.write(json.dumps(payload, indent=2, ensure_ascii=False).encode("utf-8"))
    for p in (csv_path, json_path):
        with contextlib.suppress(OSError):
            os.chmod(p, file_mode())


