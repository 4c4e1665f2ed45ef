"""The headless core and the CLI never import Qt; start-up paths never import torch."""
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import piaa_desktop.core

REPO = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed")
    out = subprocess.run([exe], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.lower() or "0 broken" in out.stdout.lower()


def test_importing_every_core_module_loads_no_qt_and_no_torch():
    mods = [m.name for m in pkgutil.walk_packages(piaa_desktop.core.__path__, "piaa_desktop.core.")]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "import piaa_desktop.cli.main as cli; cli.build_parser()\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'torch'))]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
