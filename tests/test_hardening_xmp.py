"""Hardening of XMP sidecars (issue 12, items 1, 8, 9): real-world sidecars from Lightroom Classic,
darktable, digiKam, Capture One and exiftool keep every field through rate/flag/label round trips;
``xml:lang`` stays ``xml:lang``; absurd ratings and absurd nesting are handled.

Every other field is checked by XML comparison always and by exiftool when it is installed.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _cli_helpers import piaa_data

from piaa_desktop.core import xmp

FIXTURES = Path(__file__).parent / "fixtures" / "xmp"
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed (libimage-exiftool-perl)")

# Which sidecar name each tool uses next to a photo.
TOOLS = {
    "lightroom_classic": "replace",
    "capture_one": "replace",
    "darktable": "ext",
    "digikam": "ext",
    "exiftool": "ext",
}
OWNED = {xmp.XMP_RATING, xmp.XMP_LABEL, xmp.DK_PICK, xmp.DK_COLOR, xmp.DT_COLORLABELS}
OWNED_EXIFTOOL = {"XMP-xmp:Rating", "XMP-xmp:Label", "XMP-digiKam:PickLabel", "XMP-digiKam:ColorLabel",
                  "XMP-darktable:Colorlabels"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _canon(el: ET.Element):
    """Everything an element says, except the fields PIAA owns, whitespace-insensitive and order-kept."""
    if not isinstance(el.tag, str):
        return ("#comment", (el.text or "").strip())
    attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if k not in OWNED))
    children = tuple(_canon(c) for c in el if c.tag not in OWNED)
    return (el.tag, attrs, (el.text or "").strip(), children)


def _strict_parse(data: bytes) -> ET.Element:
    """A plain, strict XML parse (as any other tool would do it): fails on a prefix bound to the XML ns."""
    text = data.decode("utf-8")
    text = text.replace("\ufeff", "")
    for pi in ("<?xpacket", "<?xml"):
        while pi in text:
            i = text.index(pi)
            text = text[:i] + text[text.index("?>", i) + 2:]
    return ET.fromstring(text.strip())


def _exiftool_json(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-G1", "-a", "-struct", str(path)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    d = json.loads(out)[0]
    return {k: v for k, v in d.items() if k.split(":")[0] not in ("SourceFile", "System", "File", "ExifTool")}


def _round_trip(tmp_path: Path, tool: str) -> tuple[Path, bytes, Path]:
    naming = TOOLS[tool]
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(b"the sidecar code never opens the photo")
    side = xmp.sidecar_path(photo, naming)
    original = (FIXTURES / f"{tool}.xmp").read_bytes()
    side.write_bytes(original)
    # the attack's sequence: two ratings in a row, plus a pick and a label in between
    assert xmp.write_sidecar(photo, rating=4, naming=naming) == side
    assert xmp.write_sidecar(photo, flag=1, naming=naming) == side
    assert xmp.write_sidecar(photo, color_label="green", naming=naming) == side
    assert xmp.write_sidecar(photo, rating=1, naming=naming) == side
    return photo, original, side


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_item1_real_world_sidecars_keep_every_field_xml(tmp_path, tool):
    photo, original, side = _round_trip(tmp_path, tool)
    data = side.read_bytes()
    assert b"ns0:" not in data and b"XML/1998/namespace" not in data
    root = _strict_parse(data)  # well-formed for any XML parser, not only ours
    vals = xmp.read_sidecar(photo)
    assert {k: vals[k] for k in ("rating", "flag", "color_label")} == {"rating": 1, "flag": 1, "color_label": "green"}
    before = _canon(_strict_parse(original))
    after = _canon(root)
    assert after == before, f"{tool}: a field we do not own changed"
    langs_before = [li.get(XML_LANG) for li in _strict_parse(original).iter(xmp.RDF_LI) if li.get(XML_LANG)]
    langs_after = [li.get(XML_LANG) for li in root.iter(xmp.RDF_LI) if li.get(XML_LANG)]
    assert langs_after == langs_before
    if langs_before:
        assert b'xml:lang="x-default"' in data


@needs_exiftool
@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_item1_real_world_sidecars_keep_every_field_exiftool(tmp_path, tool):
    ref = tmp_path / "ref.xmp"
    ref.write_bytes((FIXTURES / f"{tool}.xmp").read_bytes())
    before = _exiftool_json(ref)
    assert len(before) > 10, before  # exiftool read the fixture
    _, _, side = _round_trip(tmp_path, tool)
    after = _exiftool_json(side)
    assert after["XMP-xmp:Rating"] == 1
    assert after["XMP-xmp:Label"] == "Green"
    assert after["XMP-digiKam:PickLabel"] == 3
    strip = lambda d: {k: v for k, v in d.items() if k not in OWNED_EXIFTOOL}  # noqa: E731
    assert strip(after) == strip(before)


def test_item1_xml_lang_is_never_redeclared_and_unusual_declarations_survive():
    text = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:xml="http://www.w3.org/XML/1998/namespace">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xml:space="preserve">'
        '<dc:title><rdf:Alt><rdf:li xml:lang="en-GB">Hi</rdf:li></rdf:Alt></dc:title>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    doc = xmp.parse_packet(text)
    xmp.apply_values(doc, rating=3)
    out = xmp.serialize(doc)
    assert "xmlns:xml" not in out and "ns0" not in out
    assert 'xml:lang="en-GB"' in out and 'xml:space="preserve"' in out
    again = xmp.parse_packet(out)  # our own reader accepts it, and so does a strict one
    _strict_parse(out.encode())
    assert xmp.values_from_packet(again)["rating"] == 3


def _jpeg_with_lightroom_xmp(path: Path) -> None:
    """A JPEG whose embedded XMP (APP1) is a Lightroom packet using xml:lang."""
    from piaa_desktop.core.export import jpeg_with_xmp

    buf = path.with_suffix(".tmp.jpg")
    Image.fromarray(np.full((40, 60, 3), 128, np.uint8)).save(buf, "JPEG")
    packet = (FIXTURES / "lightroom_classic.xmp").read_bytes()
    path.write_bytes(jpeg_with_xmp(buf.read_bytes(), packet))
    buf.unlink()


def test_item1_export_embed_xmp_keeps_xml_lang(tmp_path, catalog, app_paths):
    from piaa_desktop.core.export import ExportOptions, _existing_xmp, export_photos
    from piaa_desktop.core.scanner import scan_folder

    lib = tmp_path / "lib"
    lib.mkdir()
    _jpeg_with_lightroom_xmp(lib / "a.jpg")
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=1)
    assert res.new, res.errors
    catalog.set_rating(res.new, 4)
    out = tmp_path / "out"
    export_photos(catalog, res.new, out, ExportOptions(embed_xmp=True, write_report=False))
    exported = next(out.glob("*.jpg"))
    packet = _existing_xmp(exported.read_bytes())
    assert packet and b"ns0:" not in packet
    root = _strict_parse(packet)
    titles = [li.text for li in root.iter(xmp.RDF_LI) if li.get(XML_LANG) == "x-default"]
    assert "Morning market" in titles
    assert xmp.values_from_packet(xmp.parse_packet(packet))["rating"] == 4
    if EXIFTOOL:
        got = _exiftool_json(exported)
        assert got["XMP-dc:Title"] == "Morning market" and got["XMP-xmp:Rating"] == 4


def test_item1_cli_repro_two_ratings_with_lightroom_sidecar(tmp_path):
    """The attack's repro: P scan L; P rate L/a.jpg 4; P rate L/a.jpg 1 with a Lightroom a.xmp."""
    lib = tmp_path / "L"
    lib.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)).save(lib / "a.jpg")
    (lib / "a.jpg.xmp").write_bytes((FIXTURES / "lightroom_classic.xmp").read_bytes())
    data = tmp_path / "D"

    def piaa(*args):  # the commands' behaviour: in this process
        return piaa_data(data, *args)

    r = piaa("scan", "--no-embeddings", str(lib))
    assert r.returncode == 0, r.stderr
    for stars in ("4", "1"):
        r = piaa("rate", str(lib / "a.jpg"), stars)
        assert r.returncode == 0, r.stderr
        assert "untouched" not in (r.stdout + r.stderr)
    assert xmp.read_sidecar(lib / "a.jpg")["rating"] == 1
    root = _strict_parse((lib / "a.jpg.xmp").read_bytes())
    assert _canon(root) == _canon(_strict_parse((FIXTURES / "lightroom_classic.xmp").read_bytes()))


