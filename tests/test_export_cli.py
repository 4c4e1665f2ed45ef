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


def test_cli_second_export_reports_already_there(small_library, data_dir, tmp_path, capsys):
    """Walkthrough follow-up: `piaa export` twice into one folder said "exported 5 of 5" both times. Now the
    second says the files were already there, --json counts them apart, and a file the user changed
    in between is kept (the photo is written beside it, and the text says so)."""
    main, photos = _setup(small_library, data_dir)
    dest = tmp_path / "export"
    argv = ["--data-dir", str(data_dir), "export", str(dest), "--all", "--template", "{name}"]
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"exported 5 of 5 photos to {dest.resolve()} in ")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"all 5 photos already there in {dest.resolve()} (identical files), nothing written in ")
    assert "exported 5" not in out
    (dest / f"{photos[1].stem}.jpg").write_bytes(b"my own retouch")
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith(f"exported 1 of 5 photos to {dest.resolve()}; 4 already there (identical files), "
                              "skipped; 1 saved under a new name")
    assert f"renamed {photos[1].stem}.jpg -> {photos[1].stem}-1.jpg" in cap.err
    assert (dest / f"{photos[1].stem}.jpg").read_bytes() == b"my own retouch"
    assert (dest / f"{photos[1].stem}-1.jpg").read_bytes() == photos[1].read_bytes()
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("exported", "already_there", "renamed", "total", "failed", "skipped")} == {
        "exported": 0, "already_there": 5, "renamed": 0, "total": 5, "failed": 0, "skipped": 0}
