"""``piaa bench simulate-raters`` / ``bench personalize`` / ``personalize`` end to end on real photos,
(``train-prior`` is tested in tests/test_taste.py)."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from piaa_desktop.cli.main import main


@pytest.fixture
def photos24(tmp_path, photos_dir):
    d = tmp_path / "photos"
    d.mkdir()
    for src in sorted(photos_dir.glob("*.jpg"))[:24]:
        shutil.copy2(src, d / src.name)
    return d


def test_simulate_then_benchmark_json(tmp_path, photos24, capsys, shipped_prior):
    out = tmp_path / "raters.csv"
    assert main(["bench", "simulate-raters", "--images", str(photos24), "--out", str(out), "--raters", "2",
                 "--seed", "1234"]) == 0
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 48 and {r["user"] for r in rows} == {"sim1234_0000", "sim1234_0001"}
    assert {int(r["score"]) for r in rows} <= {1, 2, 3, 4, 5}
    capsys.readouterr()
    assert main(["bench", "personalize", "--images", str(photos24), "--ratings", str(out), "--shots", "5,10",
                 "--repeats", "2", "--json", "--quiet", "--methods", "prior,ridge,avg_finetune,meta"]) == 0
    res = json.loads(capsys.readouterr().out)  # JSON only on stdout
    assert {(r["method"], r["shots"]) for r in res} == {(m, k) for m in ("prior", "ridge", "avg_finetune", "meta")
                                                        for k in (5, 10)}
    for r in res:
        for key in ("srocc_mean", "srocc_std", "plcc_mean", "pair_acc_mean"):
            assert np.isfinite(r[key])
        assert r["n_users"] == 2


def test_bench_errors_are_clear(tmp_path, photos24, capsys, request):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["bench", "personalize", "--images", str(photos24), "--ratings", str(bad)]) == 1
    assert "user,image,score" in capsys.readouterr().err
    assert main(["bench", "personalize", "--images", str(tmp_path / "nope"), "--ratings", str(bad)]) == 3
    other = tmp_path / "other.csv"
    other.write_text("user,image,score\nu,missing.jpg,3\n")
    request.getfixturevalue("shipped_prior")  # the rest needs the shipped prior (skipped without it)
    assert main(["bench", "personalize", "--images", str(photos24), "--ratings", str(other), "--quiet"]) == 1
    assert "none of the" in capsys.readouterr().err


def test_personalize_command(tmp_path, photos24, capsys, shipped_prior):
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "scan", str(photos24)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(data), "personalize", "--json"]) == 1
    assert "no feedback" in capsys.readouterr().err
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths

    cat = open_catalog(app_paths(data))
    ids = [p.id for p in cat.photos()]
    for i, pid in enumerate(ids[:12]):
        cat.set_rating([pid], 1 + i % 5)
    cat.close()
    assert main(["--data-dir", str(data), "personalize", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accepted"] and out["n_ratings"] == 12 and out["n_scored"] == 24
    from piaa_desktop.core.personal.confidence import describe

    assert out["confidence"] == describe(out["metrics"]) and "12 of your answers" in out["confidence"]
    assert main(["--data-dir", str(data), "personalize"]) == 0  # text mode prints the same words
    assert "of your answers" in capsys.readouterr().out
    assert main(["--data-dir", str(data), "personalize", "--reset", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "prior" and out["confidence"].startswith("No personal model yet")
