"""Export output: file format, colour space (ICC profiles), output sharpening and encoding.

* **Formats**: JPEG (quality 1-100), PNG (8 bits, lossless) and **16-bit TIFF** (uncompressed RGB,
  16 bits per channel, written by :func:`tiff16_bytes`: Pillow has no 48-bit RGB mode). The develop
  step renders at 8 bits; resizing, sharpening and the colour conversion run in 32-bit float, so a
  16-bit TIFF keeps the smooth gradations they produce.
* **Colour spaces**: sRGB (Pillow's ImageCms/LittleCMS built-in profile), **Display P3** and **Adobe RGB
  (1998)**. The two wide-gamut profiles are generated here as ICC v2 matrix/TRC display profiles from
  their published definitions, not copied from anywhere:

  - Display P3: DCI-P3 primaries R(0.680, 0.320) G(0.265, 0.690) B(0.150, 0.060), white D65
    (0.3127, 0.3290), the sRGB tone curve (IEC 61966-2-1), as Apple defines it;
  - Adobe RGB (1998): primaries R(0.64, 0.33) G(0.21, 0.71) B(0.15, 0.06), white D65, gamma 563/256
    (2.19921875), per Adobe's specification.

  The colorant tags are the RGB->XYZ matrix adapted from D65 to the D50 connection space with the
  Bradford transform (as ICC requires). A test checks LittleCMS reads them and agrees with the
  conversion done here. Pixels are converted from the original's profile (sRGB when it has none) by
  LittleCMS at 8 bits when the original has another embedded profile, otherwise in float from sRGB.
  "As the original" (``color_space=None``) keeps the original's profile and pixels unconverted.
* **Output sharpening** (unsharp mask in linear-ish float, after resizing): ``screen`` (radius 0.6 px,
  amount 0.5) for images seen at 100 % on a display, ``print`` (radius 1.2 px, amount 1.0): paper and
  ink soften detail, so print needs a wider, stronger mask.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Optional

import numpy as np

FORMATS = {"jpeg": ".jpg", "png": ".png", "tiff16": ".tif"}
FORMAT_LABELS = {"original": "As the original (copy when nothing changes)", "jpeg": "JPEG", "png": "PNG (8-bit)",
                 "tiff16": "TIFF (16-bit)"}
COLOR_SPACES = {"srgb": "sRGB", "display-p3": "Display P3", "adobe-rgb": "Adobe RGB (1998)"}
SHARPEN = {"none": None, "screen": (0.6, 0.5, 0.0), "print": (1.2, 1.0, 0.0)}  # sigma px, amount, threshold

D65 = (0.3127, 0.3290)
D50_XYZ = np.array([0.9642, 1.0, 0.8249])
_PRIMARIES = {
    "srgb": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "adobe-rgb": ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060)),
}
_GAMMA = {"adobe-rgb": 563 / 256}  # the others use the sRGB curve
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def _xyz(xy) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz_matrix(space: str) -> np.ndarray:
    """Linear RGB -> XYZ (white D65, Y of white = 1) from the primaries."""
    prim = np.stack([_xyz(p) for p in _PRIMARIES[space]], axis=1)
    s = np.linalg.solve(prim, _xyz(D65))
    return prim * s


def _adapt_d65_to_d50() -> np.ndarray:
    src = _BRADFORD @ _xyz(D65)
    dst = _BRADFORD @ D50_XYZ
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


def _encode(space: str, lin: np.ndarray) -> np.ndarray:
    g = _GAMMA.get(space)
    if g is None:
        return srgb_encode(lin)
    return np.power(np.clip(lin, 0.0, 1.0), 1 / g)


def convert_from_srgb(rgb: np.ndarray, space: str) -> np.ndarray:
    """Float sRGB (H, W, 3) in 0-1 -> the same colours in ``space`` (relative colorimetric, clipped)."""
    if space == "srgb":
        return np.clip(rgb, 0.0, 1.0)
    m = np.linalg.solve(rgb_to_xyz_matrix(space), rgb_to_xyz_matrix("srgb")).astype(np.float32)
    lin = srgb_decode(np.clip(rgb, 0.0, 1.0)).astype(np.float32)
    return _encode(space, lin @ m.T).astype(np.float32)


# ---------------------------------------------------------------------------------------------- ICC
def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in xyz)


def _desc_tag(text: str) -> bytes:
    a = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + b"\0" * 4 + b"\0" * 4 + b"\0" * 2 + b"\0" + b"\0" * 67


def _text_tag(text: str) -> bytes:
    return b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"


def _curve_tag(space: str) -> bytes:
    g = _GAMMA.get(space)
    if g is not None:
        return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(round(g * 256)))
    n = 1024
    x = np.linspace(0.0, 1.0, n)
    table = np.round(srgb_decode(x) * 65535).astype(">u2")
    return b"curv" + b"\0" * 4 + struct.pack(">I", n) + table.tobytes()


def icc_profile(space: str) -> bytes:
    """An ICC v2 display profile (matrix/TRC) for ``space`` ('srgb' comes from LittleCMS instead)."""
    if space == "srgb":
        from PIL import ImageCms

        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if space not in _PRIMARIES:
        raise ValueError(f"unknown colour space {space!r}; choose one of {', '.join(COLOR_SPACES)}")
    m = _adapt_d65_to_d50() @ rgb_to_xyz_matrix(space)
    curve = _curve_tag(space)
    tags = [
        (b"desc", _desc_tag(COLOR_SPACES[space])),
        (b"cprt", _text_tag("No copyright: generated by PIAA Desktop from the published primaries")),
        (b"wtpt", _xyz_tag(D50_XYZ)),
        (b"rXYZ", _xyz_tag(m[:, 0])),
        (b"gXYZ", _xyz_tag(m[:, 1])),
        (b"bXYZ", _xyz_tag(m[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    entries, blobs, placed = [], [], {}
    for sig, data in tags:
        if data in placed:  # the three curves share one copy
            entries.append((sig, placed[data], len(data)))
            continue
        pad = (-offset) % 4
        blobs.append(b"\0" * pad)
        offset += pad
        placed[data] = offset
        entries.append((sig, offset, len(data)))
        blobs.append(data)
        offset += len(data)
    size = offset + ((-offset) % 4)
    body = b"".join(blobs)
    body += b"\0" * (size - 128 - table_len - len(body))
    header = (
        struct.pack(">I", size) + b"\0\0\0\0" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
        + struct.pack(">I", 0) + b"".join(_s15(v) for v in D50_XYZ) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28
    )
    assert len(header) == 128
    table = struct.pack(">I", len(tags)) + b"".join(struct.pack(">4sII", s, o, n) for s, o, n in entries)
    return header + table + body


# ---------------------------------------------------------------------------------------------- pixels
def to_float(im) -> np.ndarray:
    """A PIL RGB image as float32 (H, W, 3) in 0-1."""
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def resize_float(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Lanczos resize of a float image, channel by channel in Pillow's 32-bit float mode."""
    from PIL import Image

    out = [np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., c]), "F").resize(size, Image.Resampling.LANCZOS))
           for c in range(3)]
    return np.clip(np.stack(out, axis=-1), 0.0, 1.0)


