"""Technical flags from pixel signals: out of focus / motion blur, over- and under-exposure, high noise.

The signals (core.signals, stored in the catalog's ``signals`` table) are measured on the 512 px
thumbnail. Thresholds were calibrated on 200 real BSDS500 photos and degraded copies of them
(``benchmarks/calibrate_flags.py``; numbers in benchmarks/RESULTS.md, "Technical flags calibration"):

* ``blur``: little Laplacian energy for the image's own contrast. ``sharpness`` is log10(var(Laplacian));
  ``detail = sharpness - log10(var(luminance))`` discounts scenes that are merely flat or dark (fog, a
  plain sky, an underexposed frame), which have little Laplacian energy without being blurred. Flag when
  ``detail < BLUR_DETAIL`` or ``sharpness < BLUR_SHARPNESS`` (almost no detail at all).
* ``overexposed``: more than ``OVER_CLIP_HIGH`` of the pixels blown (any channel >= 252) in a bright
  frame (``brightness > OVER_BRIGHTNESS``), so a clipped sun, window or white sky patch does not count.
* ``underexposed``: a dark frame (``brightness < UNDER_BRIGHTNESS``), or many crushed shadows
  (``clip_low > UNDER_CLIP_LOW``) in a frame darker than ``UNDER_BRIGHTNESS_WITH_CLIP``.
* ``noisy``: Immerkaer's noise sigma above ``NOISE_SIGMA`` (0-255) *and* large relative to the Laplacian's
  standard deviation (``noise / std(Laplacian) > NOISE_RATIO``). Pure Gaussian noise gives a ratio near
  1/sqrt(20) = 0.22 (the 4-neighbour Laplacian multiplies a noise sigma by sqrt(20)), while fine texture
  (grass, fur, gravel) raises the Laplacian far more than Immerkaer's estimate, so it stays below.

Calibration (200 photos, BSDS 0-199): false alarms on the originals blur 1.5 %, overexposed 3 %,
underexposed 0.5 %, noisy 1 %; detections: Gaussian blur r=2 100 %, motion blur 9 px 48 % and 17 px 73 %,
-2 EV 42 % and -3 EV 88 %, +1.5 EV 60 % and +2.5 EV 91 %, noise sigma 12 96 % and 25 100 %. Held-out
numbers are in RESULTS.md. The signals come from the 512 px thumbnail, so a slight focus miss on a
24 MP original that disappears at 512 px is not flagged, and neither is noise that downscaling removes.

These are aids for culling (badges and a filter), not verdicts: a night scene is meant to be dark.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional

FLAG_NAMES = ("blur", "overexposed", "underexposed", "noisy")
FLAG_LABELS = {
    "blur": "Out of focus / motion blur",
    "overexposed": "Overexposed (blown highlights)",
    "underexposed": "Underexposed (dark, crushed shadows)",
    "noisy": "High noise",
}
# short tags on the grid's thumbnails: a word of the filter's label ("over" read as nothing on a thumbnail)
FLAG_BADGES = {"blur": "blur", "overexposed": "blown", "underexposed": "dark", "noisy": "noise"}

# Thresholds (see the module docstring and benchmarks/calibrate_flags.py).
BLUR_DETAIL = -1.1
BLUR_SHARPNESS = 1.6
OVER_CLIP_HIGH = 0.20
OVER_BRIGHTNESS = 0.50
UNDER_BRIGHTNESS = 0.20
UNDER_CLIP_LOW = 0.10
UNDER_BRIGHTNESS_WITH_CLIP = 0.30
NOISE_SIGMA = 4.0
NOISE_RATIO = 0.15


def _f(sig: Mapping, key: str) -> Optional[float]:
    v = sig.get(key)
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def detail(sig: Mapping) -> Optional[float]:
    """log10 of Laplacian variance over luminance variance: sharpness independent of scene contrast."""
    s, c = _f(sig, "sharpness"), _f(sig, "contrast")
    if s is None or c is None:
        return None
    var_y = (c * 255.0) ** 2
    return s - math.log10(var_y + 1.0)


def technical_flags(sig: Optional[Mapping]) -> set[str]:
    """The technical problems a photo's signals show (a subset of :data:`FLAG_NAMES`)."""
    out: set[str] = set()
    if not sig:
        return out
    sharp = _f(sig, "sharpness")
    d = detail(sig)
    if (d is not None and d < BLUR_DETAIL) or (sharp is not None and sharp < BLUR_SHARPNESS):
        out.add("blur")
    bright = _f(sig, "brightness")
    hi, lo = _f(sig, "clip_high"), _f(sig, "clip_low")
    if hi is not None and bright is not None and hi > OVER_CLIP_HIGH and bright > OVER_BRIGHTNESS:
        out.add("overexposed")
    if bright is not None and (
        bright < UNDER_BRIGHTNESS or (lo is not None and lo > UNDER_CLIP_LOW and bright < UNDER_BRIGHTNESS_WITH_CLIP)
    ):
        out.add("underexposed")
    n = _f(sig, "noise")
    if n is not None and sharp is not None and n > NOISE_SIGMA:
        lap_std = 10.0 ** (sharp / 2.0)  # sharpness = log10(var(Laplacian) + 1)
        if n / max(lap_std, 1e-6) > NOISE_RATIO:
            out.add("noisy")
    return out


def flags_by_photo(catalog, ids=None) -> dict[int, set[str]]:
    """Photo id -> flags, for every photo with signals (or those of ``ids``)."""
    return {pid: technical_flags(sig) for pid, sig in catalog.signals(ids).items()}


def flagged_ids(catalog, name: str, ids=None) -> list[int]:
    """Ids (ascending) of present photos flagged ``name``; ``ids`` restricts the search."""
    if name not in FLAG_NAMES:
        raise ValueError(f"unknown flag {name!r}; choose one of {', '.join(FLAG_NAMES)}")
    present = set(catalog.present_ids())
    return sorted(pid for pid, fl in flags_by_photo(catalog, ids).items() if name in fl and pid in present)
