"""``piaa develop`` (set / copy / reset edits headless), ``piaa enhance --json``, the enhancer's develop-slider
signature and its failure messages. Runs on the bundled sample library (no shared data needed)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from piaa_desktop.core import develop as D
from piaa_desktop.core.enhance import env as E

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_library"


@pytest.fixture
def lib(tmp_path) -> Path:
    out = tmp_path / "lib"
    out.mkdir()
    for f in sorted(SAMPLE.glob("*.jpg"))[:5]:
        shutil.copy2(f, out / f.name)
    return out


def _run(capsys, *argv) -> tuple[int, str, str]:
    from piaa_desktop.cli.main import main

    code = main(list(argv))
    c = capsys.readouterr()
    return code, c.out, c.err


def test_develop_set_copy_reset(tmp_path, lib, capsys):
    d = str(tmp_path / "data")
    assert _run(capsys, "--data-dir", d, "scan", "--no-embeddings", str(lib))[0] == 0
    a, b, c = (str(p) for p in sorted(lib.glob("*.jpg"))[:3])
    code, out, _ = _run(capsys, "--data-dir", d, "develop", a, b, "--set", "exposure=0.5", "--set", "temperature=-20",
                        "--json")
    assert code == 0
    rows = json.loads(out)["photos"]
    assert [r["path"] for r in rows] == [str(Path(a).resolve()), str(Path(b).resolve())]
    for r in rows:
        assert r["params"]["exposure"] == 0.5 and r["params"]["temperature"] == -20 and r["params"]["contrast"] == 0
    # --set on top of the current settings keeps the others
    code, out, _ = _run(capsys, "--data-dir", d, "develop", a, "--set", "contrast=12", "--json")
    p = json.loads(out)["photos"][0]["params"]
    assert (p["exposure"], p["temperature"], p["contrast"]) == (0.5, -20, 12)
    # --copy-from replaces, then --set applies
    code, out, _ = _run(capsys, "--data-dir", d, "develop", c, "--copy-from", a, "--set", "saturation=10", "--json")
    p = json.loads(out)["photos"][0]["params"]
    assert (p["exposure"], p["contrast"], p["saturation"]) == (0.5, 12, 10)
    # the catalog holds them as the user's own edits (what the enhancer learns from)
    from piaa_desktop.core.catalog import open_catalog
    from piaa_desktop.core.paths import app_paths

    cat = open_catalog(app_paths(d))
    try:
        ids = {cat.photo_by_path(x).id: x for x in (a, b, c)}
        assert set(cat.edits(source="user")) == set(ids)
    finally:
        cat.close()
    # --reset clears; --reset with --set starts from the unedited photo
    code, out, _ = _run(capsys, "--data-dir", d, "develop", b, "--reset", "--json")
    assert json.loads(out)["photos"][0]["params"] == D.default_params()
    code, out, _ = _run(capsys, "--data-dir", d, "develop", a, "--reset", "--set", "vibrance=5", "--json")
    p = json.loads(out)["photos"][0]["params"]
    assert p["vibrance"] == 5 and p["exposure"] == 0
    # no option: prints, changes nothing
    code, out, _ = _run(capsys, "--data-dir", d, "develop", a)
    assert code == 0 and "vibrance +5" in out


@pytest.mark.parametrize(
    "bad, needle",
    [("exposur=1", "unknown develop setting"), ("exposure", "NAME=VALUE"), ("exposure=abc", "not a number"),
     ("exposure=9", "outside"), ("exposure=nan", "outside")],
)
def test_develop_bad_usage_is_a_clear_error(tmp_path, lib, capsys, bad, needle):
    d = str(tmp_path / "data")
    _run(capsys, "--data-dir", d, "scan", "--no-embeddings", str(lib))
    a = str(sorted(lib.glob("*.jpg"))[0])
    code, out, err = _run(capsys, "--data-dir", d, "develop", a, "--set", bad)
    assert code == 2 and needle in err and "Traceback" not in err
    code, _, err = _run(capsys, "--data-dir", d, "develop", str(lib / "nope.jpg"), "--set", "exposure=1")
    assert code == 3 and "not in the catalog" in err


def test_signature_detects_a_new_slider_and_ignores_geometry(monkeypatch):
    sig = E.param_signature()
    assert E.signature_problem(sig) is None
    assert "older version" in E.signature_problem(None)
    geo = D.PARAMS + (D.Param("straighten", "Straighten", -45.0, 45.0, 0.0, 0.1), D.Param("crop_top", "Crop", 0, 1, 0, 0.01))
    monkeypatch.setattr(D, "PARAMS", geo)
    assert E.param_signature()["id"] == sig["id"]  # geometry is not the enhancer's business
    monkeypatch.setattr(D, "PARAMS", geo + (D.Param("clarity", "Clarity", -100.0, 100.0, 0.0, 1.0),))
    problem = E.signature_problem(sig)
    assert problem and "clarity" in problem


def test_auto_enhance_keeps_geometry_and_unknown_settings():
    mine = {"exposure": 1.0, "straighten": 3.5, "crop_left": 0.1, "contrast": 40}
    new = E.z_to_params(E.params_to_z({"exposure": -0.3}))
    merged = E.merge_params(mine, new)
    assert merged["straighten"] == 3.5 and merged["crop_left"] == 0.1
    assert merged["exposure"] == -0.3 and merged["contrast"] == 0
    assert set(E.z_to_params(E.params_to_z({}))) == set(E.NAMES)


def test_stale_or_damaged_personal_model_is_an_error_not_a_silent_fallback(tmp_path):
    from piaa_desktop.core.enhance.model import EnhancerError, load_enhancer, load_personal, personal_dir
    from piaa_desktop.core.paths import app_paths

    paths = app_paths(tmp_path / "data").ensure()
    assert load_personal(paths) is None  # none trained: the generic model, and callers say so
    d = personal_dir(paths)
    d.mkdir(parents=True)
    (d / "enhancer.json").write_text(json.dumps({"onnx": "x.onnx", "weights": None, "start": {}}))
    with pytest.raises(EnhancerError, match="older version.*What to do"):
        load_enhancer(paths)
    (d / "enhancer.json").write_text(json.dumps({"onnx": "x.onnx", "start": {}, "param_signature": E.param_signature()}))
    with pytest.raises(EnhancerError, match="damaged.*What to do"):
        load_enhancer(paths)


def test_cli_training_failure_is_a_message_not_a_traceback(tmp_path, lib, capsys, monkeypatch):
    pytest.importorskip("torch")
    d = str(tmp_path / "data")
    _run(capsys, "--data-dir", d, "scan", "--no-embeddings", str(lib))
    photos = [str(p) for p in sorted(lib.glob("*.jpg"))[:3]]
    assert _run(capsys, "--data-dir", d, "develop", *photos, "--set", "exposure=0.4")[0] == 0

    import piaa_desktop.core.enhance.policy as policy

    def no_onnx(*a, **k):
        raise ModuleNotFoundError("Module onnx is not installed!", name="onnx")

    monkeypatch.setattr(policy, "export_onnx", no_onnx)
    fast = policy.train_q  # a tiny training: this test is about what happens after it
    monkeypatch.setattr(policy, "train_q", lambda *a, **k: fast(*a, **{**k, "rounds": 1, "episodes_per_round": 1}))
    code, out, err = _run(capsys, "--data-dir", d, "enhance", "--train")
    assert code == 1 and "Traceback" not in err
    assert "not learned" in err and "onnx" in err and "What to do" in err
    from piaa_desktop.core.enhance.model import load_personal
    from piaa_desktop.core.paths import app_paths

    assert load_personal(app_paths(d)) is None  # nothing half-written


def test_develop_copy_from_keeps_each_photos_crop_unless_asked(tmp_path, lib, capsys):
    """`--copy-from` pastes as the app's Copy/Paste settings does: tone and colour, and each photo keeps its own
    crop (it used to replace the target's crop and straighten with the source's, or wipe them).
    `--copy-groups` chooses (tone, colour, crop)."""
    d = str(tmp_path / "data")
    assert _run(capsys, "--data-dir", d, "scan", "--no-embeddings", str(lib))[0] == 0
    a, b, c = (str(p) for p in sorted(lib.glob("*.jpg"))[:3])
    assert _run(capsys, "--data-dir", d, "develop", a, "--set", "exposure=0.5", "--set", "saturation=20",
                "--set", "crop_left=0.1", "--set", "angle=3")[0] == 0
    assert _run(capsys, "--data-dir", d, "develop", b, c, "--set", "contrast=30", "--set", "crop_top=0.2")[0] == 0
    code, out, _ = _run(capsys, "--data-dir", d, "develop", b, "--copy-from", a, "--json")
    p = json.loads(out)["photos"][0]["params"]
    assert code == 0 and (p["exposure"], p["saturation"], p["contrast"]) == (0.5, 20, 0)  # the copied tone
    assert (p["crop_top"], p["crop_left"], p["angle"]) == (0.2, 0, 0)  # its own crop, kept
    code, out, _ = _run(capsys, "--data-dir", d, "develop", c, "--copy-from", a, "--copy-groups", "tone,crop", "--json")
    p = json.loads(out)["photos"][0]["params"]
    assert (p["exposure"], p["saturation"], p["contrast"]) == (0.5, 0, 0)  # tone copied; colour kept (none)
    assert (p["crop_top"], p["crop_left"], p["angle"]) == (0, 0.1, 3)  # the source's crop and straighten
    code, _, err = _run(capsys, "--data-dir", d, "develop", c, "--copy-from", a, "--copy-groups", "tone,lens")
    assert code == 2 and "unknown group 'lens'" in err and "tone, colour, crop" in err
    code, _, err = _run(capsys, "--data-dir", d, "develop", c, "--copy-groups", "tone")
    assert code == 2 and "--copy-groups goes with --copy-from" in err
