"""Export output options: formats (JPEG, PNG, 16-bit TIFF), colour spaces with generated ICC profiles,
output sharpening, templates with {seq}, presets, the ranking named, export scoped to what is shown."""
from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from piaa_desktop.core import output
from piaa_desktop.core.export import (
    ExportOptions,
    apply_preset,
    describe_selection,
    export_photos,
    preset_of,
    presets,
    select_for_export,
)

EXIFTOOL = shutil.which("exiftool")


def _read_tiff16(data: bytes) -> tuple[np.ndarray, dict]:
    """A minimal reader for the baseline TIFF tiff16_bytes writes (little-endian, one strip)."""
    assert data[:4] == b"II*\0"
    (ifd,) = struct.unpack_from("<I", data, 4)
    (n,) = struct.unpack_from("<H", data, ifd)
    tags = {}
    for k in range(n):
        tag, typ, count, val = struct.unpack_from("<HHI4s", data, ifd + 2 + 12 * k)
        size = {2: 1, 3: 2, 4: 4, 5: 8, 7: 1}[typ] * count
        raw = val[:size] if size <= 4 else data[struct.unpack("<I", val)[0]:][:size]
        tags[tag] = (typ, count, raw)
    w = struct.unpack("<I", tags[256][2])[0]
    h = struct.unpack("<I", tags[257][2])[0]
    bps = struct.unpack("<3H", tags[258][2])
    off = struct.unpack("<I", tags[273][2])[0]
    px = np.frombuffer(data, dtype="<u2", count=w * h * 3, offset=off).reshape(h, w, 3)
    return px, {"bps": bps, "icc": tags.get(34675, (0, 0, None))[2]}


def _gradient(w=64, h=48) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.float32)
    rgb = np.stack([np.tile(x, (h, 1)), np.tile(x[::-1], (h, 1)), np.full((h, w), 90, np.float32)], -1)
    rgb[h // 2 - 2: h // 2 + 2, :, :] = 255  # a white bar: an edge to sharpen
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


# ------------------------------------------------------------------------------------------ colour
@pytest.mark.parametrize("space,red", [("display-p3", (234, 51, 35)), ("adobe-rgb", (219, 0, 0))])
def test_generated_profiles_are_real_icc_and_agree_with_littlecms(space, red):
    data = output.icc_profile(space)
    prof = ImageCms.ImageCmsProfile(io.BytesIO(data))
    assert ImageCms.getProfileDescription(prof).strip() == output.COLOR_SPACES[space]
    cols = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [200, 120, 40]]], np.uint8)
    lcms = np.asarray(ImageCms.profileToProfile(Image.fromarray(cols, "RGB"), ImageCms.createProfile("sRGB"), prof,
                                                outputMode="RGB", renderingIntent=1)).astype(int)
    ours = np.round(output.convert_from_srgb(cols / 255.0, space) * 255).astype(int)
    assert np.abs(lcms - ours).max() <= 1
    assert tuple(ours[0, 0]) == red  # sRGB red inside the wider gamut (published values)
    back = np.asarray(ImageCms.profileToProfile(Image.fromarray(ours.astype(np.uint8), "RGB"), prof,
                                                ImageCms.createProfile("sRGB"), outputMode="RGB", renderingIntent=1))
    assert np.abs(back.astype(int) - cols.astype(int)).max() <= 3  # and back


def test_sharpening_raises_edge_contrast_print_more_than_screen():
    rgb = output.to_float(_gradient())
    row = rgb.shape[0] // 2 - 3  # just outside the white bar
    base = rgb[row, 10, 2]
    screen = output.sharpen(rgb, "screen")[row, 10, 2]
    prt = output.sharpen(rgb, "print")[row, 10, 2]
    assert prt < screen < base  # the dark side of the edge gets darker: more contrast
    assert np.array_equal(output.sharpen(rgb, "none"), rgb)
    with pytest.raises(ValueError):
        output.sharpen(rgb, "extreme")


def test_tiff16_is_16_bits_with_profile_and_smooth():
    enc = output.encode(_gradient(), "tiff16", color_space="adobe-rgb", long_edge=40)
    px, info = _read_tiff16(enc.data)
    assert info["bps"] == (16, 16, 16) and px.shape == (30, 40, 3) and enc.size == (40, 30)
    prof = ImageCms.ImageCmsProfile(io.BytesIO(info["icc"]))
    assert "Adobe RGB" in ImageCms.getProfileDescription(prof)
    assert len(np.unique(px[0, :, 0])) == 40  # resized in float: values between the 8-bit steps
    assert np.any(px[0, :, 0] % 257 != 0)
    with Image.open(io.BytesIO(enc.data)) as im:  # another reader opens it too
        assert im.size == (40, 30)


