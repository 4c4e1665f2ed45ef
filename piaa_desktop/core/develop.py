"""Non-destructive global adjustments: the develop pipeline shared by the editor, export and the enhancer.

An edit is a JSON dict ``{name: value}`` over :data:`PARAMS` (missing names take their default). One
numpy pipeline renders it:

1. **Per-channel tone stage** (one 1-D look-up table per channel, so it costs two gathers per pixel):
   sRGB -> linear, white balance (temperature, tint) and exposure as linear gains, back to the sRGB
   curve, then the tone controls in display space: blacks and whites (levels), shadows and highlights
   (smooth bumps around 1/3 and 2/3), contrast (an S-curve pivoting at mid-grey) and a three-point
   tone curve (darks, midtones, lights).
2. **Colour stage** (per pixel): saturation scales chroma around luma; vibrance scales it more where
   the pixel is still dull.

Geometry comes **before** the tone stage (tone is per pixel, so the order does not change the result and
cropping first renders fewer pixels): a horizontal flip, quarter turns, straighten (a rotation about
the centre, the canvas keeps its size) and a crop rectangle in fractions of the straightened canvas,
automatically kept inside the rotated photo (no empty corners). See :func:`apply_geometry`.

One registry (:data:`REGISTRY`) lists every parameter with its group: ``tone``, ``colour`` and
``geometry``. Adding a slider is one line there. :data:`PARAMS` (tone and colour) is what the enhancer
learns and fits; geometry parameters are never part of its vectors (:func:`params_to_vector`).

Everything is vectorised; the screen-sized proxy renders in a few milliseconds and the full-resolution
export runs in horizontal strips on a small thread pool straight from and to ``uint8``.

Also here: sRGB <-> CIELAB, a vectorised CIEDE2000, PSNR, and :func:`fit_params` (least squares fit of
the parameters that take one image to another, used to turn a user's retouch into training targets).
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    min: float
    max: float
    default: float
    step: float
    group: str = "tone"  # "tone", "colour" or "geometry" (the enhancer ignores geometry)
    slider: bool = True  # the develop panel shows a slider for it (crop, turns and flip have tools)

    def clamp(self, v: float) -> float:
        return float(min(self.max, max(self.min, v)))


REGISTRY: tuple[Param, ...] = (
    Param("exposure", "Exposure", -3.0, 3.0, 0.0, 0.05),
    Param("contrast", "Contrast", -100.0, 100.0, 0.0, 1.0),
    Param("highlights", "Highlights", -100.0, 100.0, 0.0, 1.0),
    Param("shadows", "Shadows", -100.0, 100.0, 0.0, 1.0),
    Param("whites", "Whites", -100.0, 100.0, 0.0, 1.0),
    Param("blacks", "Blacks", -100.0, 100.0, 0.0, 1.0),
    Param("temperature", "Temperature", -100.0, 100.0, 0.0, 1.0, "colour"),
    Param("tint", "Tint", -100.0, 100.0, 0.0, 1.0, "colour"),
    Param("saturation", "Saturation", -100.0, 100.0, 0.0, 1.0, "colour"),
    Param("vibrance", "Vibrance", -100.0, 100.0, 0.0, 1.0, "colour"),
    Param("curve_darks", "Curve: darks", -100.0, 100.0, 0.0, 1.0),
    Param("curve_midtones", "Curve: midtones", -100.0, 100.0, 0.0, 1.0),
    Param("curve_lights", "Curve: lights", -100.0, 100.0, 0.0, 1.0),
    # geometry: applied before tone, in this order: flip, quarter turns, straighten, crop
    Param("flip", "Flip horizontal", 0.0, 1.0, 0.0, 1.0, "geometry", slider=False),
    Param("rotate", "Rotate (quarter turns clockwise)", 0.0, 3.0, 0.0, 1.0, "geometry", slider=False),
    Param("angle", "Straighten", -45.0, 45.0, 0.0, 0.1, "geometry"),  # degrees, + turns the photo clockwise
    Param("crop_left", "Crop left", 0.0, 1.0, 0.0, 0.001, "geometry", slider=False),
    Param("crop_top", "Crop top", 0.0, 1.0, 0.0, 0.001, "geometry", slider=False),
    Param("crop_right", "Crop right", 0.0, 1.0, 1.0, 0.001, "geometry", slider=False),
    Param("crop_bottom", "Crop bottom", 0.0, 1.0, 1.0, 0.001, "geometry", slider=False),
)
REGISTRY_BY_NAME: dict[str, Param] = {p.name: p for p in REGISTRY}
# What the enhancer learns and fit_params fits: tone and colour, never geometry.
PARAMS: tuple[Param, ...] = tuple(p for p in REGISTRY if p.group != "geometry")
GEOMETRY_PARAMS: tuple[Param, ...] = tuple(p for p in REGISTRY if p.group == "geometry")
GEOMETRY_NAMES: tuple[str, ...] = tuple(p.name for p in GEOMETRY_PARAMS)
PARAM_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMS)
PARAM_BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
# A natural scale for each parameter (half its range): optimisers and the enhancer work in these units.
PARAM_SCALE = np.array([(p.max - p.min) / 2.0 for p in PARAMS], dtype=np.float64)
LO = np.array([p.min for p in PARAMS], dtype=np.float64)
HI = np.array([p.max for p in PARAMS], dtype=np.float64)

_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


# ---------------------------------------------------------------------------------------------- params
def default_params() -> dict[str, float]:
    """Defaults of every registered parameter (tone, colour and geometry)."""
    return {p.name: p.default for p in REGISTRY}


def normalize_params(params: Optional[Mapping]) -> dict[str, float]:
    """A complete, clamped parameter dict (every registered parameter, geometry included); unknown keys
    are dropped, bad values raise ``ValueError``."""
    out = default_params()
    if not params:
        return out
    for k, v in params.items():
        p = REGISTRY_BY_NAME.get(k)
        if p is None:
            continue
        try:
            f = float(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"develop parameter {k!r} must be a number, got {v!r}") from exc
        if not math.isfinite(f):
            raise ValueError(f"develop parameter {k!r} must be finite, got {v!r}")
        out[k] = p.clamp(f)
    if out["crop_right"] - out["crop_left"] < MIN_CROP or out["crop_bottom"] - out["crop_top"] < MIN_CROP:
        for k in ("crop_left", "crop_top", "crop_right", "crop_bottom"):  # an empty crop means no crop
            out[k] = REGISTRY_BY_NAME[k].default
    out["flip"] = float(round(out["flip"]))
    out["rotate"] = float(round(out["rotate"]) % 4)
    return out


MIN_CROP = 0.01  # narrowest crop, as a fraction of the canvas side


def is_identity(params: Optional[Mapping]) -> bool:
    """True when ``params`` change nothing at all (tone, colour and geometry at their defaults)."""
    n = normalize_params(params)
    return all(abs(n[p.name] - p.default) < 1e-9 for p in REGISTRY)


def tone_is_identity(params: Optional[Mapping]) -> bool:
    n = normalize_params(params)
    return all(abs(n[p.name] - p.default) < 1e-9 for p in PARAMS)


def geometry_is_identity(params: Optional[Mapping]) -> bool:
    n = normalize_params(params)
    return all(abs(n[p.name] - p.default) < 1e-9 for p in GEOMETRY_PARAMS)


def geometry_of(params: Optional[Mapping]) -> dict[str, float]:
    """Only the geometry parameters (normalised)."""
    n = normalize_params(params)
    return {k: n[k] for k in GEOMETRY_NAMES}


def without_geometry(params: Optional[Mapping]) -> dict[str, float]:
    """Only tone and colour (normalised): what the enhancer sees."""
    n = normalize_params(params)
    return {p.name: n[p.name] for p in PARAMS}


def changed_params(params: Optional[Mapping]) -> dict[str, float]:
    """Only the parameters that differ from their defaults (for history lines and summaries)."""
    n = normalize_params(params)
    return {p.name: n[p.name] for p in REGISTRY if abs(n[p.name] - p.default) >= 1e-9}


# Copy and paste of develop settings (GUI: Edit > Copy / Paste develop settings). As in Lightroom, the
# crop, straighten, turns and flip are not copied unless asked for: each photo keeps its own framing.
# group -> its name in words ("crop" stands for the crop, straighten, quarter turns and flip)
COPY_GROUPS: dict[str, str] = {"tone": "tone", "colour": "colour", "geometry": "crop"}
DEFAULT_COPY_GROUPS: tuple[str, ...] = ("tone", "colour")


def copy_params(params: Optional[Mapping], groups: Sequence[str] = DEFAULT_COPY_GROUPS) -> dict[str, float]:
    """The settings of ``params`` in ``groups`` (of :data:`COPY_GROUPS`), normalised: what a copy holds.
    Unreadable params raise ``ValueError``."""
    unknown = set(groups) - set(COPY_GROUPS)
    if unknown:
        raise ValueError(f"unknown settings group(s) {sorted(unknown)}; known: {', '.join(COPY_GROUPS)}")
    n = normalize_params(params)
    return {p.name: n[p.name] for p in REGISTRY if p.group in groups}


def paste_params(stored: Optional[Mapping], copied: Mapping) -> Optional[dict[str, float]]:
    """A photo's settings after ``copied`` (from :func:`copy_params`) is pasted onto it: the copied settings
    replace its own, the others (its crop and straighten, unless they were copied) stay. None: the result
    changes nothing (the photo is as shot). An unreadable stored edit counts as none."""
    try:
        n = normalize_params(stored)
    except ValueError:
        n = default_params()
    n = normalize_params({**n, **{k: v for k, v in copied.items() if k in REGISTRY_BY_NAME}})
    return None if is_identity(n) else n


def copied_groups(copied: Mapping) -> list[str]:
    """The groups a copy holds, in words ('tone', 'colour', 'crop': crop, straighten, turns and flip)."""
    return [words for g, words in COPY_GROUPS.items() if any(REGISTRY_BY_NAME[k].group == g for k in copied
                                                              if k in REGISTRY_BY_NAME)]


def edit_signature(params: Optional[Mapping]) -> str:
    """A short stable hash of an edit ("" for no edit): rendered thumbnails are cached under it."""
    if not params:
        return ""
    try:
        n = normalize_params(params)
    except ValueError:
        return ""
    changed = {p.name: round(n[p.name], 4) for p in REGISTRY if abs(n[p.name] - p.default) >= 1e-9}
    if not changed:
        return ""
    import hashlib
    import json

    return hashlib.sha1(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:16]


def params_to_vector(params: Optional[Mapping]) -> np.ndarray:
    n = normalize_params(params)
    return np.array([n[k] for k in PARAM_NAMES], dtype=np.float64)


def vector_to_params(vec: Iterable[float], ndigits: int = 3) -> dict[str, float]:
    v = np.clip(np.asarray(list(vec), dtype=np.float64), LO, HI)
    return {k: round(float(x), ndigits) for k, x in zip(PARAM_NAMES, v)}


# ---------------------------------------------------------------------------------------------- colour
def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0.04045) + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """sRGB transfer curve, extended above 1 with the same power law (values are clipped at the end)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.maximum(x, 0.0031308) ** (1 / 2.4) - 0.055)


