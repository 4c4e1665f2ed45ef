"""The GUI entry point: --version, start-up without torch, the folder argument, the first-run welcome."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog  # noqa: E402

import piaa_desktop  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _run(code: str, tmp_path: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PIAA_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def few_photos(tmp_path, photos_dir) -> Path:
    """Three photos generated from the sample library: what these tests import (their subject is the start-up and
    the order of things, not the import's size)."""
    lib = tmp_path / "few"
    lib.mkdir()
    for src in sorted(photos_dir.glob("*.jpg"))[:3]:
        shutil.copy2(src, lib / src.name)
    return lib


def test_version_prints_and_creates_no_window(tmp_path):
    r = _run(
        """
        import sys
        from piaa_desktop.gui.app import main
        rc = main(["--version"])
        print("widgets-loaded", "PySide6.QtWidgets" in sys.modules)
        sys.exit(rc)
        """,
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"PIAA Desktop {piaa_desktop.__version__}"
    assert lines[1] == "widgets-loaded False"


def test_startup_and_import_never_load_torch(tmp_path, few_photos):
    r = _run(
        f"""
        import sys
        import piaa_desktop.gui.app
        from PySide6.QtWidgets import QApplication
        from piaa_desktop.core.paths import app_paths
        from piaa_desktop.gui.theme import apply_theme
        from piaa_desktop.gui.main_window import MainWindow
        app = QApplication([])
        apply_theme(app)
        w = MainWindow(app_paths({str(tmp_path / 'd')!r}))
        w.show()
        app.processEvents()
        print("torch-after-start", "torch" in sys.modules)
        done = []
        w.importFinished.connect(lambda r: (done.append(r), app.quit()))
        w.features.importing.import_folder({str(few_photos)!r})
        app.exec()
        print("imported", w.model.rowCount())
        print("torch-after-import", "torch" in sys.modules)
        w.close()
        """,
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "torch-after-start False" in r.stdout
    assert "imported 3" in r.stdout
    assert "torch-after-import False" in r.stdout


def test_main_shows_window_first_then_imports_folder_argument(qtbot, tmp_path, few_photos, monkeypatch):
    from piaa_desktop.gui import app as gui_app
    from piaa_desktop.gui.features.importing import ImportFeature
    from piaa_desktop.gui.main_window import MainWindow

    calls = []
    original = ImportFeature.import_folder

    def spy(self, folder):
        calls.append(self.win.isVisible())
        return original(self, folder)

    monkeypatch.setattr(ImportFeature, "import_folder", spy)
    found = {}
    qapp = QApplication.instance()

    def watch():
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if wins and wins[0].features.importing.last_import_result is not None:
            found["window"] = wins[0]
            found["rows"] = wins[0].model.rowCount()
            found["title"] = wins[0].windowTitle()
            wins[0].close()
            qapp.exit(0)
        else:
            QTimer.singleShot(50, watch)

    QTimer.singleShot(0, watch)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: qapp.exit(5))  # never hang the suite
    guard.start(120_000)
    data = tmp_path / "sandbox"
    # Closing the app's only window must not post a quit that would end the next test's event loops.
    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    try:
        rc = gui_app.main(["--data-dir", str(data), str(few_photos)])
    finally:
        guard.stop()
        qapp.setQuitOnLastWindowClosed(quit_on_close)
    assert rc == 0
    assert calls == [True]  # the window was visible when the import started
    assert found["rows"] == 3
    assert found["title"] == "PIAA Desktop"
    assert (data / "catalog.sqlite3").is_file()
    # a folder on the command line counts as the first run: no welcome next time
    from piaa_desktop.core.settings import Settings

    assert Settings.load(data / "config" / "settings.json").get("first_run_done") is True
    found["window"].deleteLater()


def test_first_run_welcome_imports_the_chosen_folder(qtbot, app_paths, few_photos, monkeypatch):
    from piaa_desktop.gui import welcome
    from piaa_desktop.gui.main_window import MainWindow

    monkeypatch.setattr(welcome.WelcomeDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(welcome.WelcomeDialog, "chosen_folder", lambda self: few_photos)
    w = MainWindow(app_paths)
    qtbot.addWidget(w)
    w.show()
    assert w.features.importing.maybe_show_welcome() is True
    # the bundled samples (a copy in the data dir) import at once, then the chosen folder
    qtbot.waitUntil(lambda: not w.features.importing.import_running() and w.model.rowCount() == 3 + 8, timeout=180_000)
    folders = {Path(r["path"]).name for r in w.catalog.folders()}
    assert folders == {few_photos.name, "PIAA sample photos"}
    assert all(Path(r["path"]).is_relative_to(app_paths.data_dir) for r in w.catalog.folders()
               if Path(r["path"]).name == "PIAA sample photos")
    assert w.settings.get("first_run_done") is True
    assert w.features.importing.maybe_show_welcome() is False  # only once


def test_first_run_later_still_shows_the_sample_library(qtbot, app_paths, monkeypatch):
    from piaa_desktop.gui import welcome
    from piaa_desktop.gui.main_window import MainWindow

    monkeypatch.setattr(welcome.WelcomeDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    w = MainWindow(app_paths)
    qtbot.addWidget(w)
    w.show()
    assert w.features.importing.maybe_show_welcome() is True
    qtbot.waitUntil(lambda: not w.features.importing.import_running() and w.model.rowCount() == 8, timeout=120_000)


def test_many_signals_do_not_crash_the_interpreter(tmp_path):
    """PySide6 6.12 on CPython < 3.12 drops a reference to True per emit and to None per empty
    QVariant; without gui.pyside_compat this process aborts (bool_dealloc / none_dealloc)."""
    r = _run(
        """
        import piaa_desktop.gui
        from PySide6.QtCore import QObject, QStringListModel, Qt, Signal

        class A(QObject):
            s = Signal(object)

        a = A()
        got = []
        a.s.connect(got.append)
        for i in range(20000):
            a.s.emit(i)
        m = QStringListModel(["x"])
        idx = m.index(0, 0)
        for _ in range(50000):
            m.data(idx, Qt.ItemDataRole.DecorationRole)
        print("ok", len(got))
        """,
        tmp_path,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "ok 20000"


def test_second_app_on_the_same_library_is_refused(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from piaa_desktop.core.instance import InstanceLock
    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.gui import app as gui_app

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: shown.append(a[2])))
    data = tmp_path / "lib"
    with InstanceLock(app_paths(data).ensure()):
        assert gui_app.main(["--data-dir", str(data), "--no-welcome"]) == 1
    assert shown and "already running" in shown[0]
    assert not [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible()]
