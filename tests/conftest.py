"""Shared fixtures. Every test runs against a sandbox data dir; Qt runs offscreen.

Behaviour tests run from what the repository holds: ``photos_dir`` is a folder of 500 photos generated
from the bundled sample library (crops, flips, colour and exposure changes, seeded), ``small_library``
12 of them, ``enhance_pairs`` before/after pairs rendered with the develop pipeline. Only benchmark and
model-quality checks read ``../shared/data`` (``bsds_dir``, ``fivek_dir``): they carry the
``shared_data`` marker and skip when it is absent (``pytest -m "not shared_data"`` leaves them out).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Threads of torch / BLAS (OpenMP) in the test process and its children: 2 for a serial run; under
# pytest-xdist the cores shared among the workers (pytest_configure below: 1 each when the workers fill the
# cores). More threads than cores spin while they wait for each other: on the 2-core machine two workers
# with 2 threads each spent about twice the CPU on the same training (benchmarks/RESULTS.md, "Test suite time").
_OMP_GIVEN = "OMP_NUM_THREADS" in os.environ
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest

try:  # PySide6 6.12 drops references to None/True on CPython < 3.12: guard the whole session
    from piaa_desktop.gui.pyside_compat import protect_singletons

    protect_singletons()
except ImportError:  # no PySide6 (a core-only install): nothing to guard
    pass

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "sample_library"
SHARED_DATA = REPO.parent / "shared" / "data"
BSDS = SHARED_DATA / "bsds500"
FIVEK = SHARED_DATA / "fivek_expert_c"


MAX_WORKERS = 4  # each worker holds torch, Qt and onnxruntime (~1.5 GB): more would trade memory for little


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """The whole suite (``python -m pytest`` with no paths: the README's command) runs on every core with
    pytest-xdist, up to ``MAX_WORKERS``; a file or test named on the command line runs in one process, and
    ``-n N`` (``-n 0``: serial) always wins. Most of the suite's time is waiting on child processes, GUI
    event loops and background jobs, so two workers overlap well even on two cores."""
    if os.environ.get("PYTEST_XDIST_WORKER") or getattr(config.option, "numprocesses", False) is not None:
        return  # a worker, no pytest-xdist, or -n given
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS or config.getoption("usepdb", False):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = min(cores, MAX_WORKERS)
    if workers > 1:
        config.option.numprocesses = workers
        if config.option.dist == "no":
            config.option.dist = "worksteal"  # long tests at the end are taken over by an idle worker


def pytest_configure(config):
    """Before pytest-xdist starts its workers (they inherit the environment): one OpenMP thread per core
    and worker, unless OMP_NUM_THREADS was set by the caller."""
    n = getattr(config.option, "numprocesses", None)
    if _OMP_GIVEN or os.environ.get("PYTEST_XDIST_WORKER") or not isinstance(n, int) or n < 2:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ["OMP_NUM_THREADS"] = str(max(1, min(2, cores // n)))


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


@pytest.fixture(scope="session", autouse=True)
def _children_bytecode_cache(tmp_path_factory):
    """The Python processes the tests start (``python -m piaa_desktop.cli.main ...``, the app, SIGKILL and
    strace runs) keep their bytecode in one folder of this run (``PYTHONPYCACHEPREFIX``), so the repo's
    modules are compiled once per run instead of once per child when the environment sets
    ``PYTHONDONTWRITEBYTECODE``; nothing is written into the source tree. Under pytest-xdist the workers
    share the folder (Python writes each .pyc atomically)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this run
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPYCACHEPREFIX", str(root / "pycache"))
    mp.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    yield
    mp.undo()


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


def pytest_collection_modifyitems(config, items):
    """Tests that read the shared data sets are benchmark/model-quality checks: marked ``shared_data``."""
    for item in items:
        if {"bsds_dir", "fivek_dir", "raw_library"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared_data)


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


N_GENERATED = 500


def generate_photos(dest: Path, n: int = N_GENERATED, seed: int = 0) -> Path:
    """``n`` JPEG photos made from the sample library: photo ``i`` comes from sample ``i % 8`` (so any 8
    consecutive ones show 8 different scenes); the first 8 are the samples themselves (long edge 480),
    the others random crops (35-90 % of the frame), mirrored or not, with colour, contrast and exposure
    changed, so their content and embeddings differ. Deterministic for a seed."""
    import numpy as np
    from PIL import Image, ImageEnhance

    dest.mkdir(parents=True, exist_ok=True)
    sources = [Image.open(p).convert("RGB") for p in sorted(SAMPLES.glob("*.jpg"))]
    rng = np.random.default_rng(seed)
    for i in range(n):
        src = sources[i % len(sources)]
        im = src
        if i >= len(sources):
            w, h = src.size
            frac = float(rng.uniform(0.35, 0.9))
            cw, ch = max(32, int(w * frac)), max(32, int(h * float(rng.uniform(0.35, 0.9))))
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            im = src.crop((x, y, x + cw, y + ch))
            if rng.random() < 0.5:
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            gains = rng.uniform(0.75, 1.25, 3)
            a = np.asarray(im, dtype=np.float32) * gains[None, None, :]
            im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
            im = ImageEnhance.Contrast(im).enhance(float(rng.uniform(0.7, 1.4)))
            im = ImageEnhance.Brightness(im).enhance(float(rng.uniform(0.7, 1.3)))
        scale = 480 / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BICUBIC)
        im.save(dest / f"{i:04d}.jpg", quality=90)
    return dest