_RGB2XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    dtype=np.float32,
)
_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0,1] (..., 3) -> CIELAB (D65), float32."""
    lin = srgb_to_linear(np.clip(rgb, 0.0, 1.0))
    xyz = lin @ _RGB2XYZ.T / _WHITE
    eps = 216 / 24389
    kappa = 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116).astype(np.float32)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1).astype(np.float32)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 colour difference between two Lab arrays (vectorised, kL=kC=kH=1)."""
    dt = np.result_type(np.asarray(lab1).dtype, np.asarray(lab2).dtype, np.float32)  # float32 in, float32 math
    lab1, lab2 = np.asarray(lab1), np.asarray(lab2)
    L1, a1, b1 = (lab1[..., i].astype(dt) for i in range(3))
    L2, a2, b2 = (lab2[..., i].astype(dt) for i in range(3))
    C1 = np.hypot(a1, b1)
    C2 = np.hypot(a2, b2)
    Cm = (C1 + C2) / 2
    Cm7 = Cm**7
    G = 0.5 * (1 - np.sqrt(Cm7 / (Cm7 + dt.type(25.0**7))))
    a1p = (1 + G) * a1
    a2p = (1 + G) * a2
    C1p = np.hypot(a1p, b1)
    C2p = np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = C2p - C1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, dh)
    dh = np.where(dh < -180, dh + 360, dh)
    zero = (C1p * C2p) == 0
    dh = np.where(zero, 0.0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh) / 2)
    Lpm = (L1 + L2) / 2
    Cpm = (C1p + C2p) / 2
    hsum = h1p + h2p
    hpm = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    hpm = np.where(zero, hsum, hpm)
    T = (
        1
        - 0.17 * np.cos(np.radians(hpm - 30))
        + 0.24 * np.cos(np.radians(2 * hpm))
        + 0.32 * np.cos(np.radians(3 * hpm + 6))
        - 0.20 * np.cos(np.radians(4 * hpm - 63))
    )
    dtheta = 30 * np.exp(-(((hpm - 275) / 25) ** 2))
    Cpm7 = Cpm**7
    Rc = 2 * np.sqrt(Cpm7 / (Cpm7 + dt.type(25.0**7)))
    Sl = 1 + 0.015 * (Lpm - 50) ** 2 / np.sqrt(20 + (Lpm - 50) ** 2)
    Sc = 1 + 0.045 * Cpm
    Sh = 1 + 0.015 * Cpm * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh))


