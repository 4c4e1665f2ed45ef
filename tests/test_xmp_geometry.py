"""Crop and straighten in XMP sidecars: Lightroom's crs: crop fields (read by exiftool and other tools)
plus the app's own fields, never tiff:Orientation; read back by a fresh import."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from piaa_desktop.core import develop as D
from piaa_desktop.core import xmp


def _scan(catalog, folder, cache):
    from piaa_desktop.core.sync import import_library

    return import_library(catalog, folder, cache, embeddings=False)


def test_crop_reaches_the_sidecar_and_a_fresh_import(catalog, app_paths, small_library, tmp_path):
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.sync import install_sidecar_hook

    _scan(catalog, small_library, app_paths.thumbnails)
    hook = install_sidecar_hook(catalog)
    pid = catalog.query_ids(sort="name")[0]
    photo = catalog.photo(pid)
    # a Lightroom sidecar already there: its other develop settings must survive
    side = xmp.sidecar_path(photo.path)
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" '
        'crs:Exposure2012="+0.35" crs:Clarity2012="+12"/></rdf:RDF></x:xmpmeta>'
    )
    edit = {"exposure": 0.4, "angle": 3.0, "crop_left": 0.1, "crop_top": 0.05, "crop_right": 0.8, "crop_bottom": 0.9}
    catalog.set_edit([pid], edit)
    assert not hook.errors
    text = side.read_text()
    assert "Exposure2012" in text and "Clarity2012" in text  # kept
    assert "Orientation" not in text  # turns/flips never go to tiff:Orientation
    doc = xmp.parse_packet(side.read_bytes())
    geo = xmp.geometry_from_packet(doc)
    assert geo["crs"]["HasCrop"] == "True" and float(geo["crs"]["CropAngle"]) == -3.0
    expect = D.crs_crop(edit, photo.width, photo.height)
    for k in ("CropLeft", "CropTop", "CropRight", "CropBottom"):
        assert float(geo["crs"][k]) == pytest.approx(expect[k], abs=1e-5)
    assert geo["piaa"]["angle"] == 3.0 and geo["piaa"]["crop_right"] == 0.8
    # a tone-only change leaves the sidecar alone; a turn is written to the app's own fields
    catalog.set_edit([pid], {**edit, "rotate": 1})
    geo = xmp.geometry_from_packet(xmp.parse_packet(side.read_bytes()))
    assert geo["piaa"]["rotate"] == 1 and geo["crs"]["HasCrop"] == "False"  # not exact in crs: no stale crop

    if shutil.which("exiftool"):
        catalog.set_edit([pid], edit)
        out = subprocess.run(["exiftool", "-s", "-XMP-crs:all", str(side)], capture_output=True, text=True, timeout=60).stdout
        assert "HasCrop" in out and "CropAngle" in out and "-3" in out and "Exposure2012" in out

    # a fresh catalog importing the same folder gets the crop back from the sidecar
    catalog.set_edit([pid], edit)
    fresh = Catalog.open(tmp_path / "fresh.sqlite3")
    try:
        _scan(fresh, small_library, tmp_path / "thumbs2")
        fid = next(i for i in fresh.query_ids(sort="name") if fresh.photo(i).path == photo.path)
        got = fresh.get_edit(fid)
        for k in ("angle", "crop_left", "crop_top", "crop_right", "crop_bottom"):
            assert got[k] == pytest.approx(edit[k], abs=1e-6)
        assert "exposure" not in got  # tone settings live in the catalog, not the sidecar
    finally:
        fresh.close()


def test_lightroom_crop_is_imported(catalog, app_paths, small_library):
    f = sorted(small_library.glob("*.jpg"))[1]
    xmp.sidecar_path(f).write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" '
        'crs:HasCrop="True" crs:CropLeft="0.2" crs:CropTop="0.1" crs:CropRight="0.9" crs:CropBottom="0.8" '
        'crs:CropAngle="0"/></rdf:RDF></x:xmpmeta>'
    )
    _scan(catalog, small_library, app_paths.thumbnails)
    pid = next(i for i in catalog.query_ids(sort="name") if catalog.photo(i).path == str(f))
    e = catalog.get_edit(pid)
    assert (e["crop_left"], e["crop_top"], e["crop_right"], e["crop_bottom"]) == pytest.approx((0.2, 0.1, 0.9, 0.8))
