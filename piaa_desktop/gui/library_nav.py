"""The library's widgets: the search bar, the library tree (folders as a tree, collections, smart
collections) and the keyword panel. :mod:`piaa_desktop.gui.features.library` wires them to the window."""
from __future__ import annotations

import os
from collections import Counter
from typing import Optional

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


SEARCH_DEBOUNCE_MS = 250
SELECTION_DEBOUNCE_MS = 80
KEYWORD_LIST_MAX_SELECTION = 5000  # beyond this the panel does not list the selection's keywords
ROLE_KIND = Qt.ItemDataRole.UserRole
ROLE_VALUE = Qt.ItemDataRole.UserRole + 1


class TypingKeys(QObject):
    """An event filter for text fields: plain keys (letters, digits, Space, Enter) are typed into the
    field instead of triggering the window's culling shortcuts (P, X, 1-5, Space/Enter for the loupe)."""

    _MODS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.ShortcutOverride and not (event.modifiers() & self._MODS):
            event.accept()
            return True
        return False


def protect_typing(edit: QLineEdit) -> None:
    f = TypingKeys(edit)
    edit.installEventFilter(f)
    edit._typing_keys = f  # keep it alive with the field


# ---------------------------------------------------------------------------------------------- search bar
class SearchBar(QWidget):
    """A search field with a debounce, an error hint and a "save as smart collection" button."""

    queryChanged = Signal(str)  # debounced text
    saveRequested = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("SearchBar")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 0, 4, 0)
        lay.setSpacing(4)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("SearchEdit")
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("Search  (kw:Paris rating:>=4 date:2024 camera:x100 -flag:reject)")
        self.edit.setToolTip(_SEARCH_HELP)
        self.edit.setMinimumWidth(220)
        self.edit.setMaximumWidth(380)
        protect_typing(self.edit)
        lay.addWidget(self.edit, 1)
        self.save_button = QToolButton(self)
        self.save_button.setText("Save")
        self.save_button.setToolTip("Save this search as a smart collection")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.saveRequested.emit(self.edit.text().strip()))
        lay.addWidget(self.save_button)
        self.hint = QLabel("", self)
        self.hint.setProperty("role", "dim")
        self.hint.setMinimumWidth(0)
        lay.addWidget(self.hint)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.queryChanged.emit(self.edit.text()))
        self.edit.textChanged.connect(lambda _t: self._timer.start())
        self.edit.returnPressed.connect(self.flush)

    def flush(self) -> None:
        """Run the query now (Enter), without waiting for the debounce."""
        self._timer.stop()
        self.queryChanged.emit(self.edit.text())

    def set_text(self, text: str, run: bool = True) -> None:
        self.edit.setText(text)
        if run:
            self.flush()

    def text(self) -> str:
        return self.edit.text()

    def show_result(self, n: Optional[int], error: str = "") -> None:
        if error:
            self.edit.setStyleSheet("QLineEdit#SearchEdit { border: 1px solid #d9534f; }")
            self.edit.setToolTip(error + "\n\n" + _SEARCH_HELP)
            self.hint.setText("⚠")
            self.hint.setToolTip(error)
            self.save_button.setEnabled(False)
            return
        self.edit.setStyleSheet("")
        self.edit.setToolTip(_SEARCH_HELP)
        self.hint.setToolTip("")
        self.hint.setText("" if n is None else f"{n:,} found")
        self.save_button.setEnabled(n is not None)


_SEARCH_HELP = (
    "Search terms (all must match; -term excludes; quote values with spaces):\n"
    "  kw:Paris  kw:\"Places|France\"  kw:Fra*   keyword anywhere in the hierarchy\n"
    "  name:IMG_12   folder:holiday   camera:x100   lens:35mm\n"
    "  date:2024   date:2024-05   date:2024-05-01..2024-06-15   after:2023   before:2020-06\n"
    "  rating:>=4   rating:2..3   flag:pick|reject|none   label:red|none\n"
    "  score:>=3.5 (personal score, 1-5)   generic:>=3   collection:Best\n"
    "  plain words match the file name, a keyword or the camera"
)