# ------------------------------------------------------------------------------------------ export
@pytest.fixture
def lib_catalog(catalog, tmp_path, app_paths):
    from piaa_desktop.core.sample import copy_sample_library
    from piaa_desktop.core.scanner import scan_folder

    lib = copy_sample_library(tmp_path / "lib")
    sub = lib / "sub"
    sub.mkdir()
    photos = sorted(lib.glob("*.jpg"))
    for p in photos[:3]:
        p.rename(sub / p.name)
    scan_folder(catalog, lib, app_paths.cache_dir, workers=2)
    ids = catalog.query_ids(sort="name")
    catalog.set_scores("generic", [(pid, 4.5 - k * 0.3, None) for k, pid in enumerate(ids)])  # sub/ ranks last
    return catalog, lib, ids


def test_export_formats_colour_spaces_and_seq_template(lib_catalog, tmp_path):
    cat, lib, ids = lib_catalog
    opts = ExportOptions(top_n=2, format="png", color_space="display-p3", sharpening="screen", long_edge=300,
                         template="{seq:02d}_{name}", score_kind="generic")
    chosen = select_for_export(cat, opts)
    rep = export_photos(cat, chosen, tmp_path / "out", opts)
    assert rep.exported == 2
    names = sorted(Path(r.dest).name for r in rep.rows)
    assert names[0].startswith("01_") and names[1].startswith("02_") and all(n.endswith(".png") for n in names)
    with Image.open(rep.rows[0].dest) as im:
        assert im.format == "PNG" and max(im.size) == 300
        assert "Display P3" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"])))
    opts = ExportOptions(top_n=1, format="tiff16", color_space="adobe-rgb", sharpening="print", score_kind="generic")
    rep = export_photos(cat, select_for_export(cat, opts), tmp_path / "tif", opts)
    data = Path(rep.rows[0].dest).read_bytes()
    px, info = _read_tiff16(data)
    assert rep.rows[0].dest.endswith(".tif") and info["bps"] == (16, 16, 16)
    if EXIFTOOL:
        out = json.loads(subprocess.run([EXIFTOOL, "-j", "-BitsPerSample", "-ProfileDescription", rep.rows[0].dest],
                                        capture_output=True, text=True, timeout=60).stdout)[0]
        assert out["BitsPerSample"] == "16 16 16" and out["ProfileDescription"] == "Adobe RGB (1998)"
    with pytest.raises(ValueError):
        ExportOptions(format="gif").validate()
    with pytest.raises(ValueError):
        ExportOptions(color_space="prophoto").validate()


def test_export_within_a_folder_names_its_ranking(lib_catalog, tmp_path):
    cat, lib, ids = lib_catalog
    inside = cat.photo_ids_under(lib / "sub")
    assert len(inside) == 3
    opts = ExportOptions(top_n=2, score_kind="personal", scope='folder "sub"')
    chosen = select_for_export(cat, opts, within=inside)
    assert len(chosen) == 2 and set(chosen) <= set(inside)
    everything = select_for_export(cat, opts)
    assert not set(everything) <= set(inside)  # the library's best are elsewhere
    text = describe_selection(opts, 'folder "sub"')
    assert text.startswith("the best 2 by your personal score") and 'from folder "sub"' in text
    assert "the whole library" in describe_selection(ExportOptions(top_n=5, score_kind="generic"))
    rep = export_photos(cat, chosen, tmp_path / "out", opts)
    report = json.loads(Path(rep.json_path).read_text())
    assert report["options"]["scope"] == 'folder "sub"'
    assert all(Path(r["source"]).parent.name == "sub" for r in report["photos"])


def test_presets_apply_only_output_fields():
    opts = ExportOptions(top_n=7, picks=True)
    all_p = presets({"Mine": {"format": "png", "long_edge": 1000, "color_space": "srgb", "bogus": 1}})
    assert "Mine" in all_p and "bogus" not in all_p["Mine"]
    out = apply_preset(opts, all_p["Print: Adobe RGB 16-bit TIFF, print sharpening"])
    assert (out.top_n, out.picks) == (7, True)
    assert (out.format, out.color_space, out.sharpening) == ("tiff16", "adobe-rgb", "print")
    assert preset_of(out)["format"] == "tiff16"


def test_cli_export_folder_format_colour_and_presets(lib_catalog, data_dir, tmp_path, capsys):
    from piaa_desktop.cli.main import main

    cat, lib, ids = lib_catalog
    d = str(data_dir)
    dest = tmp_path / "cli-out"
    code = main(["--data-dir", d, "export", str(dest), "--top", "10", "--folder", str(lib / "sub"),
                 "--format", "jpeg", "--color-space", "display-p3", "--sharpen", "screen", "--long-edge", "256",
                 "--template", "{seq:03d}_{rating}_{name}", "--save-preset", "p3-small", "--json"])
    assert code == 0
    out = capsys.readouterr()
    res = json.loads(out.out)
    assert res["exported"] == 3
    # no personal model in this catalog: the ranking is the generic score, and it says so
    assert res["selection"].startswith("the best 10 by the generic score (no personal model yet)") and "folder" in res["selection"]
    files = sorted(p.name for p in dest.glob("*.jpg"))
    assert [f[:4] for f in files] == ["001_", "002_", "003_"]
    with Image.open(dest / files[0]) as im:
        assert max(im.size) == 256
        assert "Display P3" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"])))
    assert main(["--data-dir", d, "export", str(dest), "--list-presets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["p3-small"]["color_space"] == "display-p3"
    dest2 = tmp_path / "preset-out"
    assert main(["--data-dir", d, "export", str(dest2), "--top", "1", "--preset", "p3-small", "--format", "png"]) == 0
    assert [p.suffix for p in dest2.iterdir() if p.suffix in (".png", ".jpg")] == [".png"]
    assert main(["--data-dir", d, "export", str(dest2), "--top", "1", "--preset", "nope"]) == 2


def test_export_dialog_presets_and_output_options(lib_catalog, tmp_path, qtbot):
    pytest.importorskip("pytestqt")
    from piaa_desktop.core.settings import Settings
    from piaa_desktop.gui.export_dialog import ExportDialog

    cat, lib, ids = lib_catalog
    settings = Settings()
    inside = cat.photo_ids_under(lib / "sub")
    dlg = ExportDialog(cat, [], settings, view_ids=inside, scope='folder "sub"')
    qtbot.addWidget(dlg)
    dlg.apply_preset("Print: Adobe RGB 16-bit TIFF, print sharpening")
    o = dlg.options()
    assert (o.format, o.color_space, o.sharpening, o.scope) == ("tiff16", "adobe-rgb", "print", 'folder "sub"')
    assert not dlg.quality_spin.isEnabled() and dlg.template_status.text().endswith(".tif")
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("png"))
    dlg.save_preset("my png")
    assert settings.get("export_presets")["my png"]["format"] == "png"
    dlg.apply_preset("Originals: copies, untouched")
    assert dlg.options().format == "original" and dlg.options().color_space is None
    dlg.apply_preset("my png")
    assert (dlg.options().format, dlg.options().color_space) == ("png", "adobe-rgb")
    dlg.rb_all.setChecked(True)
    assert set(dlg.selected_ids()) == set(inside)


def test_cli_export_search_and_collection_scopes(lib_catalog, data_dir, tmp_path, capsys):
    from piaa_desktop.cli.main import main

    cat, lib, ids = lib_catalog
    cat.add_keywords(ids[:2], ["Trip|Rome"])
    cid = cat.create_collection("Two")
    cat.add_to_collection(cid, ids[1:3])
    d = str(data_dir)
    assert main(["--data-dir", d, "export", str(tmp_path / "a"), "--all", "--search", "kw:Rome", "--dry-run",
                 "--json"]) == 0
    assert sorted(r["photo_id"] for r in json.loads(capsys.readouterr().out)) == sorted(ids[:2])
    assert main(["--data-dir", d, "export", str(tmp_path / "b"), "--all", "--search", "kw:Rome",
                 "--collection", "Two", "--dry-run", "--json"]) == 0
    assert [r["photo_id"] for r in json.loads(capsys.readouterr().out)] == [ids[1]]
    assert main(["--data-dir", d, "export", str(tmp_path / "c"), "--all", "--search", "nope:1"]) == 2


def test_exported_jpegs_carry_keywords_in_their_xmp(lib_catalog, tmp_path):
    from piaa_desktop.core import xmp

    cat, lib, ids = lib_catalog
    cat.add_keywords([ids[0]], ["Places|France|Paris"])
    for fmt in ("original", "jpeg"):  # copied with the packet spliced in, and re-encoded
        opts = ExportOptions(embed_xmp=True, format=fmt, template="{name}")
        rep = export_photos(cat, [ids[0]], tmp_path / fmt, opts)
        assert xmp.read_embedded_keywords(rep.rows[0].dest) == ["Places|France|Paris"], fmt
