"""First-run welcome, Help > About and Help > Keyboard shortcuts, offscreen with pytest-qt."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def dark(qapp):
    from piaa_desktop.gui.theme import apply_theme

    old_sheet, old_palette, old_style = qapp.styleSheet(), qapp.palette(), qapp.style().name()
    apply_theme(qapp, "dark")
    yield qapp
    qapp.setStyleSheet(old_sheet)
    qapp.setPalette(old_palette)
    if old_style:
        qapp.setStyle(old_style)


# -- welcome -------------------------------------------------------------------------------------

def _welcome(qtbot, tmp_path):
    from piaa_desktop.gui.welcome import WelcomeDialog

    dlg = WelcomeDialog(data_dir=tmp_path / "data")
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def test_welcome_explains_rate_rank_retouch(dark, qtbot, tmp_path):
    from PySide6.QtWidgets import QFrame, QLabel

    dlg = _welcome(qtbot, tmp_path)
    cards = [f for f in dlg.findChildren(QFrame) if f.property("role") == "card"]
    assert [c.objectName() for c in cards] == ["card_rate", "card_rank", "card_retouch"]
    text = " ".join(lab.text() for lab in dlg.findChildren(QLabel))
    for word in ("Rate", "Rank", "Retouch", "which do you prefer", "stay on this machine"):
        assert word in text
    assert dlg._thumbs >= 4  # the sample strip shows real photos at once
    assert not dlg.grab().isNull()
    assert dlg.chosen_folder() is None


def test_welcome_sample_library_copies_into_data_dir(dark, qtbot, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialog

    from piaa_desktop.core.sample import sample_photos

    dlg = _welcome(qtbot, tmp_path)
    qtbot.mouseClick(dlg.sample_button, Qt.MouseButton.LeftButton)
    assert dlg.result() == QDialog.DialogCode.Accepted
    folder = dlg.chosen_folder()
    assert dlg.chose_sample()
    assert folder == tmp_path / "data" / "PIAA sample photos"
    assert {p.name for p in sample_photos()} <= {p.name for p in folder.iterdir()}
    # the shipped folder itself is never handed out (it is read-only and moves on upgrade)
    assert folder.resolve() != sample_photos()[0].parent.resolve()


def test_welcome_open_folder(dark, qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialog

    photos = tmp_path / "my photos"
    photos.mkdir()
    dlg = _welcome(qtbot, tmp_path)
    monkeypatch.setattr(dlg, "_ask_folder", lambda: None)  # user cancels the folder dialog
    qtbot.mouseClick(dlg.open_button, Qt.MouseButton.LeftButton)
    assert dlg.isVisible() and dlg.chosen_folder() is None
    monkeypatch.setattr(dlg, "_ask_folder", lambda: photos)
    qtbot.mouseClick(dlg.open_button, Qt.MouseButton.LeftButton)
    assert dlg.result() == QDialog.DialogCode.Accepted
    assert dlg.chosen_folder() == photos and not dlg.chose_sample()


def test_welcome_later_chooses_nothing(dark, qtbot, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialog

    dlg = _welcome(qtbot, tmp_path)
    qtbot.mouseClick(dlg.later_button, Qt.MouseButton.LeftButton)
    assert dlg.result() == QDialog.DialogCode.Rejected
    assert dlg.chosen_folder() is None
    assert not (tmp_path / "data").exists()


# -- about ---------------------------------------------------------------------------------------

def test_about_lists_versions_and_shipped_models(dark, qtbot):
    import onnxruntime

    from piaa_desktop import __version__
    from piaa_desktop.core.models import load_manifest
    from piaa_desktop.gui.about import AboutDialog

    dlg = AboutDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    text = dlg.text()
    assert f"PIAA Desktop\n{__version__}" in text or f"PIAA Desktop {__version__}" in text
    for needle in ("Python", "Qt", "PySide6", "onnxruntime", onnxruntime.__version__):
        assert needle in text
    models = load_manifest()["models"]
    for name, entry in models.items():
        assert name in text
        assert entry["sha256"][:12] in text
    assert not dlg.grab().isNull()


def test_about_with_missing_and_broken_manifests(qtbot, tmp_path):
    from piaa_desktop.gui.about import AboutDialog, shipped_models

    (tmp_path / "manifest.json").write_text(json.dumps({"models": {"scorer": {
        "file": "scorer.onnx", "sha256": "ab" * 32, "metric": "SRCC 0.61 on held-out pairs",
        "data": "PARA (research use)"}}}))
    rows = shipped_models(tmp_path)
    assert rows == [dict(name="scorer", file="scorer.onnx", sha256="abababababab",
                         metric="SRCC 0.61 on held-out pairs", license="", data="PARA (research use)",
                         present=False)]
    dlg = AboutDialog(models_directory=tmp_path)
    qtbot.addWidget(dlg)
    assert "scorer.onnx (missing)" in dlg.text() and "SRCC 0.61" in dlg.text()
    assert "trained on: PARA (research use)" in dlg.text() and "not commercially" in dlg.text()

    (tmp_path / "manifest.json").write_text("{not json")
    assert "unreadable" in shipped_models(tmp_path)[0]["name"]
    dlg2 = AboutDialog(models_directory=tmp_path)  # never raises: the box still opens
    qtbot.addWidget(dlg2)
    assert "unreadable" in dlg2.text()


def test_about_never_imports_torch():
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen';"
        "from PySide6.QtWidgets import QApplication; app = QApplication([]);"
        "from piaa_desktop.gui.about import AboutDialog, ShortcutsDialog, runtime_versions;"
        "from piaa_desktop.gui.welcome import WelcomeDialog;"
        "from piaa_desktop.gui.theme import apply_theme; apply_theme(app);"
        "t = AboutDialog().text(); ShortcutsDialog(); WelcomeDialog();"
        "print('torch' in sys.modules, 'torch' in dict(runtime_versions()));"
        "import types; sys.modules['torch'] = types.SimpleNamespace(__version__='9.9');"
        "print(dict(runtime_versions()).get('torch'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    # not imported by the dialogs, not listed; listed once something else has imported it
    assert out.stdout.split()[-3:] == ["False", "False", "9.9"]


# -- shortcuts -----------------------------------------------------------------------------------

def test_shortcuts_dialog_renders_the_cheat_sheet(dark, qtbot):
    from piaa_desktop.gui.about import ShortcutsDialog

    dlg = ShortcutsDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    text = dlg.text()
    for needle in ("Ranking mode", "Ctrl+Shift+Z", "Flag as pick", "before / after", "Ctrl+Shift+V"):
        assert needle in text
    assert "|---|" not in text  # rendered as tables, not shown as raw markdown
    assert not dlg.grab().isNull()