# ---------------------------------------------------------------------------------------------- keyword panel
class KeywordPanel(QWidget):
    """Keywords of the selection (add/remove) and every keyword as a tree with counts."""

    addRequested = Signal(str)
    removeRequested = Signal(list)
    searchRequested = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("KeywordPanel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.title = QLabel("Keywords")
        self.title.setProperty("role", "dim")
        lay.addWidget(self.title)
        self.assigned = QListWidget(self)
        self.assigned.setObjectName("AssignedKeywords")
        self.assigned.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.assigned.setMaximumHeight(150)
        lay.addWidget(self.assigned)
        row = QHBoxLayout()
        self.entry = QLineEdit(self)
        self.entry.setObjectName("KeywordEntry")
        self.entry.setPlaceholderText("Add keyword (Places|France|Paris)")
        self.entry.setToolTip("A keyword for every selected photo; \"|\" separates levels. Enter adds it.")
        self._completion = QStringListModel(self)
        comp = QCompleter(self._completion, self)
        comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        comp.setFilterMode(Qt.MatchFlag.MatchContains)
        self.entry.setCompleter(comp)
        self.entry.returnPressed.connect(self._add)
        protect_typing(self.entry)
        row.addWidget(self.entry, 1)
        self.add_button = QPushButton("Add", self)
        self.add_button.clicked.connect(self._add)
        row.addWidget(self.add_button)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Remove the chosen keywords (and those below them) from the selected photos")
        self.remove_button.clicked.connect(self._remove)
        row.addWidget(self.remove_button)
        lay.addLayout(row)
        lab = QLabel("All keywords (double-click to search)")
        lab.setProperty("role", "dim")
        lay.addWidget(lab)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("KeywordTree")
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.itemDoubleClicked.connect(self._search_item)
        hdr = self.tree.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.tree, 1)
        self._all: dict[str, int] = {}

    def _add(self) -> None:
        text = self.entry.text().strip()
        if text:
            self.addRequested.emit(text)
            self.entry.clear()

    def _remove(self) -> None:
        chosen = [it.data(ROLE_VALUE) for it in self.assigned.selectedItems()]
        if chosen:
            self.removeRequested.emit(chosen)

    def _search_item(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        path = item.data(0, ROLE_VALUE)
        if path:
            self.searchRequested.emit(f'kw:"{path}"')

    def show_assigned(self, per_photo: dict[int, list[str]], n_selected: int) -> None:
        self.assigned.clear()
        if n_selected == 0:
            self.title.setText("Keywords: no photo selected")
            return
        if n_selected > KEYWORD_LIST_MAX_SELECTION:
            self.title.setText(f"Keywords: {n_selected:,} photos selected")
            return
        counts = Counter(k for kws in per_photo.values() for k in kws)
        self.title.setText(
            f"Keywords of {'this photo' if n_selected == 1 else f'{n_selected:,} selected photos'}"
        )
        for path, n in sorted(counts.items(), key=lambda kv: kv[0].lower()):
            text = path.replace("|", " › ")
            if n < n_selected:
                text += f"  ({n} of {n_selected})"
            it = QListWidgetItem(text)
            it.setData(ROLE_VALUE, path)
            it.setToolTip(path)
            self.assigned.addItem(it)

    def show_all(self, counts: dict[str, int]) -> None:
        if counts == self._all:
            return
        self._all = dict(counts)
        self._completion.setStringList(sorted(counts, key=str.lower))
        self.tree.clear()
        nodes: dict[str, QTreeWidgetItem] = {}
        totals: Counter = Counter()
        for path, n in counts.items():
            parts = path.split("|")
            for k in range(1, len(parts) + 1):
                totals["|".join(parts[:k])] += n
        for path in sorted(totals, key=lambda p: [x.lower() for x in p.split("|")]):
            parent_path, _, leaf = path.rpartition("|")
            parent = nodes.get(parent_path)
            it = QTreeWidgetItem([leaf, str(totals[path])])
            it.setData(0, ROLE_VALUE, path)
            it.setToolTip(0, path)
            it.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            (parent.addChild(it) if parent is not None else self.tree.addTopLevelItem(it))
            nodes[path] = it
        self.tree.expandToDepth(0)


# ---------------------------------------------------------------------------------------------- library tree
class LibraryTree(QTreeWidget):
    """All photos, folders (a tree), collections and smart collections, with counts."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("LibraryTree")
        self.setHeaderHidden(True)
        self.setColumnCount(2)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setIndentation(14)
        hdr = self.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setStyleSheet("QTreeWidget#LibraryTree { border: none; background-color: #1a1d22; padding: 4px; }")
        self._shown = None

    def item_for(self, kind: str, value) -> Optional[QTreeWidgetItem]:
        it = self.invisibleRootItem()
        stack = [it.child(i) for i in range(it.childCount())]
        while stack:
            x = stack.pop()
            if x.data(0, ROLE_KIND) == kind and x.data(0, ROLE_VALUE) == value:
                return x
            stack.extend(x.child(i) for i in range(x.childCount()))
        return None

    def rebuild(self, total: int, folders: list[tuple[int, str]], dir_counts: Counter, collections: list[dict],
                current: tuple[str, object]) -> bool:
        """Rebuild when something changed; False when the ``current`` scope has no item any more."""
        wanted = (total, tuple(folders), tuple(sorted(dir_counts.items())),
                  tuple((c["id"], c["name"], c["query"], c["count"]) for c in collections))
        if wanted == self._shown:
            return True
        self._shown = wanted
        found = True
        self.blockSignals(True)
        try:
            expanded = {
                (x.data(0, ROLE_KIND), x.data(0, ROLE_VALUE)) for x in self._all_items() if x.isExpanded()
            }
            self.clear()

            def add(parent, text, kind, value, count=None, tip=""):
                it = QTreeWidgetItem([text, "" if count is None else f"{count:,}"])
                it.setData(0, ROLE_KIND, kind)
                it.setData(0, ROLE_VALUE, value)
                it.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if tip:
                    it.setToolTip(0, tip)
                (parent.addChild(it) if parent is not None else self.addTopLevelItem(it))
                if kind == "header":
                    it.setFlags(Qt.ItemFlag.ItemIsEnabled)
                    f = it.font(0)
                    f.setBold(True)
                    it.setFont(0, f)
                return it

            add(None, "All photos", "all", None, total, "Every photo in the catalog")
            head = add(None, "Folders", "header", "folders")
            roots = sorted({p for _fid, p in folders}, key=len, reverse=True)
            sub: dict[str, Counter] = {}
            for d, n in dir_counts.items():
                root = next((r for r in roots if d == r or d.startswith(r.rstrip(os.sep) + os.sep)), None)
                if root is None:
                    continue
                acc = sub.setdefault(root, Counter())
                cur = d
                while True:
                    acc[cur] += n
                    if cur == root or len(cur) <= len(root):
                        break
                    cur = os.path.dirname(cur)
            for _fid, root in sorted(folders, key=lambda f: f[1].lower()):
                acc = sub.get(root, Counter())
                nodes = {root: add(head, os.path.basename(root.rstrip(os.sep)) or root, "folder", root,
                                   acc.get(root, 0), root)}
                for d in sorted(acc, key=lambda p: p.lower()):
                    if d == root:
                        continue
                    parent = nodes.get(os.path.dirname(d)) or nodes[root]
                    nodes[d] = add(parent, os.path.basename(d), "folder", d, acc[d], d)
            plain = [c for c in collections if c["query"] is None]
            smart = [c for c in collections if c["query"] is not None]
            head_c = add(None, "Collections", "header", "collections")
            for c in plain:
                add(head_c, c["name"], "collection", c["id"], c["count"])
            head_s = add(None, "Smart collections", "header", "smart")
            for c in smart:
                add(head_s, c["name"], "smart", c["id"], None, f"Saved search: {c['query']}")
            for x in self._all_items():
                key = (x.data(0, ROLE_KIND), x.data(0, ROLE_VALUE))
                if x.data(0, ROLE_KIND) == "header" or key in expanded:
                    x.setExpanded(True)
            for root_item in (self.item_for("folder", r) for _f, r in folders):
                if root_item is not None and len(folders) <= 3:
                    root_item.setExpanded(True)
            sel = self.item_for(*current)
            if sel is None:
                found = False
                sel = self.item_for("all", None)
            if sel is not None:
                self.setCurrentItem(sel)
        finally:
            self.blockSignals(False)
        return found

    def _all_items(self) -> list[QTreeWidgetItem]:
        out, stack = [], [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while stack:
            x = stack.pop()
            out.append(x)
            stack.extend(x.child(i) for i in range(x.childCount()))
        return out
