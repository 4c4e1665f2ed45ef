"""The PyInstaller spec's inputs, the bundle entry points and the --version outputs.

Building the bundle itself takes ~2.5 minutes on 2 cores and needs PyInstaller (not a test dependency),
so that test runs only when asked: PIAA_TEST_BUNDLE=1 (see installer/README.md).
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTALLER = REPO / "installer"
sys.path.insert(0, str(INSTALLER))

import bundle_info  # noqa: E402


def test_name_and_version_come_from_the_package():
    import piaa_desktop

    meta = bundle_info.app_metadata()
    assert meta == {"name": piaa_desktop.APP_NAME, "app_id": piaa_desktop.APP_ID,
                    "version": piaa_desktop.__version__}


def test_metadata_reader_refuses_a_package_without_version(tmp_path):
    f = tmp_path / "__init__.py"
    f.write_text("APP_NAME = 'X'\nAPP_ID = 'x'\n")
    with pytest.raises(ValueError, match="__version__"):
        bundle_info.app_metadata(f)


def test_every_data_file_exists_and_lands_where_the_frozen_app_looks():
    datas = bundle_info.data_files()
    assert datas
    for src, dest in datas:
        p = Path(src)
        assert p.is_file(), f"spec data file missing: {src}"
        rel = p.parent.relative_to(REPO).as_posix()
        assert dest == rel and dest.split("/")[0] in {"models", "resources"}
    shipped = {Path(s).relative_to(REPO).as_posix() for s, _ in datas}
    # every model the manifest lists, and the manifest itself
    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    assert "models/manifest.json" in shipped
    for entry in manifest["models"].values():
        assert f"models/{entry['file']}" in shipped
    # everything the app reads from resources/
    for need in ("resources/style/dark.qss", "resources/style/light.qss", "resources/shortcuts.md",
                 "resources/piaa-desktop.desktop", "resources/icons/piaa-desktop.svg",
                 "resources/icons/piaa-desktop-16.png", "resources/icons/piaa-desktop-512.png",
                 "resources/sample_library/LICENSES.md"):
        assert need in shipped
    from piaa_desktop.core.sample import sample_photos

    for p in sample_photos():
        assert p.relative_to(REPO).as_posix() in shipped


def test_scratch_files_are_not_shipped(tmp_path):
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "resources" / "style" / "__pycache__").mkdir(parents=True)
    (root / "models" / "manifest.json").write_text(json.dumps({"models": {"m": {"file": "m.onnx"}}}))
    (root / "models" / "m.onnx").write_bytes(b"x")
    (root / "models" / "scratch_checkpoint.pt").write_bytes(b"x" * 10)
    (root / "resources" / "style" / "dark.qss").write_text("QWidget {}")
    (root / "resources" / "style" / "dark.qss.tmp").write_text("")
    (root / "resources" / "style" / "__pycache__" / "x.pyc").write_bytes(b"")
    shipped = {Path(s).relative_to(root).as_posix() for s, _ in bundle_info.data_files(root)}
    assert shipped == {"models/manifest.json", "models/m.onnx", "resources/style/dark.qss"}


def test_inference_only_switch():
    assert bundle_info.inference_only({"INFERENCE_ONLY": "1"})
    assert not bundle_info.inference_only({"INFERENCE_ONLY": "0"})
    assert not bundle_info.inference_only({})
    assert {"torch", "torchvision"} <= set(bundle_info.excludes(True))
    assert "torch" not in bundle_info.excludes(False)
    # the full build keeps what training needs; both leave the test tools out
    assert "pytest" in bundle_info.excludes(False) and "pytest" in bundle_info.excludes(True)


def test_spec_is_valid_python_using_the_shared_lists():
    src = (INSTALLER / "piaa-desktop.spec").read_text(encoding="utf-8")
    tree = ast.parse(src)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= called  # one-folder: EXE + COLLECT
    for needle in ("bundle_info.data_files", "bundle_info.excludes", "bundle_info.app_metadata",
                   "exclude_binaries=True", "entry_gui.py", "entry_cli.py"):
        assert needle in src
    for script in ("entry_gui.py", "entry_cli.py", "build_linux.sh", "install.sh", "uninstall.sh"):
        assert (INSTALLER / script).is_file()
    for script in ("build_linux.sh", "install.sh", "uninstall.sh"):
        assert os.access(INSTALLER / script, os.X_OK), f"{script} is not executable"
        if shutil.which("bash"):
            r = subprocess.run(["bash", "-n", str(INSTALLER / script)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr


def _run(args, env=None, timeout=180):
    e = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=e)


def test_self_test_from_source(tmp_path):
    r = _run([sys.executable, str(INSTALLER / "entry_gui.py"), "--self-test"], {"PIAA_DATA_DIR": str(tmp_path)})
    report = json.loads(r.stdout[r.stdout.index("{"):])
    assert r.returncode == 0, r.stdout + r.stderr
    assert report["ok"] and not report["frozen"] and report["torch_loaded"] is False
    assert {c["check"] for c in report["checks"]} == {"resources", "models", "onnxruntime",
                                                      "sample_library", "dialogs"}


def test_self_test_reports_a_damaged_model(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models)
    manifest = json.loads((models / "manifest.json").read_text())
    name, entry = next(iter(manifest["models"].items()))
    with open(models / entry["file"], "r+b") as fh:  # flip bytes in a copy: sha256 no longer matches
        fh.seek(1000)
        fh.write(b"\x00\x01\x02\x03")
    r = _run([sys.executable, str(INSTALLER / "entry_gui.py"), "--self-test"],
             {"PIAA_DATA_DIR": str(tmp_path / "d"), "PIAA_MODELS_DIR": str(models)})
    assert r.returncode == 1
    report = json.loads(r.stdout[r.stdout.index("{"):])
    bad = {c["check"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert "models" in bad and "damaged" in bad["models"]


SMOKE_APP = """
import sys
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow
def main():
    app = QApplication(sys.argv)
    if "--dialog-only" in sys.argv:
        return QDialog().exec() and 0
    w = QMainWindow(); w.setWindowTitle("Fake main"); w.show()
    sys.exit(app.exec())
