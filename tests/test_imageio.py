import io
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from piaa_desktop.core.imageio import ImageError, load_rgb, open_image, read_exif


def _jpeg_bytes(w=64, h=48, exif=None):
    buf = io.BytesIO()
    im = Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8))
    im.save(buf, format="JPEG", exif=exif or b"")
    return buf.getvalue()


def test_real_photo_decodes(photos_dir):
    p = sorted(photos_dir.glob("*.jpg"))[0]
    im = load_rgb(p, max_size=200)
    assert im.mode == "RGB" and max(im.size) == 200


def test_exif_fields_and_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    exif[0x0112] = 6  # rotate 90 CW on display
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = "2024:05:01 10:11:12"
    ifd[0x8827] = 800
    ifd[0x829A] = (1, 250)
    ifd[0x829D] = (28, 10)
    ifd[0x920A] = (50, 1)
    ifd[0xA434] = "RF24-70mm F2.8"
    p = tmp_path / "a.jpg"
    p.write_bytes(_jpeg_bytes(64, 48, exif.tobytes()))
    info = read_exif(open_image(p))
    assert info.camera == "Canon EOS R5"
    assert info.capture_time == "2024-05-01T10:11:12"
    assert info.iso == 800 and info.shutter == pytest.approx(1 / 250) and info.aperture == pytest.approx(2.8)
    assert info.focal_length == 50 and info.lens == "RF24-70mm F2.8" and info.orientation == 6
    assert load_rgb(p).size == (48, 64)  # portrait after orientation


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("zero.jpg", b"", "empty"),
        ("text.jpg", b"hello, not an image", "not a recognised image"),
        ("trunc.jpg", None, "truncated"),
    ],
)
def test_bad_files_give_clear_reasons(tmp_path, name, data, reason):
    p = tmp_path / name
    p.write_bytes(data if data is not None else _jpeg_bytes(256, 256)[:600])
    with pytest.raises(ImageError, match=reason):
        load_rgb(p)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(w, h):
    """A valid PNG header claiming w x h pixels, with a tiny IDAT: a decompression-bomb lookalike."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def test_decompression_bomb_header_refused(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header(20000, 20000))
    with pytest.raises(ImageError, match="too large"):
        load_rgb(p)


def test_truncated_png(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 200, 30)).save(buf, format="PNG")
    p = tmp_path / "t.png"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError):
        load_rgb(p)


def test_cmyk_16bit_and_alpha_become_rgb(tmp_path):
    Image.new("CMYK", (20, 10), (0, 255, 0, 0)).save(tmp_path / "c.jpg")
    Image.fromarray(np.full((10, 20), 40000, dtype=np.uint16)).save(tmp_path / "g16.png")
    Image.new("RGBA", (20, 10), (255, 0, 0, 0)).save(tmp_path / "a.png")
    for n in ("c.jpg", "g16.png", "a.png"):
        im = load_rgb(tmp_path / n)
        assert im.mode == "RGB" and im.size == (20, 10)
    assert load_rgb(tmp_path / "a.png").getpixel((0, 0)) == (255, 255, 255)  # transparent -> white


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can read any file")
    p = tmp_path / "locked.jpg"
    p.write_bytes(_jpeg_bytes())
    p.chmod(0)
    with pytest.raises(ImageError, match="permission"):
        load_rgb(p)


def test_raw_without_decoder_is_clear(tmp_path):
    p = tmp_path / "x.nef"
    p.write_bytes(b"\x00" * 1000)
    with pytest.raises(ImageError):
        load_rgb(p)


BASE = _jpeg_bytes(32, 32)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), min_size=1, max_size=12),
       st.integers(10, len(BASE)))
def test_fuzz_corrupted_jpeg_never_crashes(tmp_path, edits, cut):
    data = bytearray(BASE[:cut])
    for pos, val in edits:
        if pos < len(data):
            data[pos] = val
    p = tmp_path / "f.jpg"
    p.write_bytes(bytes(data))
    try:
        im = load_rgb(p, max_size=64)
        assert im.mode == "RGB"
        read_exif(open_image(p))
    except ImageError as exc:
        assert str(exc)
