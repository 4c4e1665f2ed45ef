"""Data check: the real camera RAW files of ../shared/data/raw (Canon CRW, Nikon NEF, DNGs with and without
a preview, a Kodak KDC with a bitmap preview and a non-ASCII name, a truncated NEF, a pruned CR3) import
on the plain install: each imported or skipped with a plain reason. Skips when the data is absent."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("rawpy")

RAW_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw"


@pytest.fixture
def raw_library(tmp_path) -> Path:
    if not RAW_DIR.is_dir():
        pytest.skip(f"shared data not available: {RAW_DIR}")
    lib = tmp_path / "raw"
    lib.mkdir()
    for p in sorted(RAW_DIR.iterdir()):
        if p.is_file() and not p.name.lower().endswith(".md"):
            shutil.copy2(p, lib / p.name)  # copies: sidecars and caches never land beside the data
    return lib


def test_every_real_raw_is_imported_or_skipped_with_a_reason(raw_library, catalog, tmp_path):
    from piaa_desktop.core.imageio import load_full_rgb
    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.core.thumbnails import load_thumbnail

    files = sorted(p.name for p in raw_library.iterdir())
    assert len(files) >= 7
    res = scan_folder(catalog, raw_library, tmp_path / "thumbs")
    imported = {Path(p.path).name: p for p in catalog.photos()}
    skipped = {Path(p).name: r for p, r in res.errors}
    assert sorted(set(imported) | set(skipped)) == files and not set(imported) & set(skipped)
    for name, reason in skipped.items():
        assert reason and "Traceback" not in reason, name
    # what this set holds: the pruned CR3 has no image data and no preview; everything else imports
    assert set(skipped) == {"Canon-R6-pruned.CR3"}, skipped
    assert "truncated or damaged" in skipped["Canon-R6-pruned.CR3"]
    for name, p in imported.items():
        assert p.width and p.height and p.format == Path(name).suffix[1:].upper(), name
        assert load_thumbnail(tmp_path / "thumbs", p.content_hash) is not None, name
    # sizes are the photos' own (not their previews'): a 100 % view shows sensor pixels
    assert (imported["RAW_CANON_D30_SRGB.CRW"].width, imported["RAW_CANON_D30_SRGB.CRW"].height) == (2176, 1448)
    assert imported["RAW_CANON_D30_SRGB.CRW"].camera == "Canon EOS D30"  # EXIF of the embedded preview
    assert imported["RAW_KODAK_DC50_é.KDC"].width == 768  # 96 px bitmap preview: decoded instead
    # the truncated NEF: imported (from its preview), but a full decode says why it cannot zoom
    assert "Issue 247-1.nef" in imported
    with pytest.raises(Exception, match="truncated or damaged"):
        load_full_rgb(raw_library / "Issue 247-1.nef")
    assert load_full_rgb(raw_library / "canon_eos_6d.dng").size == (1224, 816)
