"""Shared fixtures. Every test runs against a sandbox data dir; Qt runs offscreen."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest

try:  # PySide6 6.12 drops references to None/True on CPython < 3.12: guard the whole session
    from piaa_desktop.gui.pyside_compat import protect_singletons

    protect_singletons()
except ImportError:  # no PySide6 (a core-only install): nothing to guard
    pass

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
BSDS = SHARED_DATA / "bsds500"
FIVEK = SHARED_DATA / "fivek_expert_c"


def _listing(root: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def _shared_data_untouched():
    """No test may write beside the shared photos (sidecars, caches, edits): they are read-only inputs."""
    before = _listing(SHARED_DATA) if SHARED_DATA.exists() else {}
    yield
    after = _listing(SHARED_DATA) if SHARED_DATA.exists() else {}
    changed = sorted(set(after.items()) ^ set(before.items()))
    assert not changed, f"the tests changed files under {SHARED_DATA}: {changed[:10]}"


@pytest.fixture(autouse=True)
def _sandbox_env(tmp_path_factory, monkeypatch):
    """Never touch the real user's data dir, whatever a test forgets to pass."""
    root = tmp_path_factory.mktemp("piaa-data")
    monkeypatch.setenv("PIAA_DATA_DIR", str(root))
    yield


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def app_paths(data_dir):
    from piaa_desktop.core.paths import app_paths as _ap

    return _ap(data_dir).ensure()


@pytest.fixture
def catalog(app_paths):
    from piaa_desktop.core.catalog import open_catalog

    cat = open_catalog(app_paths)
    yield cat
    cat.close()


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(scope="session")
def bsds_dir() -> Path:
    return _need(BSDS)


@pytest.fixture(scope="session")
def fivek_dir() -> Path:
    return _need(FIVEK)


@pytest.fixture
def small_library(tmp_path, bsds_dir) -> Path:
    """A folder with 12 real BSDS photos (copies: the originals stay read-only)."""
    lib = tmp_path / "library"
    lib.mkdir()
    for src in sorted(bsds_dir.glob("*.jpg"))[:12]:
        shutil.copy2(src, lib / src.name)
    return lib
