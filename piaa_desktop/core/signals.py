"""Technical and aesthetic signals measured from pixels.

Each photo gets a small vector of named, interpretable attributes (catalog.SIGNAL_COLUMNS), computed on
the 512 px thumbnail in a few milliseconds:

* ``sharpness``   log10 of the variance of the Laplacian of luminance (0-255 scale) at 512 px; blurred
                  photos fall below ~1.6, crisp ones sit around 2.5-3.5.
* ``noise``       Immerkaer's fast noise sigma estimate (0-255 scale) on luminance.
* ``clip_low``    fraction of pixels with luminance <= 3 (crushed shadows).
* ``clip_high``   fraction of pixels with any channel >= 252 (blown highlights).
* ``brightness``  mean luminance in [0, 1].
* ``contrast``    standard deviation of luminance in [0, 1].
* ``colorfulness`` Hasler & Suesstrunk (2003) colourfulness / 100.
* ``saturation``  mean HSV saturation in [0, 1].
* ``warmth``      mean (R - B) in [-1, 1]: positive is warm, negative cool.
* ``subject_offset`` distance of the detail (gradient energy) centroid from the nearest rule-of-thirds
                  intersection, as a fraction of the image diagonal: a crude placement cue.
"""
from __future__ import annotations

import numpy as np

from piaa_desktop.core.catalog import SIGNAL_COLUMNS

_THIRDS = np.array([(x, y) for x in (1 / 3, 2 / 3) for y in (1 / 3, 2 / 3)], dtype=np.float64)


def luminance(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _laplacian(y: np.ndarray) -> np.ndarray:
    return y[1:-1, :-2] + y[1:-1, 2:] + y[:-2, 1:-1] + y[2:, 1:-1] - 4.0 * y[1:-1, 1:-1]


def _immerkaer(y: np.ndarray) -> float:
    # Mask [[1,-2,1],[-2,4,-2],[1,-2,1]]
    h, w = y.shape
    if h < 3 or w < 3:
        return 0.0
    c = (
        y[:-2, :-2] - 2 * y[:-2, 1:-1] + y[:-2, 2:]
        - 2 * y[1:-1, :-2] + 4 * y[1:-1, 1:-1] - 2 * y[1:-1, 2:]
        + y[2:, :-2] - 2 * y[2:, 1:-1] + y[2:, 2:]
    )
    return float(np.sqrt(np.pi / 2.0) * np.abs(c).sum() / (6.0 * (w - 2) * (h - 2)))


def compute_signals(rgb: np.ndarray) -> dict[str, float]:
    """Signals of an HxWx3 uint8 RGB image (ideally the 512 px thumbnail)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3 or rgb.shape[0] < 3 or rgb.shape[1] < 3:
        return {c: 0.0 for c in SIGNAL_COLUMNS}
    rgb = rgb[..., :3]
    f = rgb.astype(np.float32)
    y = luminance(f)
    lap = _laplacian(y)
    sharp = float(np.log10(lap.var() + 1.0))
    noise = _immerkaer(y)
    clip_low = float((y <= 3.0).mean())
    clip_high = float((rgb.max(axis=2) >= 252).mean())
    brightness = float(y.mean() / 255.0)
    contrast = float(y.std() / 255.0)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    colorfulness = float(
        (np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)) / 100.0
    )
    mx = f.max(axis=2)
    mn = f.min(axis=2)
    saturation = float(np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0).mean())
    warmth = float((r - b).mean() / 255.0)
    gy, gx = np.gradient(y)
    energy = np.hypot(gx, gy)
    total = energy.sum()
    h, w = y.shape
    if total > 0:
        cy = float((energy.sum(axis=1) * np.arange(h)).sum() / total) / max(h - 1, 1)
        cx = float((energy.sum(axis=0) * np.arange(w)).sum() / total) / max(w - 1, 1)
    else:
        cx = cy = 0.5
    d = np.sqrt(((_THIRDS - (cx, cy)) ** 2).sum(axis=1)).min() / np.sqrt(2.0)
    return {
        "sharpness": sharp,
        "noise": noise,
        "clip_low": clip_low,
        "clip_high": clip_high,
        "brightness": brightness,
        "contrast": contrast,
        "colorfulness": colorfulness,
        "saturation": saturation,
        "warmth": warmth,
        "subject_offset": float(d),
    }
