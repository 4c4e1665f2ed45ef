"""Issue 13's small items: the import status counts the whole import, `piaa flag` says what it did, the
dark theme draws spin-box arrows and check marks, a denser grid, the Skipped files dialog's Reason
column is never cut."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from piaa_desktop.cli.main import main


def _photos(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        Image.fromarray(np.full((60, 80, 3), (40 + 50 * k) % 240, np.uint8)).save(folder / f"img_{k:02d}.jpg")
    return sorted(folder.glob("*.jpg"))


def test_import_time_is_the_whole_import(catalog, app_paths, tmp_path, monkeypatch):
    import time

    from piaa_desktop.core import embeddings
    from piaa_desktop.core.scanner import import_folder

    lib = tmp_path / "lib"
    _photos(lib)
    real = embeddings.extract_embeddings

    def slow(*a, **k):  # a slow embedding stage: it must count in the import's time
        time.sleep(0.6)
        return real(*a, **k)

    monkeypatch.setattr(embeddings, "extract_embeddings", slow)
    res = import_folder(catalog, lib, app_paths.thumbnails, score=False)
    assert res.seconds >= res.scan_seconds + 0.6
    assert res.as_dict()["scan_seconds"] == pytest.approx(res.scan_seconds, abs=1e-3)


def test_piaa_flag_says_what_it_did(capsys, data_dir, tmp_path):
    files = _photos(tmp_path / "lib")
    d = str(data_dir)
    assert main(["--data-dir", d, "-q", "scan", str(tmp_path / "lib"), "--json"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", d, "flag", str(files[0]), str(files[1]), "reject"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{files[0]}: rejected", f"{files[1]}: rejected"]
    assert main(["--data-dir", d, "flag", str(files[0]), "pick"]) == 0
    assert capsys.readouterr().out.strip() == f"{files[0]}: picked (was rejected)"
    assert main(["--data-dir", d, "flag", str(files[0]), "pick"]) == 0
    assert capsys.readouterr().out.strip() == f"{files[0]}: picked (already)"


@pytest.fixture
def themed(qapp):
    from piaa_desktop.gui.theme import apply_theme

    old = qapp.styleSheet()
    yield lambda name: apply_theme(qapp, name)
    qapp.setStyleSheet(old)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_theme_draws_spin_arrows_and_a_check_mark(qtbot, themed, theme):
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QCheckBox, QSpinBox, QStyle, QStyleOptionButton, QStyleOptionSpinBox

    from piaa_desktop.gui.theme import load_qss, style_dir

    qss = load_qss(theme)
    assert "@STYLE@" not in qss
    for name in ("check.svg", "arrow-up.svg", "arrow-down.svg"):
        assert (style_dir() / name).is_file() and name in qss
    themed(theme)
    box = QSpinBox()
    box.setValue(3)
    on = QCheckBox("on")
    on.setChecked(True)
    for w in (box, on):
        qtbot.addWidget(w)
        w.resize(160, 30)
        w.show()
    qtbot.waitExposed(box)

    def pixels(widget, rect: QRect) -> np.ndarray:
        img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
        a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3]
        a = a.reshape(img.height(), img.width(), 3)
        return a[rect.top(): rect.bottom() + 1, rect.left(): rect.right() + 1].astype(int)

    # the arrows: the spin box's up/down buttons hold pixels of the arrow colour (#9aa3b2)
    opt = QStyleOptionSpinBox()
    box.initStyleOption(opt) if hasattr(box, "initStyleOption") else opt.initFrom(box)
    up = box.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, opt, QStyle.SubControl.SC_SpinBoxUp, box)
    assert up.isValid() and up.width() >= 10
    region = pixels(box, up)
    arrow = (np.abs(region - np.array([0x9A, 0xA3, 0xB2])).sum(axis=2) < 40).sum()
    assert arrow >= 6, "no visible up arrow"
    # the tick: white pixels inside the checked indicator, none in the unchecked one
    bo = QStyleOptionButton()
    bo.initFrom(on)
    ind = on.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, bo, on)
    px = pixels(on, ind)
    white = (px.min(axis=2) > 220).sum()
    blue = (np.abs(px - np.array([0x4F, 0x8D, 0xF5])).sum(axis=2) < 60).sum()
    # a blue box with a white tick in it (the tick is a stroke: far from filling the box)
    assert blue > 0.3 * px.shape[0] * px.shape[1] and 6 <= white < 0.5 * px.shape[0] * px.shape[1], (white, blue)


def test_compact_grid_shows_more_than_six_photos_at_1280x800(qtbot, app_paths, catalog, tmp_path):
    from PySide6.QtWidgets import QApplication

    from piaa_desktop.core.scanner import scan_folder
    from piaa_desktop.gui.main_window import MainWindow

    lib = tmp_path / "lib"
    _photos(lib, n=40)
    # the photos in the catalog (the scan: records and thumbnails; the grid's layout needs no embeddings, scores
    # or faces, which the window's import would compute too)
    assert len(scan_folder(catalog, lib, app_paths.thumbnails, workers=2).new) == 40
    w = MainWindow(app_paths)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    assert w.model.rowCount() == 40
    QApplication.processEvents()
    normal = len(w.grid.visible_rows())
    w.act_compact.trigger()
    QApplication.processEvents()
    dense = len(w.grid.visible_rows())
    assert w.grid.is_compact() and w.settings.get("grid_compact") is True
    assert dense >= 24 and dense > 2 * normal, (normal, dense)
    w.act_compact.trigger()
    assert not w.grid.is_compact() and len(w.grid.visible_rows()) == normal
    w.close()


def test_skipped_files_dialog_reason_is_not_cut(qtbot):
    from PySide6.QtCore import QRect, Qt

    from piaa_desktop.gui.dialogs import SkippedFilesDialog

    long_path = "/home/someone/Pictures/2024/2024-06-01 Wedding of Anna and Bartholomew/raw/DSC_0042 (edited copy).NEF"
    reason = ("RAW image data cannot be decoded: the file is truncated or damaged (LibRaw: Input/output error); "
              "it has no embedded preview to fall back on")
    dlg = SkippedFilesDialog([(long_path, reason), ("/tmp/x.jpg", "empty file (0 bytes)")])
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    t = dlg.table
    assert dlg.rows()[0][0] in (long_path, "/tmp/x.jpg") and dict(dlg.rows())[long_path] == reason
    fm = t.fontMetrics()
    for r in range(t.rowCount()):
        text = t.item(r, 1).text()
        need = fm.boundingRect(QRect(0, 0, t.columnWidth(1) - 10, 10_000), Qt.TextFlag.TextWordWrap, text).height()
        assert t.rowHeight(r) >= need, (text, t.rowHeight(r), need)
    assert t.columnWidth(1) >= 300  # the reason has the room: the path is split into name and folder
