"""Help > About and Help > Keyboard shortcuts.

    AboutDialog(parent).exec()        # versions of the app, Python, Qt, onnxruntime and the shipped models
    ShortcutsDialog(parent).show()    # resources/shortcuts.md, rendered

Never imports torch (slow, and not part of an inference-only install): its version is shown only when
some other part of the app has already imported it.
"""
from __future__ import annotations

import html
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Optional

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop import APP_NAME, __version__
from piaa_desktop.core.paths import models_dir, resources_dir


def package_version(dist: str, module: Optional[str] = None) -> Optional[str]:
    """Version of an installed package without importing it (unless it is already imported)."""
    mod = sys.modules.get(module or dist)
    v = getattr(mod, "__version__", None) if mod is not None else None
    if v:
        return str(v)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def runtime_versions() -> list[tuple[str, str]]:
    """(component, version) rows for the About box and bug reports."""
    rows = [
        (APP_NAME, __version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Qt", qVersion()),
        ("PySide6", PYSIDE_VERSION),
        ("onnxruntime", package_version("onnxruntime") or "not installed"),
        ("numpy", package_version("numpy") or "not installed"),
        ("Pillow", package_version("pillow", "PIL") or "not installed"),
    ]
    if "torch" in sys.modules:  # only if already loaded (training): never import it here
        rows.append(("torch", str(getattr(sys.modules["torch"], "__version__", "?"))))
    rows.append(("Platform", f"{platform.system()} {platform.release()} {platform.machine()}"))
    if getattr(sys, "frozen", False):
        rows.append(("Build", "standalone bundle"))
    return rows


def shipped_models(directory: Optional[Path] = None) -> list[dict]:
    """One dict per model in ``models/manifest.json``: name, file, sha256 prefix, metric, licence, present.

    Reads the manifest only (no hashing: the start-up check in core.models does that), and never raises:
    a broken manifest becomes a single row that says so.
    """
    from piaa_desktop.core.models import ModelError, load_manifest

    directory = directory or models_dir()
    try:
        manifest = load_manifest(directory)
    except ModelError as exc:
        return [dict(name="(manifest unreadable)", file="", sha256="", metric=str(exc), license="", present=False)]
    rows = []
    for name, entry in sorted(manifest.get("models", {}).items()):
        if not isinstance(entry, dict):
            continue
        f = str(entry.get("file", ""))
        rows.append(
            dict(
                name=name,
                file=f,
                sha256=str(entry.get("sha256", ""))[:12],
                metric=str(entry.get("metric", "")),
                license=str(entry.get("license", "")),
                data=str(entry.get("data", "")),
                present=bool(f) and (directory / f).is_file(),
            )
        )
    return rows


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><td style='padding:2px 14px 2px 0; color:#9aa3b2'>{html.escape(k)}</td>"
        f"<td style='padding:2px 0'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table cellspacing='0'>{cells}</table>"


def about_html(models_directory: Optional[Path] = None, title: bool = True) -> str:
    parts = [
        f"<h2 style='margin-bottom:2px'>{html.escape(APP_NAME)} {html.escape(__version__)}</h2>" if title else "",
        "<p>A photo manager that learns your taste on your own machine. "
        "Rate, rank and retouch: your preferences and your personal model never leave this computer.</p>",
        "<h3>Components</h3>",
        _table(runtime_versions()),
        "<h3>Shipped models</h3>",
    ]
    models = shipped_models(models_directory)
    if not models:
        parts.append("<p>No model is listed in models/manifest.json: the app works without scores.</p>")
    else:
        rows = ""
        for m in models:
            lic = f"<br><span style='color:#9aa3b2'>licence: {html.escape(m['license'])}</span>" if m["license"] else ""
            if m.get("data"):
                lic += f"<br><span style='color:#9aa3b2'>trained on: {html.escape(m['data'])}</span>"
            missing = "" if m["present"] else " (missing)"
            rows += (
                "<tr>"
                f"<td style='padding:3px 10px 3px 0'><b>{html.escape(m['name'])}</b><br>"
                f"<span style='color:#9aa3b2'>{html.escape(m['file'])}{missing}</span></td>"
                f"<td style='padding:3px 10px 3px 0; font-family:monospace'>{html.escape(m['sha256'])}</td>"
                f"<td style='padding:3px 0'>{html.escape(m['metric'])}{lic}</td></tr>"
            )
        parts.append(
            "<table cellspacing='0'><tr><th align='left'>model</th><th align='left'>sha256</th>"
            f"<th align='left'>measured</th></tr>{rows}</table>"
        )
    # the models that carry PARA's terms: their licence says so, or they name PARA as data and state no licence
    # of their own (models with another licence that only name PARA as evaluation data, like the face models,
    # do not)
    para = [m["name"] for m in models
            if "PARA" in m.get("license", "") or ("PARA" in m.get("data", "") and not m.get("license"))]
    if para:
        which = ("the model trained on it (" + para[0] + ") carries" if len(para) == 1 else
                 "the models trained or fine-tuned on it (" + ", ".join(para) + ") carry")
        parts.append(
            "<p><b>Aesthetic scores</b> were learned from PARA (Personalized image Aesthetics database with Rich "
            "Attributes, Yang et al., CVPR 2022): about 25 people's ratings of each of 8,000 photos. PARA may be used "
            f"for research and learning only, not commercially, and {html.escape(which)} the same terms.</p>"
        )
    parts.append(
        "<p style='color:#9aa3b2'>Sample photos: public domain / CC0, see "
        "resources/sample_library/LICENSES.md. Licence of PIAA Desktop: MIT.</p>"
    )
    return "".join(parts)


class AboutDialog(QDialog):
    """Help > About: app, runtime and model versions (selectable text, for bug reports)."""

    def __init__(self, parent: Optional[QWidget] = None, models_directory: Optional[Path] = None):
        super().__init__(parent)
        self.setObjectName("AboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(680, 520)

        from piaa_desktop.gui.theme import app_icon

        header = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(72, 72))
        logo.setFixedSize(80, 80)
        header.addWidget(logo)
        title = QVBoxLayout()
        name = QLabel(APP_NAME)
        name.setProperty("role", "title")
        ver = QLabel(f"Version {__version__}")
        ver.setProperty("role", "subtitle")
        title.addWidget(name)
        title.addWidget(ver)
        title.addStretch(1)
        header.addLayout(title, 1)

        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(about_html(models_directory, title=False))
        self.browser.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)

        lay = QVBoxLayout(self)
        lay.addLayout(header)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)

    def text(self) -> str:
        return self.browser.toPlainText()


