"""Safe image decoding and EXIF reading.

Every decode goes through :func:`open_image` / :func:`load_rgb`, which turn every way a file can be
bad (truncated, corrupt, unsupported, a decompression bomb, unreadable) into :class:`ImageError` with
a message a photographer can act on. The original file is only ever opened for reading.

Formats: JPEG, PNG, TIFF, WebP through Pillow; HEIC/HEIF through ``pillow-heif`` when installed;
camera RAW (CR2, CR3, NEF, ARW, DNG, ...) through ``rawpy`` when installed: its embedded JPEG
preview first (fast), a full demosaic when asked.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from piaa_desktop.core.fsutil import NotRegularFile, open_regular

# Largest image we decode: 200 megapixels covers every current camera (Phase One IQ4 150 MP,
# Fujifilm GFX 102 MP) and stitched panoramas of a sane size; a 20000x20000 header is refused.
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False

RASTER_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp"}
HEIF_EXTENSIONS = {".heic", ".heif"}
RAW_EXTENSIONS = {
    ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf", ".orf",
    ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mrw", ".raw",
}


# The only Pillow decoders the app ever runs (Image.open's formats= allow-list). Pillow can open ~40
# other formats (PostScript through Ghostscript, PSD, FITS, SGI, ...): a file of any other format, whatever
# its name, is refused before any decoder of those sees it. HEIF is added when pillow-heif is installed.
PIL_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP")
HEADER_BYTES = 64


class ImageError(Exception):
    """A file that cannot be used as a photo, with a human-readable reason."""


def pil_formats() -> tuple[str, ...]:
    """The ``formats=`` every ``Image.open`` of a photo passes (see :data:`PIL_FORMATS`)."""
    return PIL_FORMATS + (("HEIF",) if _heif_available() else ())


def sniff_format(header: bytes) -> Optional[str]:
    """The allowed format the first bytes of a file announce, or None (checked before any decoder runs)."""
    if header[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if header[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if header[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "WEBP"
    if header[4:8] == b"ftyp":
        return "HEIF"
    return None


def pil_open(fp) -> Image.Image:
    """``Image.open`` restricted to the allowed formats: the one place the app opens photos with Pillow."""
    return Image.open(fp, formats=pil_formats())


# ---------------------------------------------------------------------------------------------- memory
# Bytes a pixel takes in Pillow's own storage, by mode (RGB, RGBA, CMYK, YCbCr... use 4).
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 4, "PA": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}


def decode_bytes(im: Image.Image, orientation: Optional[int] = None) -> int:
    """Memory a full decode of ``im`` to RGB takes at its peak, from the header alone (bytes): the
    decoded pixels, plus the copies :func:`load_rgb` makes on the way (a 16-bit or float image goes
    through float64 and uint8 arrays, an alpha image through RGBA and a white background, any other
    mode through an RGB copy, a rotation through one more RGB image)."""
    w, h = im.size
    mode = im.mode
    per = _BYTES_PER_PIXEL.get(mode, 4)
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        per += 8 + 1 + 4
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        per += 4 + 4
    elif mode != "RGB":
        per += 4
    if orientation and orientation != 1:
        per += 4
    return int(w) * int(h) * per


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 8 << 30


def _default_budget() -> int:
    env = os.environ.get("PIAA_DECODE_BUDGET_MB")
    if env:
        with contextlib.suppress(ValueError):
            return max(64, int(env)) << 20
    return int(min(max(_physical_memory() * 0.3, 1 << 30), 8 << 30))


def _fmt_bytes(n: int) -> str:
    return f"{n / (1 << 30):.1f} GB" if n >= 1 << 30 else f"{max(1, round(n / (1 << 20)))} MB"


def _load_trim():
    """glibc's ``malloc_trim`` (None elsewhere): memory freed by one decode thread otherwise stays in that
    thread's malloc arena, so with 8 workers the process keeps 8 decodes' worth of memory."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL("libc.so.6").malloc_trim
        fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
        return fn
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_trim()
_TRIM_ABOVE = 32 << 20  # give memory back to the system after decodes larger than this


