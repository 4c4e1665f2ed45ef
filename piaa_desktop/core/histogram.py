"""The loupe's histogram and clipping warnings, from pixels (headless: numpy only).

:func:`histogram_stats` gives the 256-bin histograms of R, G, B and luminance (Rec. 709 weights) and
the share of clipped pixels: *highlights* where any channel is at 255 (a blown channel loses detail
and colour, as Lightroom's warning counts it), *shadows* where every channel is at 0.
:func:`clipping_mask` marks those pixels (1 highlights, 2 shadows) for the overlay (``J``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HIGH = 255
LOW = 0
WARN_FRACTION = 0.0005  # a warning is lit from 0.05 % of the pixels (noise-level clipping is ignored)


@dataclass
class HistogramStats:
    hist: np.ndarray  # (4, 256) float32: R, G, B, luminance, each normalised to sum 1
    clip_high: float  # share of pixels with a channel at 255
    clip_low: float  # share of pixels with every channel at 0

    @property
    def warn_high(self) -> bool:
        return self.clip_high >= WARN_FRACTION

    @property
    def warn_low(self) -> bool:
        return self.clip_low >= WARN_FRACTION


def histogram_stats(rgb: np.ndarray, max_pixels: int = 1_000_000) -> HistogramStats:
    """Histograms and clipping of an HxWx3 uint8 image (subsampled to about ``max_pixels``)."""
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] < 3 or a.size == 0:
        raise ValueError("expected an HxWx3 image")
    a = a[..., :3]
    step = max(1, int(np.sqrt(a.shape[0] * a.shape[1] / max_pixels)))
    a = np.ascontiguousarray(a[::step, ::step]).astype(np.uint8, copy=False)
    flat = a.reshape(-1, 3)
    n = flat.shape[0]
    hist = np.empty((4, 256), np.float32)
    for c in range(3):
        hist[c] = np.bincount(flat[:, c], minlength=256)[:256]
    lum = (flat @ np.array([0.2126, 0.7152, 0.0722], np.float32)).round().clip(0, 255).astype(np.uint8)
    hist[3] = np.bincount(lum, minlength=256)[:256]
    hist /= max(n, 1)
    mx = flat.max(axis=1)
    return HistogramStats(hist, float((mx >= HIGH).mean()), float((mx <= LOW).mean()))


def clipping_mask(rgb: np.ndarray) -> np.ndarray:
    """HxW uint8: 1 where a channel is blown (255), 2 where every channel is black (0), else 0."""
    a = np.asarray(rgb)[..., :3]
    mx = a.max(axis=2)
    mask = np.zeros(mx.shape, np.uint8)
    mask[mx <= LOW] = 2
    mask[a.max(axis=2) >= HIGH] = 1
    return mask
