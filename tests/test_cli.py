import csv
import io
import json
import subprocess
import sys

import pytest

from piaa_desktop.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_subprocess():
    out = subprocess.run([sys.executable, "-m", "piaa_desktop.cli.main", "--version"], capture_output=True, text=True)
    from piaa_desktop import __version__

    assert out.returncode == 0 and out.stdout.strip() == f"piaa {__version__}"


def test_scan_score_rate_flow(capsys, data_dir, small_library):
    d = str(data_dir)
    code, out, err = run(capsys, "--data-dir", d, "-q", "scan", str(small_library), "--json")
    assert code == 0
    res = json.loads(out)
    assert res["new"] == 12 and res["embedded"] == 12

    target = sorted(small_library.glob("*.jpg"))[3]
    code, out, err = run(capsys, "--data-dir", d, "rate", str(target), "5")
    assert code == 0 and "5 stars" in out

    code, out, err = run(capsys, "--data-dir", d, "score", "--sort", "rating", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 12 and rows[0]["path"] == str(target) and rows[0]["rating"] == "5"
    assert all(r["generic"] for r in rows)

    code, out, err = run(capsys, "--data-dir", d, "score", "--sort", "generic", "--format", "json", "--limit", "5")
    rows = json.loads(out)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows == sorted(rows, key=lambda r: -r["generic"])

    code, out, err = run(capsys, "--data-dir", d, "flag", str(target), "reject")
    code, out, err = run(capsys, "--data-dir", d, "score", "--only", "rejects", "--format", "json")
    assert [r["path"] for r in json.loads(out)] == [str(target)]


def test_errors_and_exit_codes(capsys, data_dir, tmp_path):
    d = str(data_dir)
    code, out, err = run(capsys, "--data-dir", d, "scan", str(tmp_path / "missing"))
    assert code == 3 and "not a folder" in err
    code, out, err = run(capsys, "--data-dir", d, "rate", str(tmp_path / "x.jpg"), "3")
    assert code == 3 and "not in the catalog" in err
    with pytest.raises(SystemExit) as e:
        main(["--data-dir", d, "rate", "x.jpg", "9"])
    assert e.value.code == 2
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    code, out, err = run(capsys, "--data-dir", d, "scan", str(lib))
    assert code == 0 and "0 new" in out and "broken.jpg" in err
    code, out, err = run(capsys, "--data-dir", d, "errors", "--json")
    assert json.loads(out)[0]["path"].endswith("broken.jpg")


def test_models_command_reports_ok(capsys):
    code, out, err = run(capsys, "models", "--json")
    assert code == 0 and all(m["ok"] for m in json.loads(out))


def test_bench_import_prints_only_json(data_dir, photos_dir):
    out = subprocess.run(
        [sys.executable, "-m", "piaa_desktop.cli.main", "--data-dir", str(data_dir), "bench", "import",
         str(photos_dir), "--limit", "8", "--json"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["photos"] == 8 and res["photos_per_s"] > 0 and res["peak_rss_mb"] > 0
