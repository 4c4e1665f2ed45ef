"""Crop and straighten reach the export (``piaa export --edits``), rendered at full resolution; geometry is
set headless with ``piaa develop --set``."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.core import develop as D


def test_cli_export_applies_crop_and_straighten(small_library, data_dir, tmp_path, capsys):
    from piaa_desktop.cli.main import main
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.paths import app_paths

    for f in sorted(small_library.glob("*.jpg"))[2:]:
        f.unlink()
    assert main(["--data-dir", str(data_dir), "-q", "scan", "--no-embeddings", str(small_library)]) == 0
    cat = Catalog.open(app_paths(data_dir).catalog)
    try:
        pid = cat.query_ids(sort="name")[0]
        photo = cat.photo(pid)
    finally:
        cat.close()
    edit = {"exposure": 0.3, "angle": -4.0, "crop_left": 0.1, "crop_top": 0.2, "crop_right": 0.75, "crop_bottom": 0.95,
            "rotate": 1}
    sets = [x for k, v in edit.items() for x in ("--set", f"{k}={v}")]
    assert main(["--data-dir", str(data_dir), "develop", photo.path, *sets]) == 0
    out = capsys.readouterr().out
    assert "angle -4" in out and "crop_left +0.1" in out and "rotate +1" in out
    assert main(["--data-dir", str(data_dir), "develop", photo.path, "--set", "angle=60"]) == 2  # outside -45..45
    capsys.readouterr()
    dest = tmp_path / "out"
    assert main(["--data-dir", str(data_dir), "-q", "export", str(dest), "--all", "--edits"]) == 0
    outs = sorted(dest.rglob("*.jpg"))
    assert len(outs) == 2
    src = Image.open(photo.path).convert("RGB")
    want = D.render_image(src, edit)
    ow, oh = D.geometry_output_size(src.width, src.height, edit)
    assert want.size == (ow, oh)
    got = [Image.open(p).convert("RGB") for p in outs]
    match = [g for g in got if g.size == (ow, oh)]
    assert len(match) == 1, [g.size for g in got]  # the edited photo: cropped, straightened, turned
    assert oh > ow  # a quarter turn of a landscape crop
    diff = np.abs(np.asarray(match[0], np.float32) - np.asarray(want, np.float32)).mean()
    assert diff < 3.0  # the same rendering, up to JPEG
    other = [g for g in got if g is not match[0]][0]
    assert other.size == Image.open(sorted(small_library.glob("*.jpg"))[1]).size  # the unedited one is whole
