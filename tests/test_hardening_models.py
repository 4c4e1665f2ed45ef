"""Embeddings are keyed by the backbone model's file hash (issue 12, item 12).

A backbone with a wrong output shape (its manifest entry updated, so it passes the sha256 check) must
store nothing; after the right model is back, scan/score/personalize work without any hand-made SQL.
Vectors stored under another key (an older or another model) are never used and are recomputed.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from piaa_desktop.core import backbones
from piaa_desktop.core.embeddings import EMBED_DIM
from piaa_desktop.core.paths import app_paths, models_dir

from _cli_helpers import piaa_data

REPO = Path(__file__).resolve().parents[1]
BACKBONE = backbones.DEFAULT  # the shipped backbone


def _cli(data: Path, *args: str, models: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ)
    env.pop("PIAA_MODELS_DIR", None)
    if models is not None:
        env["PIAA_MODELS_DIR"] = str(models)
    env.setdefault("OMP_NUM_THREADS", "2")
    return subprocess.run([sys.executable, "-m", "piaa_desktop.cli.main", "--data-dir", str(data), *args],
                          capture_output=True, text=True, timeout=600, env=env, cwd=str(REPO))


def _wrong_shape_models(tmp_path: Path) -> Path:
    """A copy of models/ whose backbone returns (N, 3) 'embeddings' and whose manifest says it is fine."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from piaa_desktop.core.models import load_manifest, update_manifest_entry

    d = tmp_path / "models-wrong"
    shutil.copytree(models_dir(), d)
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 224, 224])
    emb = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
        helper.make_node("Identity", ["embedding"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "wrong", [image], [emb, logits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    entry = dict(load_manifest(d)["models"][BACKBONE])
    onnx.save(model, str(d / entry["file"]))
    update_manifest_entry(BACKBONE, entry, d)
    return d


def _embedding_rows(data: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(str(app_paths(data).catalog))
    try:
        return conn.execute("SELECT model, length(vector) FROM embeddings").fetchall()
    finally:
        conn.close()


@pytest.fixture
def library(tmp_path) -> Path:
    lib = tmp_path / "lib"
    shutil.copytree(REPO / "resources" / "sample_library", lib)
    return lib


def test_item12_wrong_backbone_stores_nothing_and_the_right_one_recovers(tmp_path, library):
    pytest.importorskip("onnxruntime")
    wrong = _wrong_shape_models(tmp_path)
    data = tmp_path / "data"
    r = _cli(data, "scan", str(library), models=wrong)
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out
    assert str(EMBED_DIM) in out, out  # the reason names the expected shape
    assert _embedding_rows(data) == []  # nothing from the wrong model reached the catalog
    r = _cli(data, "score", models=wrong)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr

    # the right model is back: everything works with no SQL by hand (the commands' behaviour: in this
    # process, which only ever loads the shipped backbone; the wrong one ran in its own children above)
    r = piaa_data(data, "scan", str(library), env={"PIAA_MODELS_DIR": None})
    assert r.returncode == 0, r.stderr
    rows = _embedding_rows(data)
    n = len(list(library.glob("*.jpg")))
    assert len(rows) == n and {length for _, length in rows} == {EMBED_DIM * 2}
    assert len({m for m, _ in rows}) == 1 and next(iter(rows))[0].startswith(BACKBONE + "@")
    photos = sorted(library.glob("*.jpg"))
    for k, p in enumerate(photos[:6]):
        assert piaa_data(data, "rate", str(p), str(1 + k % 5), env={"PIAA_MODELS_DIR": None}).returncode == 0
    for cmd in (("score",), ("personalize",), ("score", "--sort", "personal")):
        r = piaa_data(data, *cmd, env={"PIAA_MODELS_DIR": None})
        assert "Traceback" not in r.stderr, (cmd, r.stderr)
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)


def test_item12_vectors_under_another_key_are_ignored_and_recomputed(catalog, app_paths, library):
    pytest.importorskip("onnxruntime")
    from piaa_desktop.core.embeddings import embedding_key, extract_embeddings
    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.core.scoring import score_library

    res = scan_folder(catalog, library, app_paths.cache_dir, workers=1)
    ids = sorted(res.new)
    # poisoned rows as an older version stored them: bare model name, wrong size, for the current content
    rows = [(i, BACKBONE, catalog.photo(i).content_hash, np.full(7, 1e4, np.float32)) for i in ids]
    catalog.set_embeddings(rows)
    key = embedding_key()
    assert key.startswith(BACKBONE + "@") and key != BACKBONE
    assert len(catalog.embeddings(key)[0]) == 0  # the poisoned rows are not the current model's
    assert score_library(catalog) >= 0  # no crash on them
    assert extract_embeddings(catalog, app_paths.cache_dir) == len(ids)  # recomputed
    got_ids, mat = catalog.embeddings(key)
    assert sorted(got_ids.tolist()) == ids and mat.shape == (len(ids), EMBED_DIM) and np.isfinite(mat).all()
    assert extract_embeddings(catalog, app_paths.cache_dir) == 0  # and cached from now on


def test_item12_backbone_refuses_wrong_output_shape(monkeypatch):
    pytest.importorskip("onnxruntime")
    from piaa_desktop.core.embeddings import Backbone, preprocess
    from piaa_desktop.core.models import ModelError

    bb = Backbone.shared()

    class Fake:
        def __init__(self, out):
            self.out = out

        def run(self, names, feeds):
            return self.out

    x = preprocess([np.zeros((32, 32, 3), np.uint8)])
    for out in ([np.zeros((1, 3), np.float32), np.zeros((1, 3))],
                [np.full((1, EMBED_DIM), np.nan, np.float32), np.zeros((1, 1000))]):
        monkeypatch.setattr(bb, "session", Fake(out))
        with pytest.raises(ModelError):
            bb.run(x)