def delta_e2000(rgb1: np.ndarray, rgb2: np.ndarray) -> float:
    """Mean CIEDE2000 between two sRGB images in [0,1]."""
    return float(ciede2000(rgb_to_lab(rgb1), rgb_to_lab(rgb2)).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two images in [0,1] (inf when identical)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse <= 0 else 10.0 * math.log10(1.0 / mse)


def to_float(img) -> np.ndarray:
    """PIL image or uint8/float array -> float32 HxWx3 in [0,1]."""
    if isinstance(img, Image.Image):
        img = np.asarray(img.convert("RGB"))
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[2] < 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {a.shape}")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    return np.clip(a.astype(np.float32), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------- geometry
def oriented_size(w: int, h: int, params: Optional[Mapping]) -> tuple[int, int]:
    """Canvas size after flip and quarter turns (straighten keeps the canvas size)."""
    n = normalize_params(params)
    return (h, w) if int(n["rotate"]) % 2 else (w, h)


def _inside(px: np.ndarray, py: np.ndarray, w: float, h: float, theta: float) -> bool:
    """Are the canvas points (centred coordinates) inside the photo rotated by ``theta`` (radians)?"""
    c, s = math.cos(theta), math.sin(theta)
    # rotate back by -theta into the unrotated photo's frame
    x = c * px + s * py
    y = -s * px + c * py
    eps = 1e-6
    return bool(np.all(np.abs(x) <= w / 2 + eps) and np.all(np.abs(y) <= h / 2 + eps))


def crop_box(w: int, h: int, params: Optional[Mapping]) -> tuple[float, float, float, float]:
    """The crop rectangle in pixels (x0, y0, x1, y1) of the straightened canvas of size ``w`` x ``h``
    (already flipped/turned), shrunk about its centre (aspect ratio kept) until it lies inside the rotated
    photo: straightening never shows empty corners."""
    n = normalize_params(params)
    x0, y0 = n["crop_left"] * w, n["crop_top"] * h
    x1, y1 = n["crop_right"] * w, n["crop_bottom"] * h
    theta = math.radians(n["angle"])
    if abs(theta) < 1e-9:
        return (x0, y0, x1, y1)
    cx, cy = (x0 + x1) / 2 - w / 2, (y0 + y1) / 2 - h / 2
    hw, hh = (x1 - x0) / 2, (y1 - y0) / 2
    # the centre itself must be inside: pull it towards the canvas centre if needed
    t = 1.0
    while not _inside(np.array([cx * t]), np.array([cy * t]), w, h, theta) and t > 0:
        t -= 0.02
    cx, cy = cx * max(t, 0.0), cy * max(t, 0.0)
    sx = np.array([-1.0, 1.0, 1.0, -1.0])
    sy = np.array([-1.0, -1.0, 1.0, 1.0])
    if not _inside(cx + hw * sx, cy + hh * sy, w, h, theta):
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            if _inside(cx + mid * hw * sx, cy + mid * hh * sy, w, h, theta):
                lo = mid
            else:
                hi = mid
        hw, hh = hw * lo, hh * lo
    return (cx - hw + w / 2, cy - hh + h / 2, cx + hw + w / 2, cy + hh + h / 2)


def geometry_output_size(w: int, h: int, params: Optional[Mapping]) -> tuple[int, int]:
    """Pixel size of the rendered photo for a ``w`` x ``h`` (EXIF-oriented) input."""
    W, H = oriented_size(w, h, params)
    x0, y0, x1, y1 = crop_box(W, H, params)
    return max(1, round(x1 - x0)), max(1, round(y1 - y0))


_TRANSPOSE = {1: Image.Transpose.ROTATE_270, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_90}


def _geometry_pil(im: Image.Image, n: Mapping, resample, crop: bool = True) -> Image.Image:
    if n["flip"]:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    k = int(n["rotate"]) % 4
    if k:
        im = im.transpose(_TRANSPOSE[k])  # quarter turns clockwise
    W, H = im.size
    x0, y0, x1, y1 = crop_box(W, H, n) if crop else (0.0, 0.0, float(W), float(H))
    theta = math.radians(n["angle"])
    ow, oh = max(1, round(x1 - x0)), max(1, round(y1 - y0))
    if abs(theta) < 1e-9:
        if (ow, oh) == (W, H):
            return im
        return im.crop((round(x0), round(y0), round(x0) + ow, round(y0) + oh))
    # One affine pass: output pixel (u, v) -> canvas (x0 + u, y0 + v) -> rotated back about the centre.
    c, s = math.cos(theta), math.sin(theta)
    ox, oy = x0 - W / 2, y0 - H / 2
    # input = R(-theta) @ (canvas - centre) + centre, the photo turned clockwise by theta on screen
    a, b = c, s
    d, e = -s, c
    cx0 = a * ox + b * oy + W / 2
    cy0 = d * ox + e * oy + H / 2
    return im.transform((ow, oh), Image.Transform.AFFINE, (a, b, cx0, d, e, cy0), resample=resample)


def apply_geometry(img, params: Optional[Mapping], crop: bool = True, fast: bool = False):
    """Flip, quarter turns, straighten and crop a PIL image, a uint8 array or a float array (same type
    back). Straighten resamples bicubically (bilinear for float arrays); the rest is exact. ``crop=False``
    keeps the whole straightened canvas (the crop tool shows it, with the crop drawn over it). ``fast``
    straightens bilinearly (thumbnails and previews; export keeps bicubic)."""
    n = normalize_params(params)
    if geometry_is_identity(n):
        return img
    rs = Image.Resampling.BILINEAR if fast else Image.Resampling.BICUBIC
    if isinstance(img, Image.Image):
        return _geometry_pil(img, n, rs, crop)
    a = np.asarray(img)
    if a.dtype == np.uint8:
        mode = "RGB" if a.ndim == 3 and a.shape[2] == 3 else None
        if mode:
            return np.asarray(_geometry_pil(Image.fromarray(a, mode), n, rs, crop))
    a = np.asarray(a, dtype=np.float32)
    chans = [a] if a.ndim == 2 else [a[..., i] for i in range(a.shape[2])]
    outs = [np.asarray(_geometry_pil(Image.fromarray(np.ascontiguousarray(ch), "F"), n, Image.Resampling.BILINEAR, crop))
            for ch in chans]
    return outs[0] if a.ndim == 2 else np.stack(outs, axis=-1)


def map_to_stored(params: Optional[Mapping], w: int, h: int) -> list[tuple[float, float]]:
    """The crop's top-left and bottom-right corners as fractions of the unrotated, unflipped ``w`` x
    ``h`` photo (the frame Lightroom's ``crs:CropLeft/Top/Right/Bottom`` use, with ``crs:CropAngle``).
    ``w`` and ``h`` are the size after EXIF orientation, before our flip/turns."""
    n = normalize_params(params)
    W, H = oriented_size(w, h, n)
    x0, y0, x1, y1 = crop_box(W, H, n)
    theta = math.radians(n["angle"])
    c, s = math.cos(theta), math.sin(theta)
    out = []
    for x, y in ((x0, y0), (x1, y1)):
        px, py = x - W / 2, y - H / 2
        ux, uy = c * px + s * py + W / 2, -s * px + c * py + H / 2  # into the turned (unstraightened) frame
        fx, fy = ux / W, uy / H
        k = int(n["rotate"]) % 4
        for _ in range(k):  # undo one clockwise quarter turn: (fx, fy) -> (fy, 1 - fx)
            fx, fy = fy, 1 - fx
        if n["flip"]:
            fx = 1 - fx
        out.append((fx, fy))
    return out


# EXIF orientation (1-8): where a point of the displayed photo (u, v in [0, 1]) lies in the stored pixels.
_EXIF_TO_STORED = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (v, 1 - u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (1 - v, u),
}
_STORED_TO_EXIF = {
    1: lambda x, y: (x, y),
    2: lambda x, y: (1 - x, y),
    3: lambda x, y: (1 - x, 1 - y),
    4: lambda x, y: (x, 1 - y),
    5: lambda x, y: (y, x),
    6: lambda x, y: (1 - y, x),
    7: lambda x, y: (1 - y, 1 - x),
    8: lambda x, y: (y, 1 - x),
}


def crs_crop(params: Optional[Mapping], w: int, h: int, exif_orientation: Optional[int] = None) -> Optional[dict]:
    """Lightroom / Camera Raw crop fields for ``params`` on a ``w`` x ``h`` photo (size as displayed,
    i.e. after EXIF orientation): ``{"HasCrop", "CropLeft", "CropTop", "CropRight", "CropBottom",
    "CropAngle"}``, in the frame of the stored pixels (where Lightroom, darktable and RawTherapee read
    them: the crop's top-left and bottom-right corners, and the straighten angle, positive
    counter-clockwise as those readers turn it). ``None`` when the edit has no crop and no straighten, or
    cannot be said exactly in those fields (straightened *and* turned/flipped/EXIF-rotated: the app's own
    fields still carry it)."""
    n = normalize_params(params)
    crop_default = all(abs(n[k] - REGISTRY_BY_NAME[k].default) < 1e-9 for k in ("crop_left", "crop_top", "crop_right", "crop_bottom"))
    if crop_default and abs(n["angle"]) < 1e-9:
        return None
    o = int(exif_orientation or 1)
    if o not in _EXIF_TO_STORED:
        o = 1
    turned = bool(n["flip"]) or int(n["rotate"]) % 4 or o != 1
    (ax, ay), (bx, by) = map_to_stored(n, w, h)
    if abs(n["angle"]) >= 1e-9:
        if turned:
            return None
        L, T, R, B = ax, ay, bx, by
    else:
        (ax, ay), (bx, by) = _EXIF_TO_STORED[o](ax, ay), _EXIF_TO_STORED[o](bx, by)
        L, R = sorted((ax, bx))
        T, B = sorted((ay, by))
    clip = lambda v: float(min(1.0, max(0.0, round(v, 6))))  # noqa: E731
    return {"HasCrop": True, "CropLeft": clip(L), "CropTop": clip(T), "CropRight": clip(R), "CropBottom": clip(B),
            "CropAngle": round(-float(n["angle"]), 4)}


def params_from_crs(crs: Mapping, w: int, h: int, exif_orientation: Optional[int] = None) -> dict[str, float]:
    """Geometry parameters from Lightroom crop fields (the inverse of :func:`crs_crop`): the crop and
    straighten of a photo developed in Lightroom, for a ``w`` x ``h`` photo as displayed."""
    out = {k: REGISTRY_BY_NAME[k].default for k in GEOMETRY_NAMES}
    if not crs or str(crs.get("HasCrop", "")).lower() not in ("true", "1"):
        return out
    try:
        L, T, R, B = (float(crs.get(k, d)) for k, d in (("CropLeft", 0), ("CropTop", 0), ("CropRight", 1), ("CropBottom", 1)))
        a = float(crs.get("CropAngle", 0) or 0)
    except (TypeError, ValueError):
        return out
    if not all(math.isfinite(v) for v in (L, T, R, B, a)):
        return out
    o = int(exif_orientation or 1) if int(exif_orientation or 1) in _STORED_TO_EXIF else 1
    theta = -max(-45.0, min(45.0, a))
    if abs(theta) < 1e-9 or o == 1:
        (ax, ay), (bx, by) = _STORED_TO_EXIF[o](L, T), _STORED_TO_EXIF[o](R, B)
        if abs(theta) >= 1e-9:
            # corners in the unstraightened frame -> the straightened canvas
            c, s = math.cos(math.radians(theta)), math.sin(math.radians(theta))
            pts = []
            for fx, fy in ((ax, ay), (bx, by)):
                px, py = fx * w - w / 2, fy * h - h / 2
                pts.append(((c * px - s * py + w / 2) / w, (s * px + c * py + h / 2) / h))
            (ax, ay), (bx, by) = pts
        out.update(crop_left=min(ax, bx), crop_right=max(ax, bx), crop_top=min(ay, by), crop_bottom=max(ay, by),
                   angle=theta)
    n = normalize_params(out)
    return {k: n[k] for k in GEOMETRY_NAMES}


# Fixed crop ratios offered by the crop tool (width : height; "original" keeps the photo's ratio).
ASPECT_RATIOS: tuple[tuple[str, Optional[object]], ...] = (
    ("Free", None),
    ("Original", "original"),
    ("1:1", 1.0),
    ("4:5", 4 / 5),
    ("5:4", 5 / 4),
    ("2:3", 2 / 3),
    ("3:2", 3 / 2),
    ("3:4", 3 / 4),
    ("4:3", 4 / 3),
    ("9:16", 9 / 16),
    ("16:9", 16 / 9),
)


def crop_to_ratio(params: Optional[Mapping], w: int, h: int, ratio: Optional[float]) -> dict[str, float]:
    """The largest crop of pixel aspect ``ratio`` (width/height) inside the current crop, centred on it;
    ``w`` x ``h`` is the EXIF-oriented photo size. ``None`` returns the params unchanged."""
    n = normalize_params(params)
    if ratio is None:
        return n
    W, H = oriented_size(w, h, n)
    cw = (n["crop_right"] - n["crop_left"]) * W
    ch = (n["crop_bottom"] - n["crop_top"]) * H
    if cw / ch > ratio:
        nw, nh = ch * ratio, ch
    else:
        nw, nh = cw, cw / ratio
    cx = (n["crop_left"] + n["crop_right"]) / 2
    cy = (n["crop_top"] + n["crop_bottom"]) / 2
    n["crop_left"], n["crop_right"] = cx - nw / W / 2, cx + nw / W / 2
    n["crop_top"], n["crop_bottom"] = cy - nh / H / 2, cy + nh / H / 2
    return n


def turn(params: Optional[Mapping], quarter_turns: int) -> dict[str, float]:
    """Turn the developed photo by quarter turns clockwise (negative: counter-clockwise), crop included."""
    n = normalize_params(params)
    for _ in range(int(quarter_turns) % 4):
        L, T, R, B = n["crop_left"], n["crop_top"], n["crop_right"], n["crop_bottom"]
        n["crop_left"], n["crop_top"], n["crop_right"], n["crop_bottom"] = 1 - B, L, 1 - T, R
        n["rotate"] = float((int(n["rotate"]) + 1) % 4)
    return n


def flip_horizontal(params: Optional[Mapping]) -> dict[str, float]:
    """Mirror the developed photo left-right as it is shown (crop and straighten follow)."""
    n = normalize_params(params)
    k = int(n["rotate"]) % 4
    # shown = R^k F^f; mirrored = F R^k F^f = R^-k F^(f+1)
    n["rotate"] = float((-k) % 4)
    n["flip"] = 1.0 - n["flip"]
    n["angle"] = -n["angle"]
    n["crop_left"], n["crop_right"] = 1 - n["crop_right"], 1 - n["crop_left"]
    return n


def level_angle(x0: float, y0: float, x1: float, y1: float) -> float:
    """The straighten angle (degrees, added to the current one) that makes the drawn line level, or
    plumb when it is closer to vertical; points in pixels of the shown photo (y down)."""
    dx, dy = x1 - x0, y1 - y0
    if dx == 0 and dy == 0:
        return 0.0
    a = math.degrees(math.atan2(dy, dx))  # clockwise from the x axis on screen
    # nearest multiple of 90 degrees
    target = round(a / 90.0) * 90.0
    return float(-(a - target))


# ---------------------------------------------------------------------------------------------- pipeline
def _bump(y: np.ndarray, center: float) -> np.ndarray:
    """A smooth bump on [0,1] peaking at 1 at ``center`` (1/3 or 2/3), zero at 0 and 1 and outside."""
    yc = np.clip(y, 0.0, 1.0)
    if center < 0.5:
        return 6.75 * yc * (1 - yc) ** 2
    return 6.75 * yc**2 * (1 - yc)


def tone_luts(params: Mapping, n: int = 256) -> np.ndarray:
    """The per-channel tone stage as a (3, n) table over input values ``linspace(0, 1, n)``."""
    p = normalize_params(params)
    return _tone_luts(tuple(p[k] for k in PARAM_NAMES), n)


_LIN_CACHE: dict[int, np.ndarray] = {}


def _tone_luts(values: tuple, n: int) -> np.ndarray:
    p = dict(zip(PARAM_NAMES, values))
    lin = _LIN_CACHE.get(n)
    if lin is None:
        lin = _LIN_CACHE[n] = srgb_to_linear(np.linspace(0.0, 1.0, n)).astype(np.float64)
    t = p["temperature"] / 100.0
    g = p["tint"] / 100.0
    gains = np.array([2.0 ** (0.45 * t), 2.0 ** (-0.35 * g), 2.0 ** (-0.45 * t)])
    gains /= float(_LUMA.astype(np.float64) @ gains)
    gains *= 2.0 ** p["exposure"]
    blk = -0.12 * p["blacks"] / 100.0
    wht = 1.0 - 0.18 * p["whites"] / 100.0
    c = p["contrast"] / 100.0
    y = linear_to_srgb(gains[:, None] * lin[None, :])
    y = (y - blk) / (wht - blk)
    if p["shadows"]:
        y = y + 0.30 * p["shadows"] / 100.0 * _bump(y, 1 / 3)
    if p["highlights"]:
        y = y + 0.30 * p["highlights"] / 100.0 * _bump(y, 2 / 3)
    if c:
        yc = np.clip(y, 0.0, 1.0)
        y = y + c * yc * (1 - yc) * (2 * yc - 1)
    # three-point tone curve: bumps centred on 1/4, 1/2 and 3/4
    d, m, li = p["curve_darks"], p["curve_midtones"], p["curve_lights"]
    if d or m or li:
        yc = np.clip(y, 0.0, 1.0)
        y = (
            y
            + 0.20 * d / 100.0 * np.clip(1 - np.abs(yc - 0.25) / 0.25, 0, 1) ** 2 * (yc < 0.5)
            + 0.20 * m / 100.0 * 4 * yc * (1 - yc)
            + 0.20 * li / 100.0 * np.clip(1 - np.abs(yc - 0.75) / 0.25, 0, 1) ** 2 * (yc > 0.5)
        )
    return y


def _colour_planes(r: np.ndarray, g: np.ndarray, b: np.ndarray, sat: float, vib: float) -> None:
    """Saturation and vibrance in place on three float32 planes (values may exceed [0,1])."""
    if sat == 0.0 and vib == 0.0:
        return
    Y = r * np.float32(0.2126)
    Y += g * np.float32(0.7152)
    Y += b * np.float32(0.0722)
    if vib != 0.0:
        c = np.maximum(np.maximum(r, g), b)
        c -= np.minimum(np.minimum(r, g), b)
        np.clip(c, 0.0, 1.0, out=c)
        np.subtract(1.0, c, out=c)
        c *= c
        c *= np.float32(vib * (1.0 + sat))
        c += np.float32(1.0 + sat)
        k = c
    else:
        k = np.float32(1.0 + sat)
    for ch in (r, g, b):
        ch -= Y
        ch *= k
        ch += Y


def render(rgb: np.ndarray, params: Optional[Mapping]) -> np.ndarray:
    """Apply ``params`` to a float32 HxWx3 image in [0,1]; returns a new float32 image in [0,1].

    Input values are quantised to 10 bits for the tone table (invisible; the output stays float).
    """
    p = normalize_params(params)
    a = to_float(apply_geometry(to_float(rgb), p))
    if tone_is_identity(p):
        return a.copy()
    n = 1024
    lut = _tone_luts(tuple(p[k] for k in PARAM_NAMES), n).astype(np.float32)
    planes = []
    for c in range(3):
        idx = a[..., c] * np.float32(n - 1)
        idx += np.float32(0.5)
        planes.append(lut[c][idx.astype(np.intp)])
    _colour_planes(*planes, p["saturation"] / 100.0, p["vibrance"] / 100.0)
    out = np.stack(planes, axis=-1)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def render_batch(rgb: np.ndarray, params_list: Sequence[Mapping]) -> np.ndarray:
    """Render one small float image with K parameter sets at once: (K, H, W, 3) float32 in [0,1].

    Same arithmetic as :func:`render` for tone and colour (the enhancer uses it to look at every action
    in one go); geometry parameters are ignored here.
    """
    a = to_float(rgb)
    ps = [normalize_params(p) for p in params_list]
    n = 1024
    luts = np.stack([_tone_luts(tuple(p[k] for k in PARAM_NAMES), n) for p in ps]).astype(np.float32)  # K,3,n
    planes = []
    for c in range(3):
        idx = a[..., c] * np.float32(n - 1)
        idx += np.float32(0.5)
        planes.append(luts[:, c, :][:, idx.astype(np.intp)])  # K,H,W
    sat = np.array([p["saturation"] / 100.0 for p in ps], np.float32)[:, None, None]
    vib = np.array([p["vibrance"] / 100.0 for p in ps], np.float32)[:, None, None]
    _colour_planes_batch(*planes, sat, vib)
    out = np.stack(planes, axis=-1)
    np.clip(out, 0.0, 1.0, out=out)
    for k, p in enumerate(ps):  # identity renders are exact copies, as in render()
        if tone_is_identity(p):
            out[k] = a
    return out


def _colour_planes_batch(r, g, b, sat: np.ndarray, vib: np.ndarray) -> None:
    Y = r * np.float32(0.2126) + g * np.float32(0.7152) + b * np.float32(0.0722)
    c = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    np.clip(c, 0.0, 1.0, out=c)
    c = (1.0 - c) ** 2
    k = (c * (vib * (1.0 + sat)) + (1.0 + sat)).astype(np.float32)
    for ch in (r, g, b):
        ch -= Y
        ch *= k
        ch += Y


def render_uint8(
    arr: np.ndarray, params: Optional[Mapping], threads: Optional[int] = None, rows: int = 64, fast: bool = False
) -> np.ndarray:
    """Full-resolution render uint8 -> uint8 (HxWx3), geometry first, then tone and colour in strips on a
    thread pool (numpy releases the GIL)."""
    arr = np.asarray(arr)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError("render_uint8 expects a uint8 HxWx3 image")
    p = normalize_params(params)
    if not geometry_is_identity(p):
        arr = apply_geometry(np.ascontiguousarray(arr[..., :3]), p, fast=fast)
    if tone_is_identity(p):
        return np.ascontiguousarray(arr[..., :3])
    lut = _tone_luts(tuple(p[k] for k in PARAM_NAMES), 256).astype(np.float32)
    sat, vib = p["saturation"] / 100.0, p["vibrance"] / 100.0
    colour = sat != 0.0 or vib != 0.0
    out = np.empty(arr.shape[:2] + (3,), dtype=np.uint8)
    lut8 = (np.clip(lut, 0, 1) * 255 + 0.5).astype(np.uint8)
    h = arr.shape[0]

    def strip(y0: int) -> None:
        a = arr[y0 : y0 + rows]
        if not colour:
            for c in range(3):
                out[y0 : y0 + rows, :, c] = lut8[c][a[..., c]]
            return
        planes = [lut[c][a[..., c]] for c in range(3)]
        _colour_planes(*planes, sat, vib)
        for c, pl in enumerate(planes):
            np.clip(pl, 0.0, 1.0, out=pl)
            pl *= 255.0
            pl += 0.5
            out[y0 : y0 + rows, :, c] = pl

    starts = range(0, h, rows)
    n = threads or min(4, os.cpu_count() or 1)
    if n <= 1 or h <= rows:
        for y0 in starts:
            strip(y0)
    else:
        with ThreadPoolExecutor(max_workers=n) as ex:
            list(ex.map(strip, starts))
    return out


def render_image(image: Image.Image, params: Optional[Mapping], threads: Optional[int] = None) -> Image.Image:
    """Full-resolution render of a PIL image (export path): geometry, then tone. Alpha, if any, is kept
    (and cropped/turned with the photo)."""
    if not geometry_is_identity(params):
        image = apply_geometry(image, params)
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    arr = np.asarray(image.convert("RGB"))
    out = Image.fromarray(render_uint8(arr, without_geometry(params), threads=threads), "RGB")
    if alpha is not None:
        out.putalpha(alpha)
    return out


def proxy(rgb, max_side: int = 1024) -> np.ndarray:
    """A float32 proxy no larger than ``max_side`` (area-averaged), for previews and the enhancer."""
    if isinstance(rgb, Image.Image):
        im = rgb.convert("RGB")
    else:
        a = np.asarray(rgb)
        im = Image.fromarray(a if a.dtype == np.uint8 else (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))
    w, h = im.size
    s = max_side / max(w, h)
    if s < 1:
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BOX)
    return np.asarray(im, dtype=np.float32) / 255.0


