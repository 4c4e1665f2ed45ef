"""Hardening of decoding (issue 12): the Pillow format allow-list (item 3), FIFOs and devices swapped in
after the walk (item 5), huge non-image files and unchanged bad files (item 6), a process-wide memory
budget for decodes (item 7). Every input is generated here.
"""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core import imageio, scanner
from piaa_desktop.core.fsutil import NotRegularFile, open_regular
from piaa_desktop.core.imageio import ImageError, MemoryBudget, load_rgb, open_image
from piaa_desktop.core.scanner import scan_folder

REPO = Path(__file__).resolve().parents[1]


def _within(seconds: float, fn, *args):
    """Run ``fn`` in a daemon thread; fail (instead of hanging the suite) if it does not return in time."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn.__name__} blocked for more than {seconds} s"
    return out


# ---------------------------------------------------------------------------------------------- item 3
EPS = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 10 10
%%EndComments
newpath 0 0 moveto 10 10 lineto stroke
showpage
%%EOF
"""


def test_item3_postscript_named_jpg_never_reaches_a_ghostscript_decoder(tmp_path, monkeypatch, catalog, app_paths):
    from PIL import EpsImagePlugin

    calls = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: calls.append("eps") or (_ for _ in ()).throw(SyntaxError("x")))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: calls.append("gs"), raising=False)
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "holiday.jpg").write_bytes(EPS)
    with pytest.raises(ImageError, match="not a recognised image"):
        open_image(lib / "holiday.jpg")
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert [r for _, r in res.errors] == ["not a recognised image (corrupt, or the extension does not match the content)"]
    assert calls == []


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "PPM", "SGI", "TGA", "PCX", "ICO", "DDS", "QOI"])
def test_item3_other_pillow_formats_are_refused_whatever_their_name(tmp_path, fmt):
    Image.init()
    if fmt not in Image.SAVE:
        pytest.skip(f"this Pillow cannot write {fmt}")
    p = tmp_path / f"photo.{fmt.lower()}.jpg"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(p, fmt)
    with pytest.raises(ImageError, match="not a recognised image"):
        load_rgb(p, max_size=64)
    # the same bytes are refused even when the header sniffing is bypassed: the formats= allow-list
    with pytest.raises(Image.UnidentifiedImageError):
        imageio.pil_open(str(p))
    with Image.open(str(p)) as im:
        assert im.format == fmt  # (Pillow alone would have decoded it)


def test_item3_allowed_formats_still_open_even_with_a_wrong_extension(tmp_path):
    arr = np.random.default_rng(1).integers(0, 255, (20, 30, 3), np.uint8)
    for fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        p = tmp_path / f"x_{fmt}.jpg"
        Image.fromarray(arr).save(p, fmt)
        im = load_rgb(p)
        assert im.size == (30, 20) and im.mode == "RGB"


def test_item3_every_image_open_in_the_app_passes_an_allow_list():
    """One place decides what Pillow may decode: every Image.open in the package names formats=."""
    offenders = []
    for f in (REPO / "piaa_desktop").rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        for m in re.finditer(r"Image\.open\(", text):
            depth, i = 1, m.end()
            while depth and i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            if "formats=" not in text[m.end():i]:
                offenders.append(f"{f.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}")
    assert offenders == [], f"Image.open without formats=: {offenders}"


# ---------------------------------------------------------------------------------------------- item 5
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_item5_fifo_swapped_in_after_the_walk_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "a.jpg"
    os.mkfifo(fifo)
    for fn in (open_image, load_rgb):
        out = _within(10, fn, fifo)
        assert isinstance(out.get("error"), ImageError) and "not a regular file" in str(out["error"])
    # the scanner's decode of a path the walk saw as a photo (then swapped): a reason, at once
    rec = _within(10, scanner._decode, str(fifo), 12345, 0.0, tmp_path / "cache")["value"]
    assert "not a regular file" in rec.error and "pipe" in rec.error
    out = _within(10, scanner.file_hash, fifo)
    assert isinstance(out.get("error"), NotRegularFile)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_item5_symlink_to_dev_zero_is_refused(tmp_path, catalog, app_paths):
    link = tmp_path / "z.jpg"
    os.symlink("/dev/zero", link)
    out = _within(10, load_rgb, link)
    assert isinstance(out.get("error"), ImageError) and "device" in str(out["error"])
    rec = _within(10, scanner._decode, str(link), 1 << 40, 0.0, tmp_path / "cache")["value"]
    assert "not a regular file" in rec.error
    with pytest.raises(NotRegularFile):
        open_regular(link)
    # and a whole scan of a folder holding it ends (the walk skips it: not a regular file)
    res = _within(30, scan_folder, catalog, tmp_path, app_paths.cache_dir)["value"]
    assert res.new == []


