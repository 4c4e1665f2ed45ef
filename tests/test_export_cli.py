"""``piaa export``: selection flags, resize, report, usage errors."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image


def _setup(small_library, data_dir):
    from piaa_desktop.cli.main import main

    for f in sorted(small_library.glob("*.jpg"))[5:]:
        f.unlink()
    assert main(["--data-dir", str(data_dir), "-q", "scan", "--no-embeddings", str(small_library)]) == 0
    photos = sorted(small_library.glob("*.jpg"))
    assert main(["--data-dir", str(data_dir), "rate", str(photos[0]), str(photos[2]), "4"]) == 0
    assert main(["--data-dir", str(data_dir), "flag", str(photos[2]), "pick"]) == 0
    return main, photos


def test_cli_export_min_stars_resized(small_library, data_dir, tmp_path, capsys):
    main, photos = _setup(small_library, data_dir)
    capsys.readouterr()
    dest = tmp_path / "export"
    rc = main(["--data-dir", str(data_dir), "export", str(dest), "--min-stars", "4", "--long-edge", "120",
               "--quality", "80", "--template", "{rating}star_{name}", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["exported"] == 2
    names = sorted(p.name for p in dest.glob("*.jpg"))
    assert names == sorted(f"4star_{p.stem}.jpg" for p in (photos[0], photos[2]))
    for n in names:
        assert max(Image.open(dest / n).size) == 120
    assert Path(summary["report_csv"]).exists() and Path(summary["report_json"]).exists()


def test_cli_export_picks_and_usage_errors(small_library, data_dir, tmp_path, capsys):
    main, photos = _setup(small_library, data_dir)
    dest = tmp_path / "export"
    assert main(["--data-dir", str(data_dir), "export", str(dest)]) == 2  # nothing chosen
    assert "choose what to export" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir), "export", str(dest), "--all", "--template", "../{name}"]) == 2
    assert not dest.exists() or not any(dest.iterdir())
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "export", str(dest), "--picks", "--dry-run", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in rows] == [str(photos[2])]
    assert not dest.exists()
    assert main(["--data-dir", str(data_dir), "-q", "export", str(dest), "--picks"]) == 0
    assert [p.name for p in dest.glob("*.jpg")][0].endswith(f"_001_{photos[2].stem}.jpg")
    assert (dest / [p.name for p in dest.glob("*.jpg")][0]).read_bytes() == photos[2].read_bytes()