class MemoryBudget:
    """Process-wide accounting of the memory full decodes take: decode workers reserve their estimate
    first; one that does not fit waits until others finish, one larger than the whole budget is refused.
    """

    def __init__(self, total: int):
        self.total = int(total)
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, nbytes: int):
        nbytes = max(0, int(nbytes))
        if nbytes > self.total:
            raise ImageError(
                f"image too large to decode in memory: it needs about {_fmt_bytes(nbytes)}, more than the "
                f"{_fmt_bytes(self.total)} set aside for decoding (PIAA_DECODE_BUDGET_MB raises it)"
            )
        with self._cond:
            while self.used + nbytes > self.total:
                self._cond.wait()
            self.used += nbytes
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            if nbytes > _TRIM_ABOVE and _MALLOC_TRIM is not None:
                _MALLOC_TRIM(0)  # the decode's buffers are free now: return them, not only to this thread
            with self._cond:
                self.used -= nbytes
                self._cond.notify_all()


DECODE_BUDGET = MemoryBudget(_default_budget())


def _heif_available() -> bool:
    try:
        import pillow_heif  # noqa: F401

        pillow_heif.register_heif_opener()
        return True
    except Exception:
        return False


def raw_available() -> bool:
    try:
        import rawpy  # noqa: F401

        return True
    except Exception:
        return False


def supported_extensions() -> set[str]:
    exts = set(RASTER_EXTENSIONS)
    if _heif_available():
        exts |= HEIF_EXTENSIONS
    if raw_available():
        exts |= RAW_EXTENSIONS
    return exts


def is_candidate(path: os.PathLike | str) -> bool:
    """Files the scanner looks at: every image extension we know, decodable here or not.

    RAW and HEIC files are listed even without their decoder, so the user sees why they were skipped.
    """
    ext = os.path.splitext(str(path))[1].lower()
    return ext in RASTER_EXTENSIONS or ext in HEIF_EXTENSIONS or ext in RAW_EXTENSIONS


@dataclass
class ExifInfo:
    capture_time: Optional[str] = None
    camera: Optional[str] = None
    lens: Optional[str] = None
    iso: Optional[int] = None
    shutter: Optional[float] = None
    aperture: Optional[float] = None
    focal_length: Optional[float] = None
    orientation: Optional[int] = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _reason(exc: BaseException, path: Path) -> str:
    if isinstance(exc, Image.DecompressionBombError) or "decompression bomb" in str(exc).lower():
        return f"image too large to decode safely (over {MAX_PIXELS // 1_000_000} megapixels)"
    if isinstance(exc, PermissionError):
        return "permission denied: the file cannot be read"
    if isinstance(exc, FileNotFoundError):
        return "file not found (moved or deleted during import)"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, UnidentifiedImageError):
        try:
            if path.stat().st_size == 0:
                return "empty file (0 bytes)"
        except OSError:
            pass
        return "not a recognised image (corrupt, or the extension does not match the content)"
    msg = str(exc)
    if "decompressed data too large" in msg.lower() or "too much memory used in text chunks" in msg.lower():
        return ("PNG with an oversized text (metadata) block: over 1 MB of compressed text is refused as unsafe, "
                "so this file is skipped")
    if "truncated" in msg.lower() or "premature end" in msg.lower() or "image file is truncated" in msg:
        return "file is truncated (incomplete copy or download)"
    if isinstance(exc, (SyntaxError, ValueError, EOFError, OSError)):
        return f"corrupt image data: {msg or type(exc).__name__}"
    return f"cannot decode: {type(exc).__name__}: {msg}"


def _check_size(im: Image.Image) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError("image has no pixels")
    if w * h > MAX_PIXELS:
        raise ImageError(f"image too large to decode safely ({w}x{h}, over {MAX_PIXELS // 1_000_000} megapixels)")


def _require_regular_file(path: Path) -> None:
    """Refuse (at once, never blocking) a FIFO, device or socket before a decoder that opens paths itself."""
    try:
        with open_regular(path):
            pass
    except NotRegularFile as exc:
        raise ImageError(str(exc)) from exc
    except OSError as exc:
        raise ImageError(_reason(exc, path)) from exc