"""


@pytest.mark.parametrize("mode,rc,main_window", [("", 0, True), ("--dialog-only", 3, False)])
def test_smoke_quit_reports_the_main_window(tmp_path, mode, rc, main_window):
    """PIAA_SMOKE_QUIT_MS: the hook the bundle test uses to start the real app and stop it."""
    pkg = tmp_path / "fake" / "piaa_desktop" / "gui"
    pkg.mkdir(parents=True)
    (pkg / "app.py").write_text(SMOKE_APP)
    code = (
        "import sys, runpy; import piaa_desktop.gui as g; g.__path__.insert(0, sys.argv[1]);"
        f"sys.argv = ['piaa-desktop'] + ([{mode!r}] if {mode!r} else []);"
        f"sys.path.insert(0, {str(INSTALLER)!r}); import entry_gui; sys.exit(entry_gui.main())"
    )
    r = _run([sys.executable, "-c", code, str(pkg)], {"PIAA_SMOKE_QUIT_MS": "300"}, timeout=60)
    assert r.returncode == rc, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("PIAA_SMOKE "))
    report = json.loads(line[len("PIAA_SMOKE "):])
    assert report["main_window"] is main_window


# -- --version (piaa_desktop/cli/main.py and piaa_desktop/gui/app.py are the integrator's) ---------

def _version_of(module: str, prog: str) -> subprocess.CompletedProcess:
    if not (REPO / (module.replace(".", "/") + ".py")).is_file():
        pytest.skip(f"{module} is not written yet")
    code = f"import sys; sys.argv = [{prog!r}, '--version']; from {module} import main; sys.exit(main())"
    return _run([sys.executable, "-c", code], timeout=60)


def test_piaa_version():
    import piaa_desktop

    r = _version_of("piaa_desktop.cli.main", "piaa")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"piaa {piaa_desktop.__version__}"


def test_piaa_desktop_version():
    import piaa_desktop

    r = _version_of("piaa_desktop.gui.app", "piaa-desktop")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"PIAA Desktop {piaa_desktop.__version__}"


# -- the real bundle (opt-in: PIAA_TEST_BUNDLE=1, PyInstaller installed) ---------------------------

@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("PIAA_TEST_BUNDLE") != "1", reason="set PIAA_TEST_BUNDLE=1 to build the bundle")
def test_inference_only_bundle_builds_and_starts(tmp_path):
    pytest.importorskip("PyInstaller")
    import piaa_desktop

    env = {"INFERENCE_ONLY": "1"}
    r = _run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
              "--workpath", str(tmp_path / "work"), "--distpath", str(tmp_path / "dist"),
              str(INSTALLER / "piaa-desktop.spec")], env, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    bundle = tmp_path / "dist" / "piaa-desktop"
    internal = bundle / "_internal"
    assert not (internal / "torch").exists(), "INFERENCE_ONLY bundle must not contain torch"
    assert (internal / "models" / "manifest.json").is_file()
    assert (internal / "resources" / "style" / "dark.qss").is_file()

    data = {"PIAA_DATA_DIR": str(tmp_path / "data")}
    r = _run([str(bundle / "piaa-desktop"), "--self-test"], data)
    report = json.loads(r.stdout[r.stdout.index("{"):])
    assert r.returncode == 0 and report["ok"] and report["frozen"], r.stdout

    r = _run([str(bundle / "piaa"), "--version"], data)
    assert r.stdout.strip() == f"piaa {piaa_desktop.__version__}"
    if (REPO / "piaa_desktop" / "gui" / "app.py").is_file():
        r = _run([str(bundle / "piaa-desktop"), "--version"], data)
        assert r.stdout.strip() == f"PIAA Desktop {piaa_desktop.__version__}"
        r = _run([str(bundle / "piaa-desktop")], dict(data, PIAA_SMOKE_QUIT_MS="5000"))
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert '"main_window": true' in r.stdout
