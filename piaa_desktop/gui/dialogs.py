"""Small dialogs of the main window: the files an import skipped, and why."""
from __future__ import annotations

import os
from typing import Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class SkippedFilesDialog(QDialog):
    """View › Skipped files: every file the imports could not use, with the reason (from the catalog)."""

    def __init__(self, errors: Sequence[tuple[str, str]], parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("SkippedFilesDialog")
        self.setWindowTitle("Skipped files")
        self.resize(960, 460)
        self.errors = list(errors)
        lay = QVBoxLayout(self)
        n = len(self.errors)
        if n:
            text = (
                f"{n} file{'s were' if n != 1 else ' was'} skipped by the import. The originals are untouched; "
                "fix or replace a file and import its folder again to add it."
            )
        else:
            text = "No file was skipped: every image found by the imports was added to the catalog."
        self.summary = QLabel(text)
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)

        # File name, reason (wrapped: never cut), folder: a long path no longer pushes the reason out
        self.table = QTableWidget(n, 3, self)
        self.table.setHorizontalHeaderLabels(["File", "Reason", "Folder"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        for r, (path, reason) in enumerate(self.errors):
            name = os.path.basename(path) or path
            folder = os.path.dirname(path)
            pi = QTableWidgetItem(name)
            pi.setToolTip(path)
            pi.setData(Qt.ItemDataRole.UserRole, path)
            ri = QTableWidgetItem(reason)
            ri.setToolTip(reason)
            fi = QTableWidgetItem(folder)
            fi.setToolTip(folder)
            self.table.setItem(r, 0, pi)
            self.table.setItem(r, 1, ri)
            self.table.setItem(r, 2, fi)
        fm = self.table.fontMetrics()
        longest = max((fm.horizontalAdvance(os.path.basename(p) or p) for p, _r in self.errors), default=80)
        self.table.setColumnWidth(0, min(max(longest + 24, 120), 260))
        self.table.setColumnWidth(2, 200)
        hh.sectionResized.connect(lambda *_a: self.table.resizeRowsToContents())
        self.table.setSortingEnabled(True)
        self.table.sortItems(0, Qt.SortOrder.AscendingOrder)
        self.table.setVisible(n > 0)
        lay.addWidget(self.table, 1)
        self.table.resizeRowsToContents()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy list")
        self.copy_button.setEnabled(n > 0)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.copy_button.setAutoDefault(False)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def as_text(self) -> str:
        return "\n".join(f"{p}\t{r}" for p, r in self.errors)

    def copy_to_clipboard(self) -> None:
        QApplication.clipboard().setText(self.as_text())

    def rows(self) -> list[tuple[str, str]]:
        """What the table shows, in its current order: (full path, reason)."""
        out = []
        for r in range(self.table.rowCount()):
            out.append((self.table.item(r, 0).data(Qt.ItemDataRole.UserRole), self.table.item(r, 1).text()))
        return out