def open_image(path: os.PathLike | str, raw_min_edge: Optional[int] = None) -> Image.Image:
    """Open (header only, lazily) a raster image; raises :class:`ImageError` with a clear reason."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in RAW_EXTENSIONS:
        _require_regular_file(path)
        return _open_raw_preview(path, min_edge=raw_min_edge or RAW_PREVIEW_MIN_EDGE)
    if ext in HEIF_EXTENSIONS and not _heif_available():
        raise ImageError("HEIC/HEIF needs the optional 'pillow-heif' package")
    fh = None
    try:
        # Non-blocking open + fstat (a FIFO or /dev/zero swapped in after the walk is refused, not
        # waited on), then the header: only a file that announces an allowed format reaches Pillow.
        fh = open_regular(path)
        header = fh.read(HEADER_BYTES)
        if not header:
            raise ImageError("empty file (0 bytes)")
        if sniff_format(header) is None:
            raise ImageError("not a recognised image (corrupt, or the extension does not match the content)")
        fh.seek(0)
        with warnings.catch_warnings():
            # Between 1x and 2x MAX_PIXELS Pillow only warns; _check_size turns that into a refusal.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = pil_open(fh)
        im._exclusive_fp = True  # noqa: SLF001 - ours: Pillow closes it after load() as for a path
        fh = None
        _check_size(im)
        return im
    except ImageError:
        raise
    except NotRegularFile as exc:
        raise ImageError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reason
        raise ImageError(_reason(exc, path)) from exc
    finally:
        if fh is not None:
            fh.close()


# An embedded RAW preview at least this large stands in for the photo (thumbnail, embedding, the loupe's
# first look): reading it takes milliseconds where a demosaic takes a second. Smaller ones (old cameras
# embed 160 px thumbnails) are replaced by a half-size decode; full demosaic only for a 100 % view.
RAW_PREVIEW_MIN_EDGE = 512


def _libraw_message(exc: BaseException) -> str:
    msg = exc.args[0] if exc.args else ""
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return str(msg) or type(exc).__name__


def _raw_reason(exc: BaseException, stage: str) -> str:
    """A plain reason for a RAW file LibRaw could not open (``stage`` "open") or decode ("decode")."""
    name = type(exc).__name__
    detail = _libraw_message(exc)
    if isinstance(exc, MemoryError) or name == "LibRawMemoryError":
        return "not enough memory to decode this RAW file"
    if name in ("LibRawFileUnsupportedError", "LibRawUnspecifiedError") and stage == "open":
        return f"not a RAW file this version of LibRaw can read (unsupported camera or damaged file; LibRaw: {detail})"
    if name in ("LibRawIOError", "LibRawDataError", "LibRawRequestForNonexistentImageError"):
        return f"RAW image data cannot be decoded: the file is truncated or damaged (LibRaw: {detail})"
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return _reason(exc, Path("."))
    return f"cannot decode RAW file (LibRaw: {name}: {detail})"


def _raw_embedded_preview(raw, rawpy) -> Optional[Image.Image]:
    """The camera's embedded preview (JPEG or bitmap), or None when there is none or it is unreadable."""
    try:
        thumb = raw.extract_thumb()
    except Exception:  # noqa: BLE001 - no thumbnail, an unsupported or a damaged one: decode the raw instead
        return None
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            im = Image.open(io.BytesIO(thumb.data), formats=("JPEG",))
            _check_size(im)
            im.load()
            return im
        if thumb.format == rawpy.ThumbFormat.BITMAP:
            arr = np.asarray(thumb.data)
            if arr.ndim == 3 and arr.shape[2] >= 3 and arr.size:
                return Image.fromarray(np.ascontiguousarray(arr[..., :3]).astype(np.uint8))
    except Exception:  # noqa: BLE001 - a broken preview is no reason to lose the photo
        return None
    return None