def sharpen(rgb: np.ndarray, kind: str) -> np.ndarray:
    """Output sharpening: an unsharp mask for ``screen`` or ``print`` (``none`` returns the input)."""
    if kind not in SHARPEN:
        raise ValueError(f"unknown sharpening {kind!r}; choose one of {', '.join(SHARPEN)}")
    spec = SHARPEN[kind]
    if spec is None:
        return rgb
    from scipy.ndimage import gaussian_filter

    sigma, amount, threshold = spec
    blur = gaussian_filter(rgb, sigma=(sigma, sigma, 0), mode="nearest")
    detail = rgb - blur
    if threshold:
        detail = np.where(np.abs(detail) < threshold, 0.0, detail)
    return np.clip(rgb + amount * detail, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------- files
def tiff16_bytes(rgb: np.ndarray, icc: Optional[bytes] = None, dpi: int = 300) -> bytes:
    """A baseline TIFF: uncompressed, RGB, 16 bits per channel, one strip, optional ICC profile (tag 34675)."""
    h, w, _ = rgb.shape
    data = (np.clip(rgb, 0.0, 1.0) * 65535.0 + 0.5).astype("<u2").tobytes()
    if len(data) >= 2**32 - 2**20:
        raise ValueError("image too large for a single-strip TIFF (4 GB)")
    entries: list[tuple[int, int, int, bytes]] = []  # tag, type, count, value bytes

    def short(tag, *v):
        entries.append((tag, 3, len(v), struct.pack(f"<{len(v)}H", *v)))

    def long_(tag, *v):
        entries.append((tag, 4, len(v), struct.pack(f"<{len(v)}I", *v)))

    def rational(tag, num, den):
        entries.append((tag, 5, 1, struct.pack("<II", num, den)))

    long_(256, w)
    long_(257, h)
    short(258, 16, 16, 16)
    short(259, 1)
    short(262, 2)
    long_(273, 0)  # strip offset, patched below
    short(277, 3)
    long_(278, h)
    long_(279, len(data))
    rational(282, dpi, 1)
    rational(283, dpi, 1)
    short(284, 1)
    short(296, 2)
    sw = b"PIAA Desktop\0"
    entries.append((305, 2, len(sw), sw))
    if icc:
        entries.append((34675, 7, len(icc), icc))
    entries.sort(key=lambda e: e[0])
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    extra_offset = ifd_offset + ifd_size
    extra = b""
    packed = []
    strip_entry = None
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            packed.append([tag, typ, count, value.ljust(4, b"\0"), None])
        else:
            if (extra_offset + len(extra)) % 2:
                extra += b"\0"
            off = extra_offset + len(extra)
            extra += value
            packed.append([tag, typ, count, struct.pack("<I", off), None])
        if tag == 273:
            strip_entry = packed[-1]
    data_offset = extra_offset + len(extra)
    data_offset += data_offset % 2
    strip_entry[3] = struct.pack("<I", data_offset)
    out = io.BytesIO()
    out.write(b"II*\0" + struct.pack("<I", ifd_offset))
    out.write(struct.pack("<H", len(packed)))
    for tag, typ, count, value, _ in packed:
        out.write(struct.pack("<HHI", tag, typ, count) + value)
    out.write(struct.pack("<I", 0))
    out.write(extra)
    if out.tell() < data_offset:
        out.write(b"\0" * (data_offset - out.tell()))
    out.write(data)
    return out.getvalue()


@dataclass
class Encoded:
    data: bytes
    ext: str
    size: tuple[int, int]


def _is_srgb_profile(icc: Optional[bytes]) -> bool:
    if not icc:
        return True
    try:
        from PIL import ImageCms

        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))) or ""
    except Exception:  # noqa: BLE001 - an unreadable profile: treat the pixels as sRGB
        return True
    return "srgb" in desc.lower().replace(" ", "").replace("-", "")