# ---------------------------------------------------------------------------------------------- item 6
def test_item6_huge_non_image_is_never_hashed_and_not_reread_while_unchanged(tmp_path, catalog, app_paths,
                                                                             monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    big = lib / "x.jpg"
    with open(big, "wb") as fh:  # 2 GB, sparse: costs no disk, but hashing it would read 2 GB
        fh.write(b"\x00\x01garbage, not an image")
        fh.truncate(2 << 30)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(lib / "ok.jpg")
    hashed, opened = [], []
    real_hash, real_open = scanner.file_hash, scanner.open_image
    monkeypatch.setattr(scanner, "file_hash", lambda p: hashed.append(Path(p).name) or real_hash(p))
    monkeypatch.setattr(scanner, "open_image", lambda p: opened.append(Path(p).name) or real_open(p))
    old = time.time() - 60
    os.utime(big, (old, old))
    # st_ctime (set by the writes above) must predate the scan by the mtime slack: a short slack here
    # (the rule is the same; 2 s in the app, for FAT) so the wait past it is short too
    monkeypatch.setattr(scanner, "_MTIME_SLACK", 0.2)
    time.sleep(scanner._MTIME_SLACK + 0.2)
    t = time.perf_counter()
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert time.perf_counter() - t < 20
    assert [Path(p).name for p, _ in res.errors] == ["x.jpg"] and "not a recognised image" in res.errors[0][1]
    assert hashed == ["ok.jpg"]
    hashed.clear(), opened.clear()
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)  # nothing changed
    assert hashed == [] and opened == []  # neither the bad file nor the photo is read again
    assert [Path(p).name for p, _ in res.errors] == ["x.jpg"] and res.unchanged == 1
    # once the file changes it is looked at again (and still not hashed)
    with open(big, "r+b") as fh:
        fh.write(b"\x00\x02")
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert opened == ["x.jpg"] and hashed == []


def test_item6_errors_that_can_change_without_the_file_are_retried(tmp_path, catalog, app_paths, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    p = lib / "a.jpg"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(p)
    old = time.time() - 60
    os.utime(p, (old, old))
    monkeypatch.setattr(scanner, "_MTIME_SLACK", 0.2)  # as above: the same rule with a short slack
    time.sleep(scanner._MTIME_SLACK + 0.2)
    real_open = scanner.open_image

    def denied(path):
        raise ImageError("permission denied: the file cannot be read")

    monkeypatch.setattr(scanner, "open_image", denied)
    assert scan_folder(catalog, lib, app_paths.cache_dir, workers=1).errors
    monkeypatch.setattr(scanner, "open_image", real_open)
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert res.errors == [] and len(res.new) == 1


# ---------------------------------------------------------------------------------------------- item 7
def test_item7_budget_bounds_concurrent_reservations():
    budget = MemoryBudget(100)
    inside, peak, lock = [0], [0], threading.Lock()

    def work():
        with budget.reserve(60):
            with lock:
                inside[0] += 60
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 60

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == 60 and budget.peak == 60 and budget.used == 0
    with pytest.raises(ImageError, match="too large to decode in memory"):
        with budget.reserve(101):
            pass


def test_item7_decode_estimate_comes_from_the_header(tmp_path):
    p = tmp_path / "big.png"
    Image.new("RGB", (4000, 3000), (10, 20, 30)).save(p)  # 12 MP, a few KB on disk
    assert p.stat().st_size < 200_000
    im = open_image(p)
    try:
        assert imageio.decode_bytes(im) == 4000 * 3000 * 4  # Pillow's RGB: 4 bytes a pixel, no copy
        assert imageio.decode_bytes(im, orientation=6) == 4000 * 3000 * 8  # + the rotated copy
        assert imageio.decode_bytes(im.convert("RGBA")) == 4000 * 3000 * 12
    finally:
        im.close()


def test_item7_image_over_the_budget_is_refused_with_a_clear_reason(tmp_path, catalog, app_paths, monkeypatch):
    monkeypatch.setattr(imageio, "DECODE_BUDGET", MemoryBudget(32 << 20))
    lib = tmp_path / "lib"
    lib.mkdir()
    Image.new("RGB", (4000, 3000), (10, 20, 30)).save(lib / "big.png")  # needs ~92 MB (with a rotated copy)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(lib / "small.png")
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=2)
    assert len(res.new) == 1
    [(path, reason)] = res.errors
    assert path.endswith("big.png")
    assert "too large to decode in memory" in reason and "92 MB" in reason and "32 MB" in reason


def test_item7_concurrent_huge_decodes_wait_for_the_budget(tmp_path, catalog, app_paths, monkeypatch):
    budget = MemoryBudget(100 << 20)  # room for two 2400x2400 decodes (~44 MB each), not six
    monkeypatch.setattr(imageio, "DECODE_BUDGET", budget)
    lib = tmp_path / "lib"
    lib.mkdir()
    rng = np.random.default_rng(3)
    for k in range(6):
        Image.new("RGB", (2400, 2400), tuple(int(v) for v in rng.integers(0, 255, 3))).save(lib / f"{k}.png")
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=6)
    assert res.errors == [] and len(res.new) == 6
    assert 2400 * 2400 * 8 <= budget.peak <= budget.total and budget.used == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_item5_variation_fifo_named_like_a_raw_file(tmp_path):
    fifo = tmp_path / "IMG_0001.CR2"
    os.mkfifo(fifo)
    out = _within(10, open_image, fifo)
    assert isinstance(out.get("error"), ImageError) and "not a regular file" in str(out["error"])


def test_item6_variation_valid_header_then_garbage_is_refused_before_hashing(tmp_path, catalog, app_paths,
                                                                             monkeypatch):
    import io

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (64, 64, 3), np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    sos = data.index(b"\xff\xda")  # keep every header segment up to the start of the scan
    lib = tmp_path / "lib"
    lib.mkdir()
    # seeded garbage: about 1 random tail in 200 happens to decode as (garbage) pixels, which the scanner then
    # rightly takes as a readable image (os.urandom made this test fail once in a CI run); this one does not decode
    (lib / "x.jpg").write_bytes(data[: sos + 20] + np.random.default_rng(0).bytes(8 << 20))
    hashed = []
    real_hash = scanner.file_hash
    monkeypatch.setattr(scanner, "file_hash", lambda p: hashed.append(p) or real_hash(p))
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert res.new == [] and len(res.errors) == 1, res
    assert hashed == []
