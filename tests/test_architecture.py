"""The headless core and the CLI never import Qt; start-up paths never import torch."""
import pkgutil
import re
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
    m = re.search(r"Contracts: (\d+) kept, (\d+) broken", out.stdout)
    assert m, out.stdout
    kept, broken = int(m.group(1)), int(m.group(2))
    assert broken == 0, out.stdout  # "10 broken" is not "0 broken"
    declared = (REPO / "pyproject.toml").read_text(encoding="utf-8").count("[[tool.importlinter.contracts]]")
    assert kept == declared >= 5  # every contract was checked (core/Qt, CLI/GUI, layers, features)


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


def test_all_sql_lives_in_the_catalog():
    """Statements are run only by core/catalog.py: other modules call its methods (tests may use SQL)."""
    pattern = re.compile(r"\.(execute|executemany|executescript)\(")
    offenders = []
    for path in sorted((REPO / "piaa_desktop").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "piaa_desktop/core/catalog.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{rel}:{n}")
    assert offenders == [], "SQL outside the catalog: " + ", ".join(offenders)
