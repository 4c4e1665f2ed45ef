"""Technical flags on real photos and degraded copies (signals computed as the scanner does)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from piaa_desktop.core import flags as F
from piaa_desktop.core.signals import compute_signals


def _lin(a):
    a = a / 255.0
    return np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)


def _ev(rgb, ev):
    x = np.clip(_lin(rgb.astype(np.float64)) * 2.0 ** ev, 0, 1)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    return np.clip(s * 255 + 0.5, 0, 255).astype(np.uint8)


def _degrade(rgb, kind, rng):
    if kind == "blur":
        return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(3)))
    if kind == "underexposed":
        return _ev(rgb, -3.5)
    if kind == "overexposed":
        return _ev(rgb, 2.5)
    if kind == "noisy":
        return np.clip(rgb + rng.normal(0, 25, rgb.shape) + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(kind)


@pytest.fixture(scope="module")
def signals(bsds_dir):
    """Signals of 16 varied real scenes (every 30th BSDS photo) and of each degraded copy, computed once."""
    rng = np.random.default_rng(1)
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(bsds_dir.glob("*.jpg"))[::30][:16]]
    out = {"original": [compute_signals(rgb) for rgb in photos]}
    for kind in F.FLAG_NAMES:
        out[kind] = [compute_signals(_degrade(rgb, kind, rng)) for rgb in photos]
    return out


def test_originals_are_rarely_flagged(signals):
    flagged = [F.technical_flags(s) for s in signals["original"]]
    for name in F.FLAG_NAMES:
        assert sum(name in f for f in flagged) <= 2, name  # at most 2 of 16 false alarms per flag


@pytest.mark.parametrize("kind,min_rate", [("blur", 0.95), ("underexposed", 0.8), ("overexposed", 0.8), ("noisy", 0.95)])
def test_degraded_copies_are_flagged(signals, kind, min_rate):
    flagged = [F.technical_flags(s) for s in signals[kind]]
    assert np.mean([kind in f for f in flagged]) >= min_rate, kind
    # and the degradation does not trip the unrelated flags wholesale
    for other in F.FLAG_NAMES:
        if other != kind:
            assert np.mean([other in f for f in flagged]) <= 0.25, (kind, other)


def test_missing_or_bad_signals_give_no_flags():
    assert F.technical_flags(None) == set()
    assert F.technical_flags({}) == set()
    assert F.technical_flags({"sharpness": float("nan"), "brightness": None}) == set()


def test_flagged_ids_from_the_catalog(catalog, tmp_path, photos_dir, app_paths):
    from piaa_desktop.core.scanner import scan_folder

    lib = tmp_path / "lib"
    lib.mkdir()
    rng = np.random.default_rng(2)
    every = sorted(photos_dir.glob("*.jpg"))
    srcs = [every[i] for i in (0, 4, 7)]  # sharp, well-exposed scenes: the astronaut, the coffee, the rocket
    for k, p in enumerate(srcs):
        rgb = np.asarray(Image.open(p).convert("RGB"))
        Image.fromarray(rgb).save(lib / f"ok{k}.png")
        Image.fromarray(_degrade(rgb, "blur", rng)).save(lib / f"blur{k}.png")
        Image.fromarray(_degrade(rgb, "underexposed", rng)).save(lib / f"dark{k}.png")
    scan_folder(catalog, lib, app_paths.cache_dir, workers=2)
    names = {p.id: Path(p.path).stem for p in catalog.photos()}
    blurred = {names[i] for i in F.flagged_ids(catalog, "blur")}
    dark = {names[i] for i in F.flagged_ids(catalog, "underexposed")}
    assert blurred == {"blur0", "blur1", "blur2"}
    assert {"dark0", "dark1", "dark2"} <= dark and not any(n.startswith("ok") for n in dark)
    with pytest.raises(ValueError):
        F.flagged_ids(catalog, "ugly")
    by_photo = F.flags_by_photo(catalog)
    assert len(by_photo) == 9
    # the grid's filter (core.library) agrees with flagged_ids and combines with other filters
    for name in F.FLAG_NAMES:
        assert catalog.query_ids(sort="added", technical=name) == F.flagged_ids(catalog, name)
    some = F.flagged_ids(catalog, "blur")[0]
    catalog.set_rating([some], 3)
    assert catalog.query_ids(min_rating=3, technical="blur") == [some]
