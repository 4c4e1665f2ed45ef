"""The develop pipeline: parameters, render paths, colour science and parameter fitting."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core import develop as D


@pytest.fixture(scope="module")
def photo(photos_dir):
    f = sorted(photos_dir.glob("*.jpg"))[4]  # a colour photo (coffee)
    return D.to_float(Image.open(f))


def test_params_spec_and_normalize():
    assert len(D.PARAM_NAMES) == len(set(D.PARAM_NAMES)) >= 10
    for name in ("exposure", "contrast", "highlights", "shadows", "whites", "blacks", "saturation", "vibrance",
                 "temperature", "tint"):
        p = D.PARAM_BY_NAME[name]
        assert p.min < p.default < p.max and p.step > 0
    n = D.normalize_params({"exposure": 99, "contrast": "-20", "unknown": 5})
    assert n["exposure"] == 3.0 and n["contrast"] == -20.0 and "unknown" not in n
    with pytest.raises(ValueError):
        D.normalize_params({"exposure": "bright"})
    with pytest.raises(ValueError):
        D.normalize_params({"exposure": float("nan")})
    assert D.is_identity(None) and D.is_identity({"exposure": 0}) and not D.is_identity({"tint": 3})
    v = D.params_to_vector({"shadows": 40})
    assert D.vector_to_params(v)["shadows"] == 40


def test_identity_and_directions(photo):
    assert np.array_equal(D.render(photo, {}), photo)
    # 10-bit table: a neutral-but-not-identity edit stays within quantisation error
    near = D.render(photo, {"tint": 1e-6})
    assert np.abs(near - photo).max() < 2e-3
    y = lambda a: float((a @ np.array([0.2126, 0.7152, 0.0722])).mean())  # noqa: E731
    assert y(D.render(photo, {"exposure": 0.7})) > y(photo) + 0.05
    assert y(D.render(photo, {"exposure": -0.7})) < y(photo) - 0.05
    assert y(D.render(photo, {"shadows": 60})) > y(photo)
    warm = D.render(photo, {"temperature": 60})
    assert warm[..., 0].mean() - warm[..., 2].mean() > photo[..., 0].mean() - photo[..., 2].mean() + 0.02
    grey = D.render(photo, {"saturation": -100})
    assert np.abs(grey[..., 0] - grey[..., 1]).max() < 0.01
    sat = lambda a: float((a.max(-1) - a.min(-1)).mean())  # noqa: E731
    assert sat(D.render(photo, {"vibrance": 60})) > sat(photo)
    lo = D.render(photo, {"contrast": -60})
    hi = D.render(photo, {"contrast": 60})
    assert hi.std() > photo.std() > lo.std()
    out = D.render(photo, {"exposure": 3, "whites": 100, "saturation": 100})
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_full_resolution_path_matches_preview(photo):
    params = {"exposure": 0.4, "contrast": 25, "highlights": -30, "shadows": 20, "temperature": -10,
              "saturation": 15, "vibrance": 20, "curve_midtones": 10}
    u8 = (photo * 255 + 0.5).astype(np.uint8)
    full = D.render_uint8(u8, params, threads=2, rows=17).astype(np.float32) / 255
    ref = D.render(u8.astype(np.float32) / 255, params)
    assert np.abs(full - ref).max() < 3.5 / 255
    im = Image.fromarray(u8).convert("RGBA")
    out = D.render_image(im, params)
    assert out.size == im.size and out.mode == "RGBA"
    assert np.array_equal(np.asarray(out.convert("RGB")), (full * 255 + 0.5).astype(np.uint8))
    # tone-only edits take the pure look-up-table path
    tone = D.render_uint8(u8, {"exposure": 0.3}, threads=1)
    assert np.abs(tone.astype(np.float32) / 255 - D.render(u8.astype(np.float32) / 255, {"exposure": 0.3})).max() < 3 / 255
    with pytest.raises(ValueError):
        D.render_uint8(photo, params)


# Sharma, Wu & Dalal (2005) CIEDE2000 test data: (Lab1, Lab2, dE00)
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0),
    ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_reference_values():
    a = np.array([s[0] for s in SHARMA])
    b = np.array([s[1] for s in SHARMA])
    want = np.array([s[2] for s in SHARMA])
    assert np.allclose(D.ciede2000(a, b), want, atol=1e-4)
    assert np.allclose(D.ciede2000(b, a), want, atol=1e-4)


def test_lab_and_psnr():
    lab = D.rgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], np.float32))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.05)
    assert np.allclose(lab[1], [0, 0, 0], atol=0.05)
    assert np.allclose(lab[2], [53.24, 80.09, 67.20], atol=0.1)
    x = np.zeros((4, 4, 3), np.float32)
    assert D.psnr(x, x) == float("inf")
    assert abs(D.psnr(x, x + 0.1) - 20.0) < 1e-4
    assert D.delta_e2000(x, x) == 0.0


def test_fit_params_recovers_a_known_edit(photo):
    target = D.render(photo, {"exposure": 0.6, "saturation": 25, "temperature": -20})
    p = D.fit_params(photo, target, names=["exposure", "saturation", "temperature"], max_side=96)
    assert abs(p["exposure"] - 0.6) < 0.1 and abs(p["saturation"] - 25) < 6 and abs(p["temperature"] + 20) < 6
    full = D.fit_params(photo, target, max_side=64, max_iter=15)
    assert D.psnr(D.render(photo, full), target) > 33


def test_auto_contrast_and_proxy(photo):
    dull = 0.3 + 0.4 * photo
    ac = D.auto_contrast(dull)
    assert ac.std() > dull.std()
    p = D.proxy(photo, 100)
    assert max(p.shape[:2]) == 100 and p.dtype == np.float32
    with pytest.raises(ValueError):
        D.to_float(np.zeros((4, 4)))
