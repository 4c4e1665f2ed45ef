"""Catalog-level enhancer jobs and the CLI (tiny training sizes; the real runs live in benchmarks/)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from piaa_desktop.core import develop as D
from piaa_desktop.core.enhance import env as E

pytest.importorskip("torch")
pytest.importorskip("onnx")


@pytest.fixture
def scanned(catalog, small_library, app_paths):
    from piaa_desktop.core.scanner import scan_folder

    scan_folder(catalog, small_library, app_paths.cache_dir, workers=2)
    ids = catalog.query_ids(sort="name")
    assert len(ids) >= 6
    return ids


def test_train_from_catalog_then_auto_enhance(catalog, app_paths, scanned):
    from piaa_desktop.core.catalog import UndoStack
    from piaa_desktop.core.enhance import (
        EnhancerError,
        auto_enhance_photos,
        load_personal,
        train_enhancer_from_catalog,
    )
    from piaa_desktop.core.jobs import CancelToken, Cancelled

    with pytest.raises(EnhancerError, match="at least"):
        train_enhancer_from_catalog(catalog, app_paths)
    style = {"exposure": 0.6, "temperature": 25, "saturation": 10}
    catalog.set_edit(scanned[:4], style, source="user")
    catalog.set_edit([scanned[4]], {"exposure": -1.0}, source="auto")  # not the user's: ignored
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        train_enhancer_from_catalog(catalog, app_paths, cancel=tok)
    assert load_personal(app_paths) is None  # a cancelled run leaves nothing behind
    seen = []
    summary = train_enhancer_from_catalog(catalog, app_paths, rounds=1, max_steps=3,
                                          progress=lambda d, t, m: seen.append((d, t)))
    assert summary["n_pairs"] == 4 and seen and seen[-1][0] == seen[-1][1]
    model = load_personal(app_paths)
    assert model is not None and model.meta["n_pairs"] == 4
    files = sorted(p.name for p in (app_paths.personal_models / "enhancer").iterdir())
    assert "enhancer.json" in files and not any(f.endswith(".part") for f in files)
    # a second training replaces the files atomically and removes the old ones
    train_enhancer_from_catalog(catalog, app_paths, rounds=1, max_steps=2)
    assert len([f for f in (app_paths.personal_models / "enhancer").iterdir() if f.suffix == ".onnx"]) == 1

    undo = UndoStack(catalog)
    targets = scanned[4:7]
    before = {i: catalog.get_edit(i) for i in targets}
    change = undo.push(auto_enhance_photos(catalog, targets, app_paths))
    assert sorted(change.photo_ids) == sorted(targets)
    sources = catalog.edit_sources()
    for i in targets:
        p = catalog.get_edit(i)
        assert set(p) >= set(E.NAMES) and sources[i] == "auto"
    # the personal regression start carries the user's style (warm, bright)
    assert np.mean([catalog.get_edit(i)["exposure"] for i in targets]) > 0.2
    undo.undo()
    assert {i: catalog.get_edit(i) for i in targets} == before


def test_cli_enhance_and_bench(tmp_path, app_paths, small_library, enhance_pairs, capsys):
    from piaa_desktop.cli.main import main

    d = str(app_paths.data_dir)
    assert main(["--data-dir", d, "scan", str(small_library)]) == 0
    capsys.readouterr()
    photo = sorted(small_library.glob("*.jpg"))[0]
    assert main(["--data-dir", d, "enhance", "--json", str(photo)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["photos"]) == 1 and set(out["photos"][0]["params"]) >= set(E.NAMES)
    assert out["model"] == "generic"  # no personal style yet: said, not silent
    assert main(["--data-dir", d, "enhance", str(tmp_path / "nope.jpg")]) == 3
    assert main(["--data-dir", d, "enhance", "--train"]) == 1  # no user edits yet: clear error
    assert "at least" in capsys.readouterr().err

    pairs = tmp_path / "pairs"
    for sub in ("input", "expert_c"):
        (pairs / sub).mkdir(parents=True)
        for f in sorted((enhance_pairs / sub).glob("*.png"))[:4]:
            shutil.copy2(f, pairs / sub / f.name)
    assert main(["bench", "enhance", "--pairs", str(pairs), "--train", "3", "--rounds", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    methods = {r["method"] for r in rows}
    assert {"identity", "auto_contrast", "mean_params", "regression", "drl", "drl_hybrid"} <= methods
    for r in rows:
        assert r["train"] == 3 and r["test"] == 1 and np.isfinite(r["psnr_mean"]) and np.isfinite(r["de2000_mean"])
    assert main(["bench", "enhance", "--pairs", str(pairs), "--train", "9"]) == 2
    assert main(["bench", "enhance", "--train-pairs", str(pairs)]) == 2