@pytest.fixture(scope="session")
def photos_dir(tmp_path_factory) -> Path:
    """500 photos generated from the bundled sample library (see :func:`generate_photos`); read-only.

    Under pytest-xdist the workers share one set: the first to need it generates it (under a file lock,
    in the run's common temporary folder) and the others wait for it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return generate_photos(tmp_path_factory.mktemp("photos"))
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent  # shared by every worker of this run
    dest, done = root / "photos", root / "photos.done"
    with FileLock(str(root / "photos.lock")):
        if not done.exists():
            shutil.rmtree(dest, ignore_errors=True)
            generate_photos(dest)
            done.touch()
    return dest


@pytest.fixture
def small_library(tmp_path, photos_dir) -> Path:
    """A folder with 12 photos generated from the sample library (copies: the session's set stays as is)."""
    lib = tmp_path / "library"
    lib.mkdir()
    return copy_small_library(photos_dir, lib)


@pytest.fixture(scope="session")
def enhance_pairs(tmp_path_factory, photos_dir) -> Path:
    """Before/after pairs in FiveK's layout (``input/``, ``expert_c/`` PNGs): 8 generated photos and the
    same photos rendered by the develop pipeline with one consistent look (brighter, warmer, punchier)."""
    import numpy as np
    from PIL import Image

    from piaa_desktop.core import develop

    root = tmp_path_factory.mktemp("pairs")
    (root / "input").mkdir()
    (root / "expert_c").mkdir()
    look = {"exposure": 0.5, "temperature": 20.0, "contrast": 15.0, "vibrance": 10.0}
    for k, src in enumerate(sorted(photos_dir.glob("*.jpg"))[8:16]):
        rgb = develop.to_float(Image.open(src))
        Image.open(src).convert("RGB").save(root / "input" / f"p{k:03d}.png")
        out = develop.render(rgb, {**look, "exposure": look["exposure"] + 0.05 * (k % 3)})
        Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)).save(root / "expert_c" / f"p{k:03d}.png")
    return root