def _open_raw_preview(path: Path, full: bool = False, min_edge: int = RAW_PREVIEW_MIN_EDGE) -> Image.Image:
    """A camera RAW file as a Pillow image: its embedded preview when it is large enough (long edge
    ``min_edge``, or at least what a half-size decode would give), else a half-size decode; ``full``
    demosaics at full size.

    A file whose raw data cannot be decoded (truncated, damaged) but whose preview can is returned from
    its preview (``info["raw_note"]`` says so); one with neither raises :class:`ImageError` with a plain
    reason. ``info["raw_size"]`` is the photo's full size (oriented), ``info["raw_format"]`` its type."""
    try:
        import rawpy
    except ImportError as exc:
        raise ImageError("camera RAW needs the 'rawpy' package, which is missing: reinstall PIAA Desktop") from exc
    try:
        raw = rawpy.imread(str(path))
    except Exception as exc:  # noqa: BLE001 - LibRaw's errors become a reason
        raise ImageError(_raw_reason(exc, "open")) from exc
    with raw:
        try:
            sz = raw.sizes
            w, h = int(sz.width), int(sz.height)
            if sz.flip in (5, 6):
                w, h = h, w
        except Exception:  # noqa: BLE001
            w = h = 0
        fmt = path.suffix.lstrip(".").upper() or "RAW"
        preview = None if full else _raw_embedded_preview(raw, rawpy)
        if preview is not None and (max(preview.size) >= min_edge or (w and h and 2 * max(preview.size) >= max(w, h))):
            preview.info.update(raw_size=(w, h) if w and h else preview.size, raw_format=fmt, raw_source="preview")
            return preview
        if w * h > MAX_PIXELS:
            raise ImageError(f"image too large to decode safely ({w}x{h}, over {MAX_PIXELS // 1_000_000} megapixels)")
        try:
            # LibRaw holds the raw (2 B/px) and a 4-channel 16-bit image (8 B/px), then the output
            with DECODE_BUDGET.reserve(w * h * (14 if full else 5)):
                rgb = raw.postprocess(use_camera_wb=True, output_bps=8, half_size=not full)
        except ImageError:
            raise
        except Exception as exc:  # noqa: BLE001
            reason = _raw_reason(exc, "decode")
            if preview is not None and not full:
                preview.info.update(raw_size=preview.size, raw_format=fmt, raw_source="preview",
                                    raw_note=f"imported from its embedded preview ({preview.size[0]}x{preview.size[1]}): {reason}")
                return preview
            if full:
                raise ImageError(reason) from exc
            raise ImageError(reason + "; it has no embedded preview to fall back on") from exc
        im = Image.fromarray(rgb)
        im.info.update(raw_size=(w, h) if w and h else im.size, raw_format=fmt, raw_source="full" if full else "half")
        return im


def load_rgb(
    path: os.PathLike | str, max_size: Optional[int] = None, orient: bool = True,
    raw_min_edge: Optional[int] = None,
) -> Image.Image:
    """Decode to an RGB Pillow image, EXIF-oriented, at most ``max_size`` px on the long edge.

    JPEGs use Pillow's draft mode, so a thumbnail of a 24 MP file decodes at 1/2, 1/4 or 1/8 scale.
    A camera RAW file gives its embedded preview when its long edge reaches ``raw_min_edge`` (default
    ``RAW_PREVIEW_MIN_EDGE``: enough for thumbnails; the loupe asks for more), else a half-size decode.
    """
    path = Path(path)
    im = open_image(path, raw_min_edge=raw_min_edge)
    try:
        if max_size and im.format == "JPEG":
            im.draft("RGB", (max_size, max_size))
        # Reserved before the EXIF is read: Pillow decodes a whole PNG to look for its eXIf chunk.
        with DECODE_BUDGET.reserve(decode_bytes(im, 6 if orient else None)):
            exif_orientation = None
            if orient:
                try:
                    exif_orientation = _valid_orientation(im.getexif().get(0x0112))
                except Exception:  # noqa: BLE001 - broken EXIF must not lose the photo
                    exif_orientation = None
            out = _decode_rgb(im, exif_orientation, max_size)
            if out is not im:
                im.close()  # the full-size pixels are freed inside the reservation, not after it
            return out
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ImageError(_reason(exc, path)) from exc


def _decode_rgb(im: Image.Image, exif_orientation: Optional[int], max_size: Optional[int]) -> Image.Image:
    """The decode proper of :func:`load_rgb` (inside its memory reservation)."""
    im.load()
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = Image.fromarray(_high_depth_to_uint8(np.asarray(im), im.mode)).convert("RGB")
    elif im.mode == "RGBA" or im.mode == "LA" or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.split()[-1])
        im = bg
    elif im.mode != "RGB":
        im = im.convert("RGB")
    if exif_orientation and exif_orientation != 1:
        im = _apply_orientation(im, exif_orientation)
    if max_size and max(im.size) > max_size:
        im.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    return im