def auto_contrast(rgb: np.ndarray, cutoff: float = 0.5) -> np.ndarray:
    """Baseline: per-channel percentile stretch (like Photoshop's Auto Contrast / PIL autocontrast)."""
    a = to_float(rgb)
    lo = np.percentile(a.reshape(-1, 3), cutoff, axis=0)
    hi = np.percentile(a.reshape(-1, 3), 100 - cutoff, axis=0)
    return np.clip((a - lo) / np.maximum(hi - lo, 1e-3), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------- fitting


def forward_jacobian(fn, hi: np.ndarray, step: float):
    """Jacobian of ``fn`` by forward differences of a fixed ``step`` (taken backwards where a step would pass
    the upper bound ``hi``), for scipy's ``least_squares``: renders round and clip sliders, so scipy's
    relative steps vanish at a slider's zero or straddle its kinks."""

    def jac(z):
        f0 = fn(z)
        J = np.empty((f0.size, z.size))
        for j in range(z.size):
            h = step if z[j] + step <= hi[j] else -step
            zz = z.copy()
            zz[j] += h
            J[:, j] = (fn(zz) - f0) / h
        return J

    return jac


def fit_params(
    src: np.ndarray,
    dst: np.ndarray,
    max_side: int = 128,
    x0: Optional[Mapping] = None,
    names: Optional[Iterable[str]] = None,
    max_iter: int = 30,
) -> dict[str, float]:
    """Parameters whose render of ``src`` best matches ``dst`` (least squares in RGB on small proxies).

    ``src`` and ``dst`` must show the same scene at the same aspect ratio. Only ``names`` are fitted
    (default: all). A small ridge towards zero keeps redundant sliders near their defaults.
    """
    from scipy.optimize import least_squares

    s = proxy(src, max_side)
    d = proxy(dst, max_side)
    if s.shape != d.shape:
        d = np.asarray(Image.fromarray((d * 255 + 0.5).astype(np.uint8)).resize((s.shape[1], s.shape[0])), np.float32) / 255
    names = list(names or PARAM_NAMES)
    sel = np.array([PARAM_NAMES.index(n) for n in names])
    base = params_to_vector(x0)
    scale = PARAM_SCALE[sel]
    ridge = 0.02 * math.sqrt(s.size)
    dflat = d.ravel()

    def resid(z):
        v = base.copy()
        v[sel] = z * scale
        r = render(s, vector_to_params(v, 6)).ravel() - dflat
        return np.concatenate([r, ridge * 0.05 * z])

    lo, hi = LO[sel] / scale, HI[sel] / scale
    z0 = base[sel] / scale
    # forward differences written out (scipy's own step rule misbehaves on this piecewise function)
    res = least_squares(resid, z0, jac=forward_jacobian(resid, hi, 2e-3), bounds=(lo, hi), max_nfev=max_iter)
    v = base.copy()
    v[sel] = res.x * scale
    return vector_to_params(v)
