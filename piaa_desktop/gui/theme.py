"""Look and feel: Fusion style, a matching QPalette and the QSS from ``resources/style``.

    from piaa_desktop.gui.theme import apply_theme, app_icon
    app = QApplication(sys.argv)
    apply_theme(app)              # dark by default, as photographers expect
    app.setWindowIcon(app_icon())

Dark is the default because photos are judged against a neutral dark surround (Lightroom, Capture
One and darktable all default to it). ``"light"`` is there for those who ask.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from piaa_desktop.core.paths import resources_dir

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)

# (window, window text, base, alternate base, text, button, button text, highlight, highlighted text,
#  tooltip base, link, placeholder, disabled text)
_COLOURS = {
    "dark": dict(
        window="#1f2228", window_text="#e3e6eb", base="#16181c", alt_base="#1a1d22", text="#e3e6eb",
        button="#2c313a", button_text="#e3e6eb", highlight="#4f8df5", highlighted_text="#ffffff",
        tooltip="#2c313a", link="#7fa7e6", placeholder="#6b7280", disabled="#6b7280",
        light="#3f4550", midlight="#363c47", mid="#2c3038", dark="#14161a", shadow="#0b0c0f",
    ),
    "light": dict(
        window="#f3f4f6", window_text="#1f2328", base="#ffffff", alt_base="#eceef2", text="#1f2328",
        button="#ffffff", button_text="#1f2328", highlight="#3b76d9", highlighted_text="#ffffff",
        tooltip="#ffffff", link="#2f6bd0", placeholder="#9aa1ad", disabled="#9aa1ad",
        light="#ffffff", midlight="#eef1f6", mid="#c9ced8", dark="#aab2bf", shadow="#7a828f",
    ),
}


def style_dir() -> Path:
    return resources_dir() / "style"


def icons_dir() -> Path:
    return resources_dir() / "icons"


def qss_path(name: str = DEFAULT_THEME) -> Path:
    return style_dir() / f"{name}.qss"


def load_qss(name: str = DEFAULT_THEME) -> str:
    """The style sheet text of theme ``name`` ('' if the file is missing from a broken install), with
    ``@STYLE@`` replaced by the style folder (its images)."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
    try:
        text = qss_path(name).read_text(encoding="utf-8")
    except OSError:
        return ""
    # images (the check mark, the spin box arrows) live beside the style sheet: absolute URLs, so they
    # load whatever the working directory (and inside a frozen app)
    return text.replace("@STYLE@", style_dir().as_posix())


def build_palette(name: str = DEFAULT_THEME) -> QPalette:
    c = {k: QColor(v) for k, v in _COLOURS[name].items()}
    pal = QPalette()
    R = QPalette.ColorRole
    for role, key in (
        (R.Window, "window"), (R.WindowText, "window_text"), (R.Base, "base"),
        (R.AlternateBase, "alt_base"), (R.Text, "text"), (R.Button, "button"),
        (R.ButtonText, "button_text"), (R.Highlight, "highlight"),
        (R.HighlightedText, "highlighted_text"), (R.ToolTipBase, "tooltip"),
        (R.ToolTipText, "text"), (R.Link, "link"), (R.PlaceholderText, "placeholder"),
        (R.BrightText, "highlighted_text"), (R.Light, "light"), (R.Midlight, "midlight"),
        (R.Mid, "mid"), (R.Dark, "dark"), (R.Shadow, "shadow"),
    ):
        pal.setColor(role, c[key])
    G = QPalette.ColorGroup.Disabled
    for role in (R.WindowText, R.Text, R.ButtonText, R.HighlightedText):
        pal.setColor(G, role, c["disabled"])
    pal.setColor(G, R.Highlight, c["mid"])
    return pal


def apply_theme(app: QApplication, name: str = DEFAULT_THEME) -> None:
    """Fusion style + palette + style sheet of theme ``name`` ('dark' or 'light') on ``app``."""
    qss = load_qss(name)  # validates the name before anything changes
    app.setStyle("Fusion")
    app.setPalette(build_palette(name))
    app.setStyleSheet(qss)
    app.setProperty("piaa_theme", name)


def current_theme(app: QApplication) -> str:
    name = app.property("piaa_theme")
    return name if name in THEMES else DEFAULT_THEME


def icon_png(size: int) -> Path:
    return icons_dir() / f"piaa-desktop-{size}.png"


def app_icon() -> QIcon:
    """The application icon, from the PNG renders (crisp at every size) plus the SVG for HiDPI."""
    icon = QIcon()
    for size in ICON_SIZES:
        p = icon_png(size)
        if p.is_file():
            icon.addFile(str(p), QSize(size, size))
    svg = icons_dir() / "piaa-desktop.svg"
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon
