"""Shipped resources: icons, themes, the shortcut cheat sheet, the .desktop entry, the sample library."""
from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
RES = REPO / "resources"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def test_resources_stay_small():
    total = sum(p.stat().st_size for p in RES.rglob("*") if p.is_file())
    assert total < 3_000_000, f"resources/ is {total} bytes; keep it under ~3 MB"


def test_icon_svg_and_every_png_size():
    svg = RES / "icons" / "piaa-desktop.svg"
    assert svg.is_file() and "<svg" in svg.read_text(encoding="utf-8")
    for size in ICON_SIZES:
        png = RES / "icons" / f"piaa-desktop-{size}.png"
        with Image.open(png) as im:
            assert im.size == (size, size), png
            assert im.mode == "RGBA"
            # transparent corners (rounded square), opaque centre: a real render, not a blank file
            assert im.getpixel((0, 0))[3] == 0
            assert im.getpixel((size // 2, size // 2))[3] == 255
    with Image.open(RES / "icons" / "piaa-desktop.ico") as ico:
        assert ico.format == "ICO"


def test_svg_renders_like_the_pngs(qapp):
    """The PNGs are renders of the SVG (installer/render_icons.py), not stale copies."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    r = QSvgRenderer(str(RES / "icons" / "piaa-desktop.svg"))
    assert r.isValid()
    img = QImage(64, 64, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    r.render(p)
    p.end()
    ref = QImage(str(RES / "icons" / "piaa-desktop-64.png")).convertToFormat(QImage.Format.Format_ARGB32)
    diffs = [
        abs(img.pixelColor(x, y).red() - ref.pixelColor(x, y).red())
        for x in range(0, 64, 4) for y in range(0, 64, 4)
    ]
    assert sum(diffs) / len(diffs) < 8


@pytest.fixture
def qt_messages():
    from PySide6.QtCore import qInstallMessageHandler

    msgs: list[str] = []
    old = qInstallMessageHandler(lambda mode, ctx, msg: msgs.append(msg))
    yield msgs
    qInstallMessageHandler(old)


def _exercise_widgets(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QCheckBox, QComboBox, QGroupBox, QLabel, QLineEdit, QListWidget, QMainWindow, QMenuBar,
        QProgressBar, QPushButton, QSlider, QSpinBox, QTabWidget, QTextBrowser, QToolBar, QVBoxLayout,
        QWidget,
    )

    w = QMainWindow()
    w.setMenuBar(QMenuBar())
    w.menuBar().addMenu("&File").addAction("Import folder")
    tb = QToolBar()
    tb.addAction("Grid")
    w.addToolBar(tb)
    central = QWidget()
    lay = QVBoxLayout(central)
    primary = QPushButton("Primary")
    primary.setProperty("role", "primary")
    title = QLabel("Title")
    title.setProperty("role", "title")
    tabs = QTabWidget()
    tabs.addTab(QListWidget(), "Library")
    for widget in (primary, QPushButton("Plain"), title, QLineEdit("text"), QComboBox(), QSpinBox(),
                   QCheckBox("check"), QSlider(Qt.Orientation.Horizontal), QProgressBar(), QGroupBox("Box"),
                   QTextBrowser(), tabs):
        lay.addWidget(widget)
    w.setCentralWidget(central)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _style_warnings(msgs):
    return [m for m in msgs if "style" in m.lower() or "parse" in m.lower() or "qss" in m.lower()]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_theme_qss_parses_without_warnings(qapp, qtbot, qt_messages, theme):
    from piaa_desktop.gui.theme import apply_theme, current_theme

    old_sheet, old_style, old_palette = qapp.styleSheet(), qapp.style().name(), qapp.palette()
    try:
        apply_theme(qapp, theme)
        assert current_theme(qapp) == theme
        assert qapp.styleSheet().strip(), "the QSS file was not loaded"
        _exercise_widgets(qtbot)
        qapp.processEvents()
        assert _style_warnings(qt_messages) == []
        win = qapp.palette().window().color().lightness()
        assert (win < 60) if theme == "dark" else (win > 200)
        qapp.setStyleSheet("")  # with a sheet set, style() is Qt's internal sheet style wrapper
        assert qapp.style().name().lower() == "fusion"
    finally:
        qapp.setStyleSheet(old_sheet)
        qapp.setPalette(old_palette)
        if old_style:
            qapp.setStyle(old_style)


def test_broken_qss_would_be_caught(qapp, qtbot, qt_messages):
    """The warning check above can fail: a broken sheet produces a Qt parse warning."""
    old = qapp.styleSheet()
    try:
        qapp.setStyleSheet("QPushButton { color: #fff; ")
        _exercise_widgets(qtbot)
        qapp.processEvents()
        assert _style_warnings(qt_messages), qt_messages
    finally:
        qapp.setStyleSheet(old)


def test_unknown_theme_is_refused(qapp):
    from piaa_desktop.gui.theme import apply_theme

    with pytest.raises(ValueError, match="dark"):
        apply_theme(qapp, "neon")


def test_app_icon_has_all_sizes(qapp):
    from piaa_desktop.gui.theme import app_icon

    icon = app_icon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert set(ICON_SIZES) <= sizes


# The keys the app binds (issue 7): the cheat sheet must name every one.
EXPECTED_KEYS = {
    "0", "1", "2", "3", "4", "5", "P", "X", "U", "Left", "Right", "Up", "Down", "Space", "Enter",
    "Ctrl+Z", "Ctrl+Shift+Z", "C", "R", "S", "D", "\\", "E", "Ctrl+Shift+C", "Ctrl+Shift+V", "Ctrl+E",
    "G", "F", "Ctrl+I",
}


def test_shortcut_cheat_sheet_names_every_key():
    from piaa_desktop.gui.about import shortcut_keys, shortcut_table

    rows = shortcut_table()
    keys = {k for _, cell, _ in rows for k in shortcut_keys(cell)}
    assert EXPECTED_KEYS <= keys, f"missing from resources/shortcuts.md: {EXPECTED_KEYS - keys}"
    sections = {s for s, _, _ in rows}
    assert {"Library and culling", "Ranking mode: which do you prefer?", "Develop (retouch)"} <= sections
    ranking = {k: a for s, c, a in rows if s.startswith("Ranking") for k in shortcut_keys(c)}
    assert "left" in ranking["Left"].lower() and "right" in ranking["Right"].lower()
    assert "skip" in ranking["S"].lower() and "skip" in ranking["Down"].lower()
    # a key bound to two different actions in one section would confuse the user
    for section in sections:
        seen: dict[str, str] = {}
        for s, cell, action in rows:
            if s != section:
                continue
            for k in shortcut_keys(cell):
                assert k not in seen, f"{k} is listed twice in {section}: {seen.get(k)} / {action}"
                seen[k] = action


def test_shortcut_parser_expands_ranges():
    from piaa_desktop.gui.about import shortcut_keys, shortcut_table

    md = "## A\n\n| Key | Action |\n|---|---|\n| `0` … `3` | Rate |\n| `Down` / `S` | Skip |\n"
    rows = shortcut_table(md)
    assert [(s, a) for s, _, a in rows] == [("A", "Rate"), ("A", "Skip")]
    assert shortcut_keys(rows[0][1]) == ["0", "1", "2", "3"]
    assert shortcut_keys(rows[1][1]) == ["Down", "S"]


def test_desktop_entry():
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(RES / "piaa-desktop.desktop", encoding="utf-8")
    e = cp["Desktop Entry"]
    assert e["Type"] == "Application"
    assert e["Name"] == "PIAA Desktop"
    assert e["Icon"] == "piaa-desktop"
    assert e["Exec"].split()[0] == "piaa-desktop"
    assert e["Terminal"] == "false"
    assert "Photography" in e["Categories"].split(";")
    assert all(e[k].endswith(";") for k in ("Categories", "Keywords", "MimeType"))


# -- sample library ------------------------------------------------------------------------------

def test_sample_library_photos_decode_and_are_licensed():
    from piaa_desktop.core.imageio import load_rgb
    from piaa_desktop.core.sample import sample_library_dir, sample_photos

    d = sample_library_dir()
    assert d == RES / "sample_library"
    photos = sample_photos()
    assert 6 <= len(photos) <= 10
    assert sum(p.stat().st_size for p in photos) < 1_500_000
    licences = (d / "LICENSES.md").read_text(encoding="utf-8")
    for p in photos:
        im = load_rgb(p)
        assert im.mode == "RGB" and max(im.size) <= 800 and min(im.size) >= 256, p.name
        row = next((line for line in licences.splitlines() if f"`{p.name}`" in line), None)
        assert row is not None, f"{p.name} is not listed in LICENSES.md"
        assert re.search(r"public domain|CC0", row, re.I), f"{p.name}: no public-domain/CC0 licence stated"
    # research-only data must never be shipped
    assert not any(re.search(r"bsds|fivek|expert", p.name, re.I) for p in photos)


def test_sample_library_dir_when_frozen(monkeypatch, tmp_path):
    from piaa_desktop.core.sample import sample_library_dir

    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert sample_library_dir() == tmp_path / "resources" / "sample_library"


def test_copy_sample_library_keeps_existing_files(tmp_path):
    from piaa_desktop.core.sample import copy_sample_library, sample_photos

    first = sample_photos()[0]
    target = tmp_path / "PIAA sample photos"
    target.mkdir()
    (target / first.name).write_bytes(b"user's own edit")
    out = copy_sample_library(tmp_path)
    assert out == target
    assert (target / first.name).read_bytes() == b"user's own edit"
    assert {p.name for p in sample_photos()} <= {p.name for p in target.iterdir()}
    assert (target / "LICENSES.md").is_file()


def test_every_key_the_main_window_binds_is_on_the_cheat_sheet(qapp, qtbot, tmp_path):
    """The cheat sheet never misses a real shortcut (keys still to come are listed ahead of the code)."""
    if not (REPO / "piaa_desktop" / "gui" / "main_window.py").is_file():
        pytest.skip("main window not written yet")
    from PySide6.QtGui import QAction, QShortcut

    from piaa_desktop.core.paths import app_paths
    from piaa_desktop.core.settings import load_settings
    from piaa_desktop.gui.about import shortcut_keys, shortcut_table
    from piaa_desktop.gui.main_window import MainWindow

    paths = app_paths(tmp_path / "data").ensure()
    win = MainWindow(paths, settings=load_settings(paths))
    qtbot.addWidget(win)
    bound = {s.toString() for a in win.findChildren(QAction) for s in a.shortcuts()}
    bound |= {s.key().toString() for s in win.findChildren(QShortcut)}
    bound = {"Enter" if k == "Return" else k for k in bound if k}
    listed = {k for _, cell, _ in shortcut_table() for k in shortcut_keys(cell)}
    assert bound, "no shortcut found on the main window"
    assert bound <= listed, f"bound but not on resources/shortcuts.md: {sorted(bound - listed)}"
