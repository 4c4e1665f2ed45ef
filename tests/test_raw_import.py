"""Camera RAW by default: the embedded preview for speed (JPEG or bitmap), a half-size decode when there
is none (or it is too small), a full demosaic only for a 100 % view; a truncated or damaged file is
imported from its preview or skipped with a plain reason, never a traceback. Generated DNG files
(tests/_raw_fixtures.py: real Bayer data LibRaw decodes, with or without an embedded preview)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

rawpy = pytest.importorskip("rawpy")

from _cli_helpers import piaa_data  # noqa: E402
from _raw_fixtures import make_dng, raw_data_bytes, truncate  # noqa: E402
from piaa_desktop.core import imageio  # noqa: E402
from piaa_desktop.core.imageio import RAW_PREVIEW_MIN_EDGE, ImageError, load_full_rgb, load_rgb, open_image  # noqa: E402

BIG = (600, 900)  # (h, w) of a preview larger than RAW_PREVIEW_MIN_EDGE


def test_rawpy_is_a_default_dependency():
    import re

    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    assert re.search(r'^\s*"rawpy>=', deps, re.M)
    assert imageio.raw_available() and ".nef" in imageio.supported_extensions()


@pytest.mark.parametrize("kind", ["jpeg", "bitmap"])
def test_a_large_embedded_preview_is_used_without_decoding(tmp_path, kind):
    p = make_dng(tmp_path / f"p_{kind}.dng", size=(300, 450), preview=kind, preview_size=BIG)
    im = open_image(p)
    assert im.size == (BIG[1], BIG[0]) and im.info["raw_source"] == "preview"  # no demosaic
    assert im.info["raw_size"] == (450, 300) and im.info["raw_format"] == "DNG"
    assert load_rgb(p, max_size=256).size == (256, round(256 * BIG[0] / BIG[1]))
    # 100 %: the full demosaic, at the raw data's size (the preview is bigger here, but not the photo)
    full = load_full_rgb(p)
    assert full.size == (450, 300) and full.info.get("raw_source") == "full"


def test_no_preview_or_a_tiny_one_decodes_at_half_size(tmp_path):
    for name, kind in (("none.dng", None), ("tiny.dng", "bitmap")):
        p = make_dng(tmp_path / name, size=(256, 384), preview=kind, preview_size=(40, 60))
        im = open_image(p)
        assert im.info["raw_source"] == "half" and im.size == (192, 128)
        assert im.info["raw_size"] == (384, 256)
    assert 60 < RAW_PREVIEW_MIN_EDGE


def test_truncated_raw_with_a_preview_is_imported_from_it(tmp_path):
    p = make_dng(tmp_path / "ok.dng", preview="jpeg", preview_size=(120, 180))
    t = truncate(p, tmp_path / "cut.dng", p.stat().st_size - raw_data_bytes() // 2)
    im = open_image(t)
    assert im.info["raw_source"] == "preview" and im.size == (180, 120)
    assert "embedded preview" in im.info["raw_note"] and "truncated or damaged" in im.info["raw_note"]
    with pytest.raises(ImageError, match="truncated or damaged"):
        load_full_rgb(t)  # no full resolution to zoom into: a plain reason, the preview stays


def test_truncated_raw_without_preview_and_garbage_are_skipped_with_a_reason(tmp_path):
    p = make_dng(tmp_path / "ok.dng")
    t = truncate(p, tmp_path / "cut.dng", p.stat().st_size - raw_data_bytes() // 2)
    with pytest.raises(ImageError) as e:
        open_image(t)
    assert "truncated or damaged" in str(e.value) and "no embedded preview" in str(e.value)
    junk = tmp_path / "junk.nef"
    junk.write_bytes(b"not a raw file at all " * 100)
    with pytest.raises(ImageError, match="not a RAW file"):
        open_image(junk)
    header_only = truncate(p, tmp_path / "header.dng", 40)
    with pytest.raises(ImageError):
        open_image(header_only)


def test_scan_imports_or_skips_each_raw_with_a_reason(tmp_path, catalog):
    from piaa_desktop.core.scanner import scan_folder

    lib = tmp_path / "lib"
    lib.mkdir()
    good = make_dng(lib / "good_preview.dng", size=(300, 450), preview="jpeg", preview_size=BIG)
    make_dng(lib / "no_preview.dng")
    cut = make_dng(tmp_path / "c.dng", preview="bitmap")
    truncate(cut, lib / "cut_with_preview.dng", cut.stat().st_size - raw_data_bytes() // 2)
    bare = make_dng(tmp_path / "b.dng")
    truncate(bare, lib / "cut_bare.dng", bare.stat().st_size - raw_data_bytes() // 2)
    (lib / "junk.cr2").write_bytes(b"\0" * 5000)
    res = scan_folder(catalog, lib, tmp_path / "thumbs")
    names = {Path(p.path).name: p for p in catalog.photos()}
    assert set(names) == {"good_preview.dng", "no_preview.dng", "cut_with_preview.dng"}
    assert (names["good_preview.dng"].width, names["good_preview.dng"].height) == (450, 300)
    assert names["good_preview.dng"].format == "DNG" and good.exists()
    skipped = {Path(p).name: r for p, r in res.errors}
    assert set(skipped) == {"cut_bare.dng", "junk.cr2"}
    for reason in skipped.values():
        assert reason and "Traceback" not in reason and "Error:" not in reason.split("(")[0]
    assert [Path(p).name for p, _n in res.notes] == ["cut_with_preview.dng"]
    assert "from the embedded preview" in res.summary()


def test_cli_scan_of_raw_folder_reports_reasons_not_tracebacks(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_dng(lib / "a.dng", preview="jpeg", preview_size=BIG)
    bare = make_dng(tmp_path / "b.dng")
    truncate(bare, lib / "b_cut.dng", 3000)
    out = piaa_data(tmp_path / "d", "scan", str(lib), "--json")  # the command's behaviour: in this process
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    res = json.loads(out.stdout[out.stdout.index("{"):])
    assert res["new"] == 1 and [Path(e["path"]).name for e in res["errors"]] == ["b_cut.dng"]


def test_the_loupe_decodes_a_raw_whose_preview_is_too_small_for_a_screen(tmp_path):
    from piaa_desktop.gui.loupe import LOUPE_RAW_MIN_EDGE  # noqa: F401 - the loupe's threshold exists

    # a 900x600 preview of a 2000x1300 photo: enough for thumbnails, not for the loupe
    p = make_dng(tmp_path / "big.dng", size=(1300, 2000), preview="jpeg", preview_size=BIG)
    assert open_image(p).info["raw_source"] == "preview"
    im = open_image(p, raw_min_edge=1600)
    assert im.info["raw_source"] == "half" and im.size == (1000, 650)
    # a preview as large as a half-size decode would be is kept
    q = make_dng(tmp_path / "small.dng", size=(300, 450), preview="jpeg", preview_size=BIG)
    assert open_image(q, raw_min_edge=1600).info["raw_source"] == "preview"