def load_full_rgb(path: os.PathLike | str) -> Image.Image:
    """The photo at full resolution (a view at 100 %): a camera RAW file is demosaiced, not read from its
    embedded preview; other formats as :func:`load_rgb` without a size limit. Raises :class:`ImageError`."""
    path = Path(path)
    if path.suffix.lower() in RAW_EXTENSIONS:
        im = _open_raw_preview(path, full=True)
        _check_size(im)
        return im if im.mode == "RGB" else im.convert("RGB")
    return load_rgb(path)


def _high_depth_to_uint8(arr: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit integer and float single-channel pixels as 0-255 (a 32-bit TIFF was black)."""
    if mode.startswith("I;16"):
        return np.clip(arr.astype(np.float32) / 257.0, 0, 255).astype(np.uint8)
    if mode == "I" and arr.dtype.kind == "i" and arr.size and arr.min() < 0:
        arr = arr.view(np.uint32)  # unsigned 32-bit samples Pillow holds as signed
    a = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode == "I" and lo >= 0 and hi <= 65535:
        scale = 257.0  # 16-bit samples in a 32-bit mode (16-bit PNG)
    elif mode == "F" and lo >= 0 and hi <= 1.0:
        scale = 1.0 / 255.0  # the usual 0-1 float convention
    else:
        lo = min(lo, 0.0)
        scale = (hi - lo) / 255.0 if hi > lo else 1.0
        a = a - lo
    return np.clip(a / scale, 0, 255).astype(np.uint8)


_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _valid_orientation(value) -> Optional[int]:
    """The EXIF orientation if it is one of the 8 defined values (corrupt EXIF can hold anything)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8 else None


def _apply_orientation(im: Image.Image, orientation: int) -> Image.Image:
    for op in _TRANSPOSE.get(orientation, []):
        im = im.transpose(op)
    return im


def _ratio(v) -> Optional[float]:
    try:
        if isinstance(v, tuple) and len(v) == 2:
            return float(v[0]) / float(v[1]) if v[1] else None
        f = float(v)
        return f if np.isfinite(f) else None
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _text(v) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    s = str(v).replace("\x00", "").strip()
    return s or None


def read_exif(im: Image.Image) -> ExifInfo:
    """The EXIF fields the catalog keeps. Broken EXIF gives empty fields, never an exception."""
    info = ExifInfo()
    if im.format == "PNG" and "exif" not in im.info:
        return info  # no eXIf chunk before the pixels: looking further means decoding the whole image
    try:
        exif = im.getexif()
    except Exception:  # noqa: BLE001
        return info
    try:
        ifd = exif.get_ifd(0x8769)
    except Exception:  # noqa: BLE001
        ifd = {}
    try:
        make = _text(exif.get(0x010F))
        model = _text(exif.get(0x0110))
        if model and make and not model.lower().startswith(make.split()[0].lower()):
            info.camera = f"{make} {model}"
        else:
            info.camera = model or make
        dt = _text(ifd.get(0x9003) or exif.get(0x0132))
        if dt and len(dt) >= 19 and dt[4] == ":":
            info.capture_time = dt[:4] + "-" + dt[5:7] + "-" + dt[8:10] + "T" + dt[11:19]
        elif dt:
            info.capture_time = dt
        info.lens = _text(ifd.get(0xA434))
        iso = ifd.get(0x8827)
        if isinstance(iso, (tuple, list)):
            iso = iso[0] if iso else None
        info.iso = int(iso) if isinstance(iso, (int, float)) and iso > 0 else None
        info.shutter = _ratio(ifd.get(0x829A))
        info.aperture = _ratio(ifd.get(0x829D))
        info.focal_length = _ratio(ifd.get(0x920A))
        info.orientation = _valid_orientation(exif.get(0x0112))
    except Exception:  # noqa: BLE001 - corrupted EXIF: keep what was parsed
        pass
    return info


def oriented_size(im: Image.Image, orientation: Optional[int]) -> tuple[int, int]:
    w, h = im.size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)