def shortcuts_path() -> Path:
    return resources_dir() / "shortcuts.md"


def load_shortcuts_markdown() -> str:
    try:
        return shortcuts_path().read_text(encoding="utf-8")
    except OSError:
        return "# Keyboard shortcuts\n\nThe cheat sheet (resources/shortcuts.md) is missing from this install."


_ROW = re.compile(r"^\|\s*(?P<keys>[^|]+?)\s*\|\s*(?P<action>[^|]+?)\s*\|\s*$")


def shortcut_table(markdown: Optional[str] = None) -> list[tuple[str, str, str]]:
    """(section, keys, action) rows of the cheat sheet, e.g. ("Library and culling", "`P`", "Flag as pick").

    Lets a test compare the cheat sheet with the QActions the main window really binds.
    """
    md = load_shortcuts_markdown() if markdown is None else markdown
    section, rows = "", []
    for line in md.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        m = _ROW.match(line)
        if not m or set(m["keys"]) <= set("-: ") or m["keys"] == "Key":
            continue
        rows.append((section, m["keys"], m["action"]))
    return rows


def shortcut_keys(cell: str) -> list[str]:
    """The key names in one cheat-sheet cell: "`Down` / `S`" -> ["Down", "S"]; "`0` … `5`" -> 0..5."""
    keys = re.findall(r"`([^`]+)`", cell)
    if len(keys) == 2 and "…" in cell and keys[0].isdigit() and keys[1].isdigit():
        return [str(i) for i in range(int(keys[0]), int(keys[1]) + 1)]
    return keys


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: resources/shortcuts.md rendered (non-modal, can stay open)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("ShortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(600, 680)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setMarkdown(load_shortcuts_markdown())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)

    def text(self) -> str:
        return self.browser.toPlainText()