# ---------------------------------------------------------------------------------------------- item 8
@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "-1e999", "nan", "1e308", "NaN", "  9e99999 "])
def test_item8_non_finite_ratings_are_ignored_not_a_crash(tmp_path, value):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    side = xmp.sidecar_path(photo)
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmlns:digiKam="http://www.digikam.org/ns/1.0/" xmp:Rating="{value}" digiKam:PickLabel="{value}" '
        f'digiKam:ColorLabel="{value}"/></rdf:RDF></x:xmpmeta>'
    )
    assert xmp.read_sidecar(photo) == {"rating": None, "flag": None, "color_label": None}
    xmp.write_sidecar(photo, rating=2)  # and a write over it works
    assert xmp.read_sidecar(photo)["rating"] == 2


def test_item8_infinite_rating_sidecar_imports_through_cli(tmp_path):
    lib = tmp_path / "L"
    lib.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(lib / "a.jpg")
    (lib / "a.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="inf"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    data = tmp_path / "D"
    r = piaa_data(data, "scan", "--no-embeddings", str(lib))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "OverflowError" not in r.stderr
    r = piaa_data(data, "rate", str(lib / "a.jpg"), "3")
    assert r.returncode == 0, r.stderr
    assert xmp.read_sidecar(lib / "a.jpg")["rating"] == 3


# ---------------------------------------------------------------------------------------------- item 9
def test_item9_deeply_nested_sidecar_is_written_without_recursion_error(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    depth = 3000
    inner = "<rdf:Bag><rdf:li>" * depth + "deep" + "</rdf:li></rdf:Bag>" * depth
    side = xmp.sidecar_path(photo)
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="2"><dc:subject>{inner}</dc:subject>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # the default; a recursive writer needs > depth frames
    try:
        xmp.write_sidecar(photo, rating=5)
    finally:
        sys.setrecursionlimit(old)
    text = side.read_text()
    assert text.count("<rdf:Bag>") == depth and ">deep<" in text
    assert xmp.read_sidecar(photo)["rating"] == 5


def test_item1_variation_prefix_rebound_in_a_nested_scope_keeps_each_namespace():
    text = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:a="urn:one">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:a="urn:two" a:p="two">'
        '<a:q>two-q</a:q><b:r xmlns:b="urn:one">one-r</b:r>'
        '</rdf:Description></rdf:RDF><a:s>one-s</a:s></x:xmpmeta>'
    )
    before = _canon(ET.fromstring(text))
    doc = xmp.parse_packet(text)
    xmp.apply_values(doc, rating=2)
    after = _canon(_strict_parse(xmp.serialize(doc).encode()))
    assert after == before


def test_item1_variation_characters_xml_cannot_hold_are_dropped_not_written(tmp_path):
    p = tmp_path / "a.jpg"
    p.write_bytes(b"x")
    xmp.write_sidecar(p, rating=3, color_label="Client\x01 pick\x0b")
    data = xmp.sidecar_path(p).read_bytes()
    _strict_parse(data)
    assert xmp.read_sidecar(p)["rating"] == 3
    xmp.write_sidecar(p, rating=4)  # and it stays writable
    assert xmp.read_sidecar(p)["rating"] == 4


def test_item9_variation_very_deep_sidecar_is_handled_quickly(tmp_path):
    import time

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    depth = 30_000
    inner = "<rdf:Bag><rdf:li>" * depth + "deep" + "</rdf:li></rdf:Bag>" * depth
    xmp.sidecar_path(photo).write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject>{inner}</dc:subject>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    t = time.perf_counter()
    xmp.read_sidecar(photo)
    xmp.write_sidecar(photo, rating=1)
    assert xmp.read_sidecar(photo)["rating"] == 1
    assert time.perf_counter() - t < 60