# ------------------------------------------------------------------------------------------ GUI: imported once
# Most GUI tests need a window on an imported library, not the import itself. The import (decode, thumbnails,
# embeddings, generic scores) and the faces pass after it cost seconds of CPU; copying their result costs
# milliseconds. ``imported_library`` imports a library with the app's own window once per worker (the same
# import and faces pass a test would run) and gives each test a fresh copy of both the photos and the data
# dir, so tests stay independent of each other and of their order. Tests of the import itself import.
def _import_with_window(paths, folder: Path, timeout_s: float = 300.0) -> None:
    """The app's import of ``folder`` into ``paths`` in a real window, then what follows it (the faces pass);
    every job of the window done."""
    import time

    from PySide6.QtWidgets import QApplication

    from piaa_desktop.gui.main_window import MainWindow

    w = MainWindow(paths)
    w.resize(1280, 800)
    w.show()
    done = []
    w.importFinished.connect(done.append)
    assert w.features.importing.import_folder(folder) is not None
    deadline = time.monotonic() + timeout_s

    def busy() -> bool:  # the faces pass is submitted when importFinished is emitted (connected before us)
        return not done or bool(w.jobs.running())

    while busy():
        assert time.monotonic() < deadline, f"the template import of {folder} did not finish in {timeout_s} s"
        QApplication.processEvents()
        time.sleep(0.005)
    assert not isinstance(done[0], BaseException), done[0]
    w.close()
    w.deleteLater()
    QApplication.processEvents()


class ImportedTemplates:
    """Per worker: libraries imported once (``folder`` named by the catalog, ``pristine`` photos, ``data``)."""

    def __init__(self, root: Path):
        self.root = root
        self._made: dict[str, Path] = {}

    def get(self, name: str, make) -> Path:
        if name not in self._made:
            from piaa_desktop.core.paths import app_paths as _ap

            base = self.root / name
            shutil.rmtree(base, ignore_errors=True)
            folder = base / "library"
            folder.mkdir(parents=True)
            make(folder)
            pristine = base / "pristine"
            shutil.copytree(folder, pristine)  # before the import: what the test's copy starts from
            _import_with_window(_ap(base / "data").ensure(), folder)
            self._made[name] = base
        return self._made[name]

    def restore(self, name: str, make, data_dir: Path) -> Path:
        """A fresh copy of library ``name`` at the path its catalog names and of its data dir in ``data_dir``."""
        base = self.get(name, make)
        folder = base / "library"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(base / "pristine", folder)  # copy2: sizes and mtimes as imported (no rescan work)
        shutil.copytree(base / "data", data_dir, dirs_exist_ok=True)
        return folder


@pytest.fixture(scope="session")
def imported_templates(tmp_path_factory, qapp) -> ImportedTemplates:
    return ImportedTemplates(tmp_path_factory.getbasetemp() / "imported-templates")


def copy_small_library(photos_dir: Path, lib: Path) -> Path:
    for src in sorted(photos_dir.glob("*.jpg"))[:12]:
        shutil.copy2(src, lib / src.name)
    return lib


@pytest.fixture
def imported_library(imported_templates, app_paths, photos_dir) -> Path:
    """``small_library``'s 12 photos already imported by the app into ``app_paths`` (thumbnails, embeddings,
    generic scores, faces), as after the window's import; the photos are this test's own copy (at a path
    fixed per worker, the one the catalog names). Open ``MainWindow(app_paths)`` on it."""
    return imported_templates.restore("small", lambda lib: copy_small_library(photos_dir, lib), app_paths.data_dir)


@pytest.fixture
def shipped_prior():
    """The shipped taste prior (models/personal_prior.npz); the test is skipped where it cannot be loaded."""
    from piaa_desktop.core.models import ModelError
    from piaa_desktop.core.personal.heads import load_prior

    try:
        return load_prior()
    except ModelError as exc:
        pytest.skip(f"shipped prior not available: {exc}")


@pytest.fixture
def embedded_catalog(catalog, app_paths, small_library, shipped_prior):
    """``catalog`` with small_library's 12 photos scanned and embedded (not scored), as the personal jobs need."""
    from piaa_desktop.core.scanner import import_folder

    res = import_folder(catalog, small_library, app_paths.thumbnails, score=False)
    assert res.embedded == 12
    return catalog
