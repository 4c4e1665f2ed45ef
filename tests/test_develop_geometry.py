"""Geometry in the develop pipeline: flip, quarter turns, straighten and crop (non-destructive)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core import develop as D


def _img(w=120, h=80, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    a[:, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]  # red grows to the right
    a[:, :, 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]  # green grows downwards
    return a


def test_registry_groups_and_enhancer_vectors_ignore_geometry():
    assert set(D.GEOMETRY_NAMES) >= {"angle", "rotate", "flip", "crop_left", "crop_top", "crop_right", "crop_bottom"}
    assert not set(D.GEOMETRY_NAMES) & set(D.PARAM_NAMES)  # the enhancer's parameters
    assert {p.name for p in D.REGISTRY} == set(D.PARAM_NAMES) | set(D.GEOMETRY_NAMES)
    v = D.params_to_vector({"exposure": 0.5, "angle": 7, "crop_left": 0.2})
    assert len(v) == len(D.PARAM_NAMES)
    n = D.normalize_params({"angle": 7, "crop_left": 0.2})
    assert n["angle"] == 7 and n["crop_left"] == 0.2 and not D.is_identity(n) and D.tone_is_identity(n)
    # an empty or inverted crop is no crop
    assert D.normalize_params({"crop_left": 0.8, "crop_right": 0.2})["crop_right"] == 1.0


def test_edit_signature():
    assert D.edit_signature(None) == D.edit_signature({}) == D.edit_signature({"exposure": 0}) == ""
    a = D.edit_signature({"exposure": 0.5})
    assert a and a == D.edit_signature({"exposure": 0.5, "contrast": 0})
    assert a != D.edit_signature({"exposure": 0.55}) != D.edit_signature({"exposure": 0.5, "crop_left": 0.1})


def test_flip_turn_crop_are_exact():
    a = _img()
    assert np.array_equal(D.render_uint8(a, {"flip": 1}), a[:, ::-1])
    assert np.array_equal(D.render_uint8(a, {"rotate": 1}), np.rot90(a, -1))  # clockwise
    assert np.array_equal(D.render_uint8(a, {"rotate": 3}), np.rot90(a, 1))
    out = D.render_uint8(a, {"crop_left": 0.25, "crop_top": 0.5, "crop_right": 0.75, "crop_bottom": 1.0})
    assert np.array_equal(out, a[40:80, 30:90])
    assert D.geometry_output_size(120, 80, {"crop_left": 0.25, "crop_right": 0.75, "rotate": 1}) == (40, 120)
    # float path and PIL path agree with the uint8 path
    f = D.render(a, {"rotate": 1, "crop_left": 0.1, "crop_right": 0.6})
    assert np.allclose(f, D.render_uint8(a, {"rotate": 1, "crop_left": 0.1, "crop_right": 0.6}) / 255, atol=1e-6)
    im = D.render_image(Image.fromarray(a), {"flip": 1, "crop_top": 0.5})
    assert np.array_equal(np.asarray(im), a[40:, ::-1])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_turn_and_flip_follow_what_is_shown(k):
    a = _img()
    p = {"crop_left": 0.1, "crop_top": 0.2, "crop_right": 0.7, "crop_bottom": 0.9, "rotate": 1}
    shown = D.render_uint8(a, p)
    assert np.array_equal(D.render_uint8(a, D.turn(p, k)), np.rot90(shown, -k))
    assert np.array_equal(D.render_uint8(a, D.flip_horizontal(D.turn(p, k))), np.rot90(shown, -k)[:, ::-1])


def test_straighten_turns_clockwise_without_empty_corners():
    a = np.full((200, 300, 3), 200, np.uint8)
    a[98:102, :] = 20  # a dark horizontal line through the centre
    out = D.render_uint8(a, {"angle": 10})
    assert out.shape[0] < 200 and out.shape[1] < 300  # cropped inside the rotated photo
    assert abs(out.shape[1] / out.shape[0] - 1.5) < 0.02  # same aspect ratio
    inner = out[1:-1, 1:-1].astype(int)
    light = inner.sum(-1) > 3 * 150
    # no black corners: every pixel is either the light background or the dark line
    dark_rows, dark_cols = np.nonzero(~light)
    assert inner[0, 0].sum() > 450 and inner[-1, -1].sum() > 450
    # clockwise: the line now goes down to the right
    left_y = dark_rows[dark_cols < out.shape[1] * 0.2].mean()
    right_y = dark_rows[dark_cols > out.shape[1] * 0.8].mean()
    assert right_y - left_y > 0.1 * out.shape[1] * np.tan(np.radians(10))


def test_level_line_straightens_a_tilted_horizon():
    a = np.full((200, 300, 3), 200, np.uint8)
    xs = np.arange(300)
    ys = (100 + (xs - 150) * np.tan(np.radians(6))).astype(int)  # tilted 6 degrees clockwise on screen
    for dy in range(-2, 3):
        a[np.clip(ys + dy, 0, 199), xs] = 20
    ang = D.level_angle(0, ys[0], 299, ys[-1])
    assert ang == pytest.approx(-6, abs=0.5)
    out = D.render_uint8(a, {"angle": ang}).astype(int)
    dark_rows, dark_cols = np.nonzero(out.sum(-1) < 300)
    left = dark_rows[dark_cols < out.shape[1] * 0.2].mean()
    right = dark_rows[dark_cols > out.shape[1] * 0.8].mean()
    assert abs(right - left) < 2.0
    assert D.level_angle(10, 0, 12, 100) == pytest.approx(np.degrees(np.arctan2(2, 100)), abs=1e-6)  # plumb


def test_crop_to_ratio_and_stored_corners():
    p = D.crop_to_ratio({}, 300, 200, 1.0)
    w, h = D.geometry_output_size(300, 200, p)
    assert abs(w - h) <= 1 and h == 200
    p = D.crop_to_ratio({"rotate": 1}, 300, 200, 4 / 5)
    w, h = D.geometry_output_size(300, 200, p)
    assert abs(w / h - 0.8) < 0.01
    # corners in the frame of the unturned photo: a crop of the left half after a clockwise quarter
    # turn is the bottom half of the stored photo
    (l, t), (r, b) = D.map_to_stored({"rotate": 1, "crop_right": 0.5}, 300, 200)
    assert (min(l, r), min(t, b), max(l, r), max(t, b)) == pytest.approx((0, 0.5, 1, 1))
    (l, t), (r, b) = D.map_to_stored({"crop_left": 0.1, "crop_top": 0.2, "crop_right": 0.6, "crop_bottom": 0.7}, 300, 200)
    assert (l, t, r, b) == pytest.approx((0.1, 0.2, 0.6, 0.7))


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_lightroom_crop_fields_round_trip(orientation):
    p = {"crop_left": 0.1, "crop_top": 0.2, "crop_right": 0.7, "crop_bottom": 0.9}
    crs = D.crs_crop(p, 300, 200, orientation)
    assert crs["HasCrop"] and crs["CropAngle"] == 0
    back = D.params_from_crs(crs, 300, 200, orientation)
    for k, v in p.items():
        assert back[k] == pytest.approx(v, abs=1e-6)
    # straightened (no turn): corners of the crop in the unstraightened photo, angle sign as Lightroom's readers
    p2 = {"angle": 4.0, "crop_left": 0.15, "crop_top": 0.15, "crop_right": 0.85, "crop_bottom": 0.85}
    crs2 = D.crs_crop(p2, 300, 200)
    assert crs2["CropAngle"] == -4.0
    back2 = D.params_from_crs(crs2, 300, 200)
    assert back2["angle"] == pytest.approx(4.0)
    assert D.crop_box(300, 200, back2) == pytest.approx(D.crop_box(300, 200, p2), abs=1e-3)
    # a turned photo: the crop still maps onto the stored pixels (no straighten)
    crs3 = D.crs_crop({"rotate": 1, "crop_right": 0.5}, 300, 200)
    assert (crs3["CropLeft"], crs3["CropTop"], crs3["CropRight"], crs3["CropBottom"]) == pytest.approx((0, 0.5, 1, 1))
    assert D.crs_crop({"rotate": 1, "angle": 3}, 300, 200) is None  # only the app's own fields can say it
    assert D.crs_crop({"exposure": 1}, 300, 200) is None
