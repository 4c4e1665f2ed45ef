"""XMP sidecars: round trips against Lightroom- and darktable-style layouts, exiftool as independent reader."""
from __future__ import annotations

import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET

import pytest

from piaa_desktop.core import xmp

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed (libimage-exiftool-perl)")

# What Lightroom Classic writes next to a RAW (trimmed; crs: develop settings and a keyword list).
LIGHTROOM_SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmp:ModifyDate="2023-05-01T10:11:12+02:00"
    xmp:Rating="3"
    xmp:Label="Green"
    tiff:Make="Canon"
    crs:Version="15.3"
    crs:Exposure2012="+0.35"
    crs:Contrast2012="+12"
    crs:HasSettings="True">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>holiday</rdf:li>
     <rdf:li>Caf&#233; &amp; bar</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <crs:ToneCurvePV2012>
    <rdf:Seq>
     <rdf:li>0, 0</rdf:li>
     <rdf:li>255, 255</rdf:li>
    </rdf:Seq>
   </crs:ToneCurvePV2012>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

# What darktable writes (photo.CR2.xmp): attributes plus a history stack in rdf:Seq of rdf:li structs.
DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:darktable="http://darktable.sf.net/"
   exif:DateTimeOriginal="2023:05:01 10:11:12"
   xmp:Rating="2"
   xmpMM:DerivedFrom="IMG_0001.CR2"
   darktable:import_timestamp="63817372800000000"
   darktable:xmp_version="5"
   darktable:raw_params="0"
   darktable:auto_presets_applied="1"
   darktable:history_end="1"
   darktable:iop_order_version="4">
   <darktable:colorlabels>
    <rdf:Seq>
     <rdf:li>3</rdf:li>
    </rdf:Seq>
   </darktable:colorlabels>
   <!-- a comment a user left -->
   <darktable:history>
    <rdf:Seq>
     <rdf:li
      darktable:num="0"
      darktable:operation="exposure"
      darktable:enabled="1"
      darktable:modversion="6"
      darktable:params="0000000000803f0000000000000000"
      darktable:multi_name=""
      darktable:multi_priority="0"
      darktable:blendop_version="13"
      darktable:blendop_params="gz11eJxjYIAACQYYOOHEgAYY0QVwggZ7CB6pfOygYuIq"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _exiftool(path, *tags) -> dict:
    out = subprocess.run(
        [EXIFTOOL, "-s", "-s", "-n", *[f"-{t}" for t in tags], str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    res = {}
    for line in out.splitlines():
        k, _, v = line.partition(":")
        res[k.strip()] = v.strip()
    return res


def _photo(tmp_path, name="a.jpg"):
    p = tmp_path / name
    p.write_bytes(b"not really a photo; the sidecar code must never open it")
    return p


def test_sidecar_path_namings(tmp_path):
    assert xmp.sidecar_path(tmp_path / "IMG_1.CR2").name == "IMG_1.CR2.xmp"
    assert xmp.sidecar_path(tmp_path / "IMG_1.CR2", "replace").name == "IMG_1.xmp"
    with pytest.raises(ValueError):
        xmp.sidecar_path(tmp_path / "a.jpg", "weird")


def test_new_sidecar_round_trip_and_photo_untouched(tmp_path):
    photo = _photo(tmp_path)
    before = photo.read_bytes()
    path = xmp.write_sidecar(photo, rating=4, flag=1, color_label="Blue")
    assert path == tmp_path / "a.jpg.xmp"
    assert xmp.read_sidecar(photo) == {"rating": 4, "flag": 1, "color_label": "blue"}
    assert photo.read_bytes() == before
    # readable like any other file (not mkstemp's 0600)
    assert stat.S_IMODE(path.stat().st_mode) & 0o044
    # well-formed XML with the standard namespace
    root = ET.fromstring(path.read_bytes())
    assert root.tag == "{adobe:ns:meta/}xmpmeta"


def test_reject_keeps_the_stars_and_minus_one_only_without_stars(tmp_path):
    photo = _photo(tmp_path)
    xmp.write_sidecar(photo, rating=3)
    side = xmp.write_sidecar(photo, flag=-1)
    # a rejected 3-star photo: the stars stay in xmp:Rating, the reject in digiKam:PickLabel
    assert xmp.read_sidecar(photo) == {"rating": 3, "flag": -1, "color_label": None}
    assert 'Rating="3"' in side.read_text() and 'PickLabel="1"' in side.read_text()
    xmp.write_sidecar(photo, rating=2, flag=0)
    assert xmp.read_sidecar(photo) == {"rating": 2, "flag": 0, "color_label": None}
    # a reject without stars is also xmp:Rating=-1 (how Lightroom/Bridge and darktable say rejected)
    xmp.write_sidecar(photo, rating=0, flag=-1)
    assert 'Rating="-1"' in side.read_text()
    assert xmp.read_sidecar(photo) == {"rating": None, "flag": -1, "color_label": None}
    # stars given while rejected replace the -1; un-rejecting keeps them
    xmp.write_sidecar(photo, rating=4)
    assert xmp.read_sidecar(photo) == {"rating": 4, "flag": -1, "color_label": None}
    xmp.write_sidecar(photo, flag=0)
    assert xmp.read_sidecar(photo) == {"rating": 4, "flag": 0, "color_label": None}


def test_lightroom_minus_one_reads_as_rejected_without_stars(tmp_path):
    photo = _photo(tmp_path)
    side = tmp_path / (photo.name + ".xmp")
    side.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                    '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="-1"/>'
                    '</rdf:RDF></x:xmpmeta>')
    assert xmp.read_sidecar(photo)["flag"] == -1 and not xmp.read_sidecar(photo)["rating"]
    xmp.write_sidecar(photo, flag=0)  # un-reject in PIAA: no stars were ever known
    got = xmp.read_sidecar(photo)
    assert got["rating"] == 0 and got["flag"] != -1


def test_replace_naming_and_reading_either(tmp_path):
    photo = _photo(tmp_path, "IMG_2.jpg")
    path = xmp.write_sidecar(photo, rating=5, naming="replace")
    assert path.name == "IMG_2.xmp"
    # found whatever naming the reader prefers
    assert xmp.read_sidecar(photo)["rating"] == 5
    assert xmp.read_sidecar(photo, naming="replace")["rating"] == 5
    assert xmp.read_sidecar(_photo(tmp_path, "other.jpg")) is None


def test_lightroom_sidecar_read_and_update_preserves_unknown(tmp_path):
    photo = _photo(tmp_path, "IMG_0001.CR2")
    side = tmp_path / "IMG_0001.xmp"
    side.write_text(LIGHTROOM_SIDECAR, encoding="utf-8")
    assert xmp.read_sidecar(photo) == {
        "rating": 3, "flag": None, "color_label": "green", "keywords": ["holiday", "Café & bar"]
    }

    written = xmp.write_sidecar(photo, rating=5, flag=1, color_label="red", naming="replace")
    assert written == side
    text = side.read_text(encoding="utf-8")
    assert xmp.read_sidecar(photo) == {
        "rating": 5, "flag": 1, "color_label": "red", "keywords": ["holiday", "Café & bar"]
    }
    root = ET.fromstring(text.encode())
    desc = root.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    crs = "{http://ns.adobe.com/camera-raw-settings/1.0/}"
    assert desc.get(crs + "Exposure2012") == "+0.35"
    assert desc.get(crs + "HasSettings") == "True"
    assert desc.get("{http://ns.adobe.com/tiff/1.0/}Make") == "Canon"
    assert desc.get("{http://ns.adobe.com/xap/1.0/}ModifyDate") == "2023-05-01T10:11:12+02:00"
    kws = [li.text for li in desc.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li")]
    assert "holiday" in kws and "Café & bar" in kws and "255, 255" in kws
    # prefixes kept as the source had them; the toolkit string is not ours to change
    assert "crs:Exposure2012" in text and "dc:subject" in text and "Adobe XMP Core" in text
    # rating is still written as an attribute where Lightroom had it, once
    assert text.count("xmp:Rating") == 1


def test_darktable_sidecar_read_and_update_preserves_history(tmp_path):
    photo = _photo(tmp_path, "IMG_0001.CR2")
    side = tmp_path / "IMG_0001.CR2.xmp"
    side.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    assert xmp.read_sidecar(photo) == {"rating": 2, "flag": None, "color_label": "blue"}

    xmp.write_sidecar(photo, rating=4, flag=0, color_label="yellow")
    got = xmp.read_sidecar(photo)
    # no pick was ever recorded in this file: "not set" (None) is the honest answer for the flag
    assert got == {"rating": 4, "flag": None, "color_label": "yellow"}
    text = side.read_text(encoding="utf-8")
    root = ET.fromstring(text.encode())
    dt = "{http://darktable.sf.net/}"
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    hist = root.find(f".//{dt}history/{rdf}Seq/{rdf}li")
    assert hist.get(dt + "operation") == "exposure"
    assert hist.get(dt + "blendop_params") == "gz11eJxjYIAACQYYOOHEgAYY0QVwggZ7CB6pfOygYuIq"
    labels = [li.text for li in root.find(f".//{dt}colorlabels").iter(f"{rdf}li")]
    assert labels == ["1"]  # darktable's yellow
    assert "a comment a user left" in text
    assert 'darktable:xmp_version="5"' in text and "xmpMM:DerivedFrom" in text

    # clearing the label removes our colour keys but nothing else
    xmp.write_sidecar(photo, color_label=None)
    assert xmp.read_sidecar(photo)["color_label"] is None
    assert "darktable:history" in side.read_text(encoding="utf-8")


def test_rating_as_element_is_updated_in_place(tmp_path):
    photo = _photo(tmp_path)
    side = tmp_path / "a.jpg.xmp"
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"><xmp:Rating>1</xmp:Rating>'
        "<xmp:Label>Approved</xmp:Label></rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    # a free-text Lightroom label is not a colour
    assert xmp.read_sidecar(photo) == {"rating": 1, "flag": None, "color_label": None}
    xmp.write_sidecar(photo, rating=3, color_label=None)
    text = side.read_text(encoding="utf-8")
    assert "<xmp:Rating>3</xmp:Rating>" in text
    assert "Approved" in text  # not ours to remove


def test_digikam_pick_and_colour_keys_read(tmp_path):
    photo = _photo(tmp_path)
    (tmp_path / "a.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
        'digiKam:PickLabel="3" digiKam:ColorLabel="6"/></rdf:RDF></x:xmpmeta>',
        encoding="utf-8",
    )
    assert xmp.read_sidecar(photo) == {"rating": None, "flag": 1, "color_label": "purple"}
    xmp.write_sidecar(photo, flag=0)
    assert xmp.read_sidecar(photo)["flag"] == 0


@pytest.mark.parametrize(
    "content",
    [
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF",  # truncated
        b"\x00\x01garbage\xff",  # not text
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>&lol2;</x:xmpmeta>",  # entity expansion
        b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>',  # external entity
        b"<html><body>not xmp</body></html>",
    ],
)
def test_bad_or_unsafe_sidecar_is_never_overwritten(tmp_path, content):
    photo = _photo(tmp_path)
    side = tmp_path / "a.jpg.xmp"
    side.write_bytes(content)
    with pytest.raises(xmp.XmpError):
        xmp.read_sidecar(photo)
    with pytest.raises(xmp.XmpError):
        xmp.write_sidecar(photo, rating=5)
    assert side.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_failed_write_leaves_old_sidecar(tmp_path, monkeypatch):
    photo = _photo(tmp_path)
    xmp.write_sidecar(photo, rating=2)
    side = tmp_path / "a.jpg.xmp"
    before = side.read_bytes()
    import errno

    def boom(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(xmp, "serialize", lambda doc, xpacket=None: "x" * 10)  # write succeeds...
    monkeypatch.setattr("os.fsync", boom)  # ...but the flush to disk fails
    with pytest.raises(OSError):
        xmp.write_sidecar(photo, rating=5)
    assert side.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_packet_bytes_for_embedding_keeps_existing(tmp_path):
    existing = xmp.serialize(xmp.parse_packet(LIGHTROOM_SIDECAR), xpacket=True).encode()
    data = xmp.packet_bytes(existing, rating=1, flag=-1)
    doc = xmp.parse_packet(data)
    assert xmp.values_from_packet(doc)["flag"] == -1
    assert b"crs:Exposure2012" in data and data.startswith(b"<?xpacket begin")


@needs_exiftool
def test_exiftool_reads_our_rating_pick_and_labels(tmp_path):
    photo = _photo(tmp_path)
    side = xmp.write_sidecar(photo, rating=4, flag=1, color_label="purple")
    got = _exiftool(side, "XMP:Rating", "XMP:Label", "XMP-digiKam:PickLabel", "XMP-digiKam:ColorLabel",
                    "XMP-darktable:Colorlabels")
    assert got["Rating"] == "4"
    assert got["Label"] == "Purple"
    assert got["PickLabel"] == "3"
    assert got["ColorLabel"] == "6"
    assert got["Colorlabels"] == "4"
    xmp.write_sidecar(photo, flag=-1)  # rejected, 4 stars kept
    got = _exiftool(side, "XMP:Rating", "XMP-digiKam:PickLabel")
    assert got["Rating"] == "4" and got["PickLabel"] == "1"
    xmp.write_sidecar(photo, rating=0)
    assert _exiftool(side, "XMP:Rating")["Rating"] == "-1"


@needs_exiftool
def test_exiftool_still_reads_unknown_fields_after_our_edit(tmp_path):
    photo = _photo(tmp_path, "IMG_0001.CR2")
    side = tmp_path / "IMG_0001.CR2.xmp"
    side.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    before = _exiftool(side, "XMP-darktable:all", "XMP-xmpMM:DerivedFrom", "XMP-exif:DateTimeOriginal")
    xmp.write_sidecar(photo, rating=5, color_label="green")
    after = _exiftool(side, "XMP-darktable:all", "XMP-xmpMM:DerivedFrom", "XMP-exif:DateTimeOriginal", "XMP:Rating")
    assert after["Rating"] == "5"
    for k, v in before.items():
        if k.lower() != "colorlabels":
            assert after[k] == v, k
    assert after["Colorlabels"] == "2"


@needs_exiftool
def test_we_read_what_exiftool_writes(tmp_path):
    photo = _photo(tmp_path)
    side = tmp_path / "a.jpg.xmp"
    subprocess.run(
        [EXIFTOOL, "-q", "-o", str(side), "-XMP:Rating=2", "-XMP:Label=Yellow", "-XMP:Title=kept title"],
        check=True, timeout=60, capture_output=True,
    )
    assert xmp.read_sidecar(photo) == {"rating": 2, "flag": None, "color_label": "yellow"}
    xmp.write_sidecar(photo, rating=3)
    got = _exiftool(side, "XMP:Rating", "XMP:Title", "XMP:Label")
    assert got == {"Rating": "3", "Title": "kept title", "Label": "Yellow"}
