"""First-run welcome: what rate / rank / retouch mean, then pick a library folder.

    dlg = WelcomeDialog(main_window)
    if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen_folder():
        import_folder(dlg.chosen_folder())      # the GUI's own import (scanner) job

"Open my photos folder..." asks for a folder (QFileDialog). "Explore the sample library" copies the
shipped public-domain sample photos into the user's data folder (``<data dir>/PIAA sample photos``)
and returns that copy: the install folder may be read-only and changes path on every upgrade, so the
catalog never points into it. "Later" closes the dialog with no folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from piaa_desktop import APP_NAME
from piaa_desktop.core.sample import copy_sample_library, sample_photos

CARDS = (
    (
        "\u2605",
        "Rate",
        "Give stars (0\u20135), pick (P) or reject (X). PIAA scores every photo with a generic "
        "aesthetic model at import, so the strongest shots can come first.",
    ),
    (
        "\u21c4",
        "Rank",
        "Press R and answer \u201cwhich do you prefer?\u201d for pairs of photos. A few dozen answers "
        "train a personal model of your taste, here on this computer.",
    ),
    (
        "\u25d0",
        "Retouch",
        "Press D to develop: exposure, contrast, colour. Auto-enhance (E) learns from your own edits. "
        "Originals are never changed; export writes new files.",
    ),
)

THUMB_W, THUMB_H = 110, 78
# The prettiest samples first in the welcome strip; the flawed ones (blurred, underexposed) are for later.
_STRIP_ORDER = ("astronaut", "chelsea_the_cat", "coffee", "rocket_launch", "hubble_deep_field", "cameraman")


def _strip_photos(n: int) -> list[Path]:
    photos = sample_photos()
    rank = {name: i for i, name in enumerate(_STRIP_ORDER)}
    return sorted(photos, key=lambda p: (rank.get(p.stem, len(rank)), p.name))[:n]


PRIVACY = "Your photos, ratings and models stay on this machine. Nothing is uploaded."


class WelcomeDialog(QDialog):
    """The first-run welcome. ``chosen_folder()`` is the library folder picked, or None."""

    def __init__(self, parent: Optional[QWidget] = None, data_dir: Optional[Path] = None):
        super().__init__(parent)
        self.setObjectName("WelcomeDialog")
        self.setWindowTitle(f"Welcome to {APP_NAME}")
        self._data_dir = Path(data_dir) if data_dir else None
        self._chosen: Optional[Path] = None
        self._is_sample = False

        from piaa_desktop.gui.theme import app_icon

        # Header: icon, title, one-line pitch
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setFixedSize(72, 72)
        title = QLabel(f"Welcome to {APP_NAME}")
        title.setProperty("role", "title")
        subtitle = QLabel("A photo manager that learns your taste: rate, rank and retouch.")
        subtitle.setProperty("role", "subtitle")
        subtitle.setWordWrap(True)
        head_text = QVBoxLayout()
        head_text.addWidget(title)
        head_text.addWidget(subtitle)
        header = QHBoxLayout()
        header.addWidget(logo)
        header.addLayout(head_text, 1)

        # Three cards: rate / rank / retouch
        cards = QHBoxLayout()
        cards.setSpacing(12)
        for glyph, name, text in CARDS:
            cards.addWidget(self._card(glyph, name, text), 1)

        # A strip of the sample photos, so there is something to look at at once
        strip = QHBoxLayout()
        strip.setSpacing(8)
        self._thumbs = 0
        for p in _strip_photos(6):
            pm = QPixmap(str(p))
            if pm.isNull():
                continue
            lab = QLabel()
            lab.setPixmap(
                pm.scaled(
                    THUMB_W, THUMB_H, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                    Qt.TransformationMode.SmoothTransformation,
                ).copy(0, 0, THUMB_W, THUMB_H)
            )
            lab.setFixedSize(THUMB_W, THUMB_H)
            lab.setToolTip(p.name)
            strip.addWidget(lab)
            self._thumbs += 1
        strip.addStretch(1)

        privacy = QLabel(PRIVACY)
        privacy.setProperty("role", "dim")
        privacy.setWordWrap(True)

        # Buttons
        self.open_button = QPushButton("Open my photos folder\u2026")
        self.open_button.setProperty("role", "primary")
        self.open_button.setDefault(True)
        self.open_button.setToolTip("Choose the folder that holds your photos (sub-folders are included)")
        self.sample_button = QPushButton("Explore the sample library")
        self.sample_button.setToolTip(f"{len(sample_photos())} public-domain photos to try PIAA on")
        self.sample_button.setEnabled(bool(sample_photos()))
        self.later_button = QPushButton("Later")
        self.later_button.setToolTip("Close; import a folder any time with Ctrl+I")
        self.open_button.clicked.connect(self._on_open)
        self.sample_button.clicked.connect(self._on_sample)
        self.later_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.later_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sample_button)
        buttons.addWidget(self.open_button)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 18)
        lay.setSpacing(14)
        lay.addLayout(header)
        lay.addLayout(cards)
        if self._thumbs:
            lay.addLayout(strip)
        lay.addWidget(privacy)
        lay.addLayout(buttons)
        self.setMinimumWidth(760)

    @staticmethod
    def _card(glyph: str, name: str, text: str) -> QFrame:
        card = QFrame()
        card.setProperty("role", "card")
        card.setObjectName(f"card_{name.lower()}")
        g = QLabel(glyph)
        g.setProperty("role", "rating")
        f = g.font()
        f.setPointSizeF(max(f.pointSizeF(), 9.0) * 2.2)
        g.setFont(f)
        n = QLabel(f"<b>{name}</b>")
        fn = n.font()
        fn.setPointSizeF(max(fn.pointSizeF(), 9.0) * 1.3)
        n.setFont(fn)
        t = QLabel(text)
        t.setWordWrap(True)
        t.setProperty("role", "dim")
        t.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay = QVBoxLayout(card)
        lay.setContentsMargins(14, 12, 14, 14)
        top = QHBoxLayout()
        top.addWidget(g)
        top.addWidget(n, 1)
        lay.addLayout(top)
        lay.addWidget(t, 1)
        return card

    # -- results ----------------------------------------------------------------------------------
    def chosen_folder(self) -> Optional[Path]:
        """The library folder the user picked (a copy of the samples for the sample library), or None."""
        return self._chosen

    def chose_sample(self) -> bool:
        return self._is_sample

    # -- actions (the _ask_* hooks are separate so tests can answer them) --------------------------
    def _ask_folder(self) -> Optional[Path]:
        d = QFileDialog.getExistingDirectory(
            self, "Choose your photos folder", str(Path.home()), QFileDialog.Option.ShowDirsOnly
        )
        return Path(d) if d else None

    def _on_open(self) -> None:
        folder = self._ask_folder()
        if folder is None:
            return  # cancelled: stay on the welcome
        if not folder.is_dir():
            QMessageBox.warning(self, APP_NAME, f"{folder} is not a folder.")
            return
        self._chosen, self._is_sample = folder, False
        self.accept()

    def _sample_target_root(self) -> Path:
        if self._data_dir is not None:
            return self._data_dir
        from piaa_desktop.core.paths import app_paths

        return app_paths().data_dir

    def _on_sample(self) -> None:
        try:
            folder = copy_sample_library(self._sample_target_root())
        except OSError as exc:
            QMessageBox.warning(self, APP_NAME, f"Could not copy the sample photos: {exc}")
            return
        self._chosen, self._is_sample = folder, True
        self.accept()