def to_srgb(im, icc: Optional[bytes]):
    """An 8-bit image in its embedded profile converted to sRGB by LittleCMS (unchanged when already sRGB)."""
    if _is_srgb_profile(icc):
        return im
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(im.convert("RGB"), src, dst, outputMode="RGB")
    except Exception:  # noqa: BLE001 - a broken profile: keep the pixels as they are
        return im


def target_size(size: tuple[int, int], long_edge: int = 0) -> tuple[int, int]:
    """The size after fitting the long edge into ``long_edge`` (0: unchanged; never enlarged)."""
    w, h = size
    if not long_edge or max(w, h) <= long_edge:
        return (w, h)
    scale = long_edge / max(w, h)
    return (max(1, round(w * scale)), max(1, round(h * scale)))


def encode(im, fmt: str, quality: int = 92, color_space: Optional[str] = None, sharpening: str = "none",
           long_edge: int = 0, src_icc: Optional[bytes] = None, exif: Optional[bytes] = None,
           xmp: Optional[bytes] = None) -> Encoded:
    """Resize (float Lanczos), sharpen, convert colours and encode a rendered 8-bit PIL image."""
    from PIL import Image

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if color_space is not None and color_space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {color_space!r}; choose one of {', '.join(COLOR_SPACES)}")
    if color_space is not None:
        im = to_srgb(im, src_icc)
        icc = icc_profile(color_space)
    else:
        icc = src_icc
    if fmt != "tiff16" and sharpening == "none" and color_space in (None, "srgb"):
        # nothing to do in float: resize and encode the 8-bit image directly (less memory, as fast as before)
        size = target_size(im.size, long_edge)
        out8 = im.convert("RGB")
        if size != out8.size:
            out8 = out8.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return _save8(out8, fmt, quality, icc, exif, xmp)
    rgb = to_float(im)
    size = target_size((rgb.shape[1], rgb.shape[0]), long_edge)
    if size != (rgb.shape[1], rgb.shape[0]):
        rgb = resize_float(rgb, size)
    rgb = sharpen(rgb, sharpening)
    if color_space is not None and color_space != "srgb":
        rgb = convert_from_srgb(rgb, color_space)
    h, w = rgb.shape[:2]
    if fmt == "tiff16":
        return Encoded(tiff16_bytes(rgb, icc), FORMATS[fmt], (w, h))
    out8 = Image.fromarray((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")
    return _save8(out8, fmt, quality, icc, exif, xmp)


def _save8(out8, fmt: str, quality: int, icc: Optional[bytes], exif: Optional[bytes], xmp: Optional[bytes]) -> Encoded:
    buf = io.BytesIO()
    kw: dict = {}
    if icc:
        kw["icc_profile"] = icc
    if exif:
        kw["exif"] = exif
    if fmt == "jpeg":
        q = int(quality)
        kw.update(quality=q, subsampling=0 if q >= 90 else 2)
        if xmp:
            kw["xmp"] = xmp
        out8.save(buf, "JPEG", **kw)
    else:
        out8.save(buf, "PNG", **kw)
    return Encoded(buf.getvalue(), FORMATS[fmt], out8.size)
