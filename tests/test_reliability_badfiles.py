"""Bad files: a corpus of broken inputs generated here is imported without a crash, each bad file with a
recorded reason (shown in the GUI's Skipped files dialog); fuzz tests of the decode and EXIF paths.

(tests/test_scanner.py covers the basic truncated JPEG / empty / not-an-image / 20000x20000 PNG / 1x1 /
directory symlink loop / latin-1 name; this file adds the rest of the issue's list and the fuzzing.)
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from _reliability_helpers import file_hashes

from piaa_desktop.core import scanner
from piaa_desktop.core.imageio import load_rgb, open_image, read_exif
from piaa_desktop.core.scanner import import_folder

# Pillow warns about every corrupt EXIF tag it skips: expected here, by design of the corpus.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# ---------------------------------------------------------------------------------------------- builders
def jpeg_bytes(w=96, h=64, exif: bytes = b"", mode="RGB", seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    arr[:, : w // 2] //= 3  # some structure, not pure noise
    im = Image.fromarray(arr)
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90, exif=exif)
    return buf.getvalue()


def png_bytes(w=80, h=60, sixteen=False) -> bytes:
    buf = io.BytesIO()
    if sixteen:
        a = (np.linspace(0, 65535, w * h).reshape(h, w)).astype(np.uint16)
        Image.fromarray(a).save(buf, format="PNG")
    else:
        Image.fromarray(np.random.default_rng(3).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(w: int, h: int, depth: int = 8, color: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b"")


def tiff_bytes(w: int, h: int, bps: int = 16, spp: int = 3, data: bytes | None = None) -> bytes:
    """A minimal uncompressed little-endian TIFF (16-bit RGB by default)."""
    if data is None:
        a = np.random.default_rng(1).integers(0, 2 ** bps - 1, (h, w, spp))
        data = a.astype("<u2" if bps == 16 else "u1").tobytes()
    n = 10
    bps_off = 8 + 2 + n * 12 + 4
    data_off = bps_off + 2 * spp
    entries = [
        (256, 4, 1, w), (257, 4, 1, h), (258, 3, spp, bps_off), (259, 3, 1, 1), (262, 3, 1, 2 if spp == 3 else 1),
        (273, 4, 1, data_off), (277, 3, 1, spp), (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1),
    ]
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", n))
    for tag, typ, count, value in entries:
        if typ == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, value)
    out += struct.pack("<I", 0) + struct.pack("<" + "H" * spp, *([bps] * spp)) + data
    return bytes(out)


def jpeg_with_size(data: bytes, w: int, h: int) -> bytes:
    """Rewrite the SOF0 frame size of a JPEG (the pixels stay tiny)."""
    b = bytearray(data)
    i = b.index(b"\xff\xc0")
    b[i + 5 : i + 7] = struct.pack(">H", h)
    b[i + 7 : i + 9] = struct.pack(">H", w)
    return bytes(b)


def corrupt_app1(data: bytes, seed: int = 0) -> bytes:
    """Garbage in the EXIF (APP1) segment, keeping its length and the 'Exif' signature."""
    b = bytearray(data)
    i = b.index(b"\xff\xe1")
    length = struct.unpack(">H", b[i + 2 : i + 4])[0]
    start, end = i + 4 + 6, i + 2 + length  # after "Exif\0\0"
    b[start:end] = np.random.default_rng(seed).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    return bytes(b)


def camera_exif() -> bytes:
    ex = Image.Exif()
    ex[0x010F] = "Canon"
    ex[0x0110] = "Canon EOS R5"
    ex[0x0112] = 6
    ex.get_ifd(0x8769)[0x9003] = "2024:05:01 10:11:12"
    return ex.tobytes()


# ---------------------------------------------------------------------------------------------- corpus
GOOD = {  # name -> why it must import
    "wrong_ext_png_data.jpg": "PNG data behind a .jpg name",
    "wrong_ext_jpeg_data.tif": "JPEG data behind a .tif name",
    "one_pixel.jpg": "1x1",
    "cmyk.jpg": "CMYK JPEG",
    "sixteen_bit.png": "16-bit greyscale PNG",
    "sixteen_bit_rgb.tif": "16-bit RGB TIFF",
    "corrupt_exif.jpg": "garbage EXIF: the photo is kept without its EXIF",
    "garbage_exif_header.jpg": "APP1 that is not EXIF at all",
}
BAD = {  # name -> words the recorded reason must contain
    "truncated.jpg": "truncated",
    "truncated.png": ("truncated", "corrupt"),
    "truncated.tif": ("truncated", "corrupt", "not a recognised"),
    "zero_bytes.tif": "empty",
    "text_as.png": "not a recognised image",
    "huge_header.png": "too large",
    "huge_header.jpg": "too large",
    "huge_header.tif": "too large",
    "unreadable.jpg": "permission denied",
    "file_loop_a.jpg": "cannot read file information",
}


def make_corpus(lib: Path, real_jpeg: bytes) -> dict[str, Path]:
    lib.mkdir(parents=True, exist_ok=True)
    w = lambda name, data: (lib / name).write_bytes(data)  # noqa: E731
    w("wrong_ext_png_data.jpg", png_bytes())
    w("wrong_ext_jpeg_data.tif", real_jpeg)
    w("one_pixel.jpg", jpeg_bytes(1, 1))
    w("cmyk.jpg", jpeg_bytes(64, 48, mode="CMYK"))
    w("sixteen_bit.png", png_bytes(sixteen=True))
    w("sixteen_bit_rgb.tif", tiff_bytes(40, 30))
    w("corrupt_exif.jpg", corrupt_app1(jpeg_bytes(64, 48, exif=camera_exif(), seed=5)))
    g = bytearray(jpeg_bytes(64, 48, seed=6))
    seg = b"\xff\xe1" + struct.pack(">H", 2 + 200) + os.urandom(200)
    w("garbage_exif_header.jpg", bytes(g[:2]) + seg + bytes(g[2:]))

    w("truncated.jpg", real_jpeg[: len(real_jpeg) // 2])
    p = png_bytes(300, 200)
    w("truncated.png", p[: len(p) // 2])
    t = tiff_bytes(200, 150)
    w("truncated.tif", t[: len(t) // 3])
    w("zero_bytes.tif", b"")
    w("text_as.png", b"this is a text file that claims to be a PNG\n" * 20)
    w("huge_header.png", png_header(60000, 60000))
    w("huge_header.jpg", jpeg_with_size(jpeg_bytes(16, 16), 60000, 60000))
    w("huge_header.tif", tiff_bytes(60000, 60000, data=b"\0" * 256))
    w("unreadable.jpg", real_jpeg)  # made unreadable by the test (root reads everything)
    os.symlink("file_loop_b.jpg", lib / "file_loop_a.jpg")  # a -> b -> a
    os.symlink("file_loop_a.jpg", lib / "file_loop_b.jpg")
    (lib / "sub").mkdir()
    os.symlink("..", lib / "sub" / "up")  # directory loop
    os.symlink(lib / "does-not-exist.jpg", lib / "dangling.jpg")
    # non-UTF-8 names: one good photo, one bad file
    raw = os.fsencode(str(lib))
    with open(raw + b"/gr\xfcn-\xff.jpg", "wb") as fh:
        fh.write(real_jpeg)
    with open(raw + b"/kaputt-\xe9.png", "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return {n: lib / n for n in [*GOOD, *BAD]}


@pytest.fixture
def corpus(tmp_path, photos_dir, monkeypatch):
    lib = tmp_path / "bad-library"
    real = sorted(photos_dir.glob("*.jpg"))[7].read_bytes()
    files = make_corpus(lib, real)
    unreadable = str(files["unreadable.jpg"])
    real_open = builtins.open

    def guarded_open(file, *a, **k):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) == unreadable:
            raise PermissionError(errno.EACCES, "Permission denied", unreadable)
        return real_open(file, *a, **k)

    # The scanner hashes with open(); Pillow opens with builtins.open. Root can read any file, so deny here.
    monkeypatch.setattr(scanner, "open", guarded_open, raising=False)
    monkeypatch.setattr(builtins, "open", guarded_open)
    real_os_open = os.open

    def guarded_os_open(file, *a, **k):  # photos are opened with os.open (non-blocking, then fstat)
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsdecode(file) == unreadable:
            raise PermissionError(errno.EACCES, "Permission denied", unreadable)
        return real_os_open(file, *a, **k)

    monkeypatch.setattr(os, "open", guarded_os_open)
    return lib, files


def test_bad_file_corpus_imports_without_crash_and_records_reasons(corpus, catalog, app_paths):
    lib, files = corpus
    before = file_hashes(lib)
    res = import_folder(catalog, lib, app_paths.thumbnails, workers=2)
    assert not res.cancelled
    reasons = dict(res.errors)
    print("\n".join(f"{Path(k).name}: {v}" for k, v in sorted(reasons.items())))
    recorded = dict(catalog.import_errors())
    assert recorded == reasons  # everything skipped is in the catalog, with its reason

    for name, why in BAD.items():
        r = reasons.get(str(files[name]))
        assert r, f"{name}: no reason recorded ({reasons})"
        words = why if isinstance(why, tuple) else (why,)
        assert any(wd in r for wd in words), f"{name}: {r!r}"
    assert "Too many levels" in reasons[str(files["file_loop_a.jpg"])] or "loop" in reasons[str(files["file_loop_a.jpg"])].lower()
    bad_latin = [p for p in reasons if "kaputt-" in p]
    assert len(bad_latin) == 1 and "\\xe9" in bad_latin[0]  # shown with an escape, not a crash

    imported = {Path(p.path).name: p for p in catalog.photos()}
    for name, why in GOOD.items():
        assert name in imported, f"{name} ({why}) was not imported: {reasons.get(str(files[name]))}"
    assert any(n.startswith("gr") and "\\xff" in n for n in imported)  # non-UTF-8 name, stored escaped
    assert imported["one_pixel.jpg"].width == 1
    assert imported["cmyk.jpg"].width == 64 and imported["sixteen_bit_rgb.tif"].width == 40
    assert imported["corrupt_exif.jpg"].camera is None  # garbage EXIF gives empty fields, never a crash
    # each imported photo has a thumbnail, signals, an embedding and a score
    from piaa_desktop.core.thumbnails import load_thumbnail

    for p in imported.values():
        assert load_thumbnail(app_paths.thumbnails, p.content_hash) is not None, p.path
    assert res.embedded == len(imported) and res.scored == len(imported)
    assert file_hashes(lib) == before  # the originals, bad ones included, are untouched

    # a rescan records the same reasons again, without duplicates, and imports nothing twice
    res2 = import_folder(catalog, lib, app_paths.thumbnails, workers=2)
    assert res2.new == [] and dict(catalog.import_errors()) == recorded


def test_skipped_files_are_shown_in_the_gui_with_their_reason(corpus, catalog, app_paths, qtbot):
    pytest.importorskip("PySide6")
    try:
        from piaa_desktop.gui.dialogs import SkippedFilesDialog
    except ImportError as exc:
        pytest.skip(f"piaa_desktop.gui.dialogs.SkippedFilesDialog not available: {exc}")
    lib, files = corpus
    import_folder(catalog, lib, app_paths.thumbnails, embeddings=False, score=False, workers=2)
    errors = catalog.import_errors()
    dlg = SkippedFilesDialog(errors)
    qtbot.addWidget(dlg)
    shown = dict(dlg.rows())
    assert shown == dict(errors)
    for name in BAD:
        assert shown[str(files[name])]
    assert f"{len(errors)} files were skipped" in dlg.summary.text()


def test_disk_read_error_mid_file_is_a_reason_not_a_crash(tmp_path, catalog, app_paths, photos_dir, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    for k, p in enumerate(sorted(photos_dir.glob("*.jpg"))[:3]):
        (lib / f"{k}.jpg").write_bytes(p.read_bytes())
    real_hash = scanner.file_hash

    def flaky(path):
        if str(path).endswith("1.jpg"):
            raise OSError(errno.EIO, "Input/output error")
        return real_hash(path)

    monkeypatch.setattr(scanner, "file_hash", flaky)
    res = import_folder(catalog, lib, app_paths.thumbnails, embeddings=False, workers=2)
    assert len(res.new) == 2
    assert dict(res.errors)[str(lib / "1.jpg")] == "cannot read file: Input/output error"


# ---------------------------------------------------------------------------------------------- fuzzing
BASE_EXIF_JPEG = jpeg_bytes(40, 30, exif=camera_exif(), seed=9)
_TYPES = st.sampled_from([1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 0, 13, 255])
_TAGS = st.sampled_from([0x010F, 0x0110, 0x0112, 0x0132, 0x8769, 0x8825, 0x9003, 0x8827, 0x829A, 0x829D,
                         0x920A, 0xA434, 0x927C, 0x0201, 0x0202, 0xFFFF, 0x0000])


@st.composite
def tiff_ifd(draw) -> bytes:
    """A structurally plausible EXIF TIFF block with fuzzed entries (types, counts, offsets, nested IFDs)."""
    endian = draw(st.sampled_from(["<", ">"]))
    n = draw(st.integers(0, 12))
    entries = b""
    for _ in range(n):
        entries += struct.pack(
            endian + "HHII",
            draw(_TAGS),
            draw(_TYPES),
            draw(st.one_of(st.integers(0, 8), st.integers(0, 2 ** 32 - 1))),
            draw(st.one_of(st.integers(0, 200), st.integers(0, 2 ** 32 - 1))),
        )
    first = draw(st.one_of(st.just(8), st.integers(0, 2 ** 32 - 1)))
    tail = draw(st.binary(max_size=120))
    magic = b"II*\x00" if endian == "<" else b"MM\x00*"
    return magic + struct.pack(endian + "I", first) + struct.pack(endian + "H", n) + entries + struct.pack(endian + "I", draw(st.integers(0, 300))) + tail


def _with_app1(jpeg: bytes, payload: bytes) -> bytes:
    payload = payload[: 65533 - 8]
    seg = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(payload)) + b"Exif\x00\x00" + payload
    return jpeg[:2] + seg + jpeg[2:]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(tiff_ifd(), st.binary(max_size=400)))
def test_fuzz_exif_block_never_breaks_decode(tmp_path, payload):
    p = tmp_path / "fuzz.jpg"
    p.write_bytes(_with_app1(jpeg_bytes(24, 16, seed=1), payload))
    info = read_exif(open_image(p))  # never raises on broken EXIF
    assert info.orientation in (None, 1, 2, 3, 4, 5, 6, 7, 8)
    assert info.iso is None or (isinstance(info.iso, int) and info.iso > 0)
    for v in (info.shutter, info.aperture, info.focal_length):
        assert v is None or np.isfinite(v)
    for v in (info.camera, info.lens, info.capture_time):
        assert v is None or (isinstance(v, str) and "\x00" not in v)
    im = load_rgb(p, max_size=32)  # the photo itself is fine whatever the EXIF says
    assert im.mode == "RGB" and max(im.size) <= 32


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["png", "tiff", "jpeg_sof"]),
    w=st.integers(0, 70000),
    h=st.integers(0, 70000),
    depth=st.sampled_from([1, 2, 4, 8, 16, 3, 0]),
    color=st.sampled_from([0, 2, 3, 4, 6, 1, 7]),
    tail=st.binary(max_size=64),
)
def test_fuzz_headers_through_the_import_decode(tmp_path, kind, w, h, depth, color, tail):
    """Random frame sizes and pixel formats through the scanner's whole per-file decode (hash, header,
    EXIF, thumbnail, signals): it returns metadata or a reason, never raises."""
    if kind == "png":
        data = png_header(w, h, depth, color) + tail
        name = "f.png"
    elif kind == "tiff":
        data = tiff_bytes(max(w, 1), max(h, 1), bps=16 if depth == 16 else 8, spp=3 if color == 2 else 1,
                          data=tail or b"\0")
        name = "f.tif"
    else:
        data = jpeg_with_size(jpeg_bytes(8, 8), w % 65536, h % 65536) + tail
        name = "f.jpg"
    p = tmp_path / name
    p.write_bytes(data)
    rec = scanner._decode(str(p), len(data), 0.0, tmp_path / "cache")
    assert (rec.error is None) != (rec.meta is None)
    if rec.error:
        assert isinstance(rec.error, str) and rec.error
    else:
        assert rec.meta["width"] >= 1 and rec.meta["height"] >= 1
        assert rec.meta["width"] * rec.meta["height"] <= 200_000_000
    assert not list((tmp_path / "cache").rglob("*.part"))
