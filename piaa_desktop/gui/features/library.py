"""Finding photos: the search bar, the library tree (folders as a tree, collections, smart collections)
and the keyword panel (widgets in :mod:`piaa_desktop.gui.library_nav`).

* **Search bar** (Ctrl+F): the query language of :mod:`piaa_desktop.core.search`
  (``kw:Paris rating:>=4 -flag:reject date:2024``). Typing is debounced; the query runs through the
  window's jobs manager on a catalog connection of its own, and only its result (a set of ids) reaches
  the GUI thread, which filters the records already in memory. A result that arrives after a newer
  query was typed is dropped. A query with a mistake shows the reason and keeps the previous result.
  "Save" keeps the query as a smart collection.
* **Library tree** (the left dock): All photos; each imported folder with its sub-folders (counts
  include sub-folders); plain collections; smart collections. Right-click for new/rename/delete and
  for adding the selected photos to a collection.
* **Keyword panel** (Ctrl+K): the keywords of the selected photos (``Paris (2 of 5)`` when only some
  have it), a field with completion to add a keyword (``Places|France|Paris`` for a hierarchy) to every
  selected photo, Remove, and the tree of every keyword with its count (double-click searches it).
  Every change goes through the undo stack and reaches the XMP sidecars.

The grid is narrowed with ``win.add_id_filter`` (folder prefix, collection and search sets, in memory).
"""
from __future__ import annotations

import os
from collections import Counter
from typing import Optional

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QTreeWidgetItem

from piaa_desktop.core.library import SortColumns, dir_counts, id_table, in_id_table
from piaa_desktop.core.search import SearchError, parse
from piaa_desktop.gui.features.base import Feature
from piaa_desktop.gui.library_nav import (
    KEYWORD_LIST_MAX_SELECTION,
    ROLE_KIND,
    ROLE_VALUE,
    SELECTION_DEBOUNCE_MS,
    KeywordPanel,
    LibraryTree,
    SearchBar,
)


def _keyword_counts_job(catalog) -> dict[str, int]:
    return catalog.keyword_counts()


def ids_job(catalog, kind: str, arg) -> tuple[str, object, list[int]]:
    """Worker thread: the ids of a search (``kind`` 'search', arg = query text) or a collection."""
    ids = catalog.search_ids(arg) if kind == "search" else catalog.collection_ids(int(arg))
    return kind, arg, ids


class LibraryFeature(Feature):
    """The search, the library tree and the keyword panel of a main window."""

    name = "library"

    searchFinished = Signal(str, int)  # query text, number of matches (also for an empty query: -1)
    scopeChanged = Signal()

    def __init__(self, win):
        super().__init__(win)
        self.folder_prefix: Optional[str] = None
        self.collection: Optional[dict] = None
        self.collection_set: Optional[set[int]] = None
        self.search_text = ""
        self.search_set: Optional[set[int]] = None
        self.search_error = ""
        self._seq = {"search": 0, "collection": 0}
        self._dir_counts_key = None
        self._dir_counts: Counter = Counter()
        self._rank: Optional[tuple[list, np.ndarray]] = None

        # search bar in the toolbar, left of the spacer
        self.search_bar = SearchBar(win)
        win.add_toolbar_widget(self.search_bar)
        self.search_bar.queryChanged.connect(self.set_search)
        self.search_bar.saveRequested.connect(self.save_search)
        self.act_search = win.add_action("&Search…", self.focus_search, "Ctrl+F",
                                         "Search by keyword, name, date, camera, rating, flag, score")
        win.menu("edit").addAction(self.act_search)

        # library tree replaces the flat folder list
        self.tree = LibraryTree(win)
        self.tree.currentItemChanged.connect(self._on_tree_item)
        self.tree.customContextMenuRequested.connect(self._tree_menu)
        win.set_folder_panel(self.tree, "Library", self.update_tree)

        # keyword panel
        self.keywords = KeywordPanel(win)
        self.keywords.addRequested.connect(self.add_keyword)
        self.keywords.removeRequested.connect(self.remove_keywords)
        self.keywords.searchRequested.connect(lambda q: self.search_bar.set_text(q))
        self.keyword_dock = win.add_panel("keywords", self.keywords, None, title="Keywords")
        # Ctrl+K: Lightroom's "add keywords"
        self.act_keyword = win.add_action("Add &keyword…", self.focus_keywords, "Ctrl+K",
                                          "Show the keyword panel and type a keyword for the selected photos")
        win.menu("photo").addAction(self.act_keyword)
        self._sel_timer = QTimer(self)
        self._sel_timer.setSingleShot(True)
        self._sel_timer.setInterval(SELECTION_DEBOUNCE_MS)
        self._sel_timer.timeout.connect(self.update_keyword_panel)
        win.selectionChanged.connect(lambda _ids: self._sel_timer.start())
        win.catalogChanged.connect(self._on_catalog_change)
        win.importFinished.connect(lambda _r: (self._rerun(), self._counts_timer.start()))
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(300)
        self._counts_timer.timeout.connect(self.update_keyword_counts)
        win.add_id_filter(self.filter_ids, self.describe_scope)
        self.update_keyword_panel()
        self._counts_timer.start()

    # ------------------------------------------------------------------ the filter the grid applies
    def filter_ids(self, ids: list[int]) -> list[int]:
        sets = [s for s in (self.collection_set, self.search_set) if s is not None]
        if sets and min(len(s) for s in sets) * 8 < len(ids):
            # a small result in a large library: one vectorised membership test over the sorted ids (kept
            # as an array while the window passes the same sorted list) instead of a Python loop over 100k
            # ids or a 100k-entry rank table (55 ms of GUI thread at the first search on the loaded machine)
            if self._rank is None or self._rank[0] is not ids:
                self._rank = (ids, np.fromiter(ids, dtype=np.int64, count=len(ids)))
            arr = self._rank[1]
            small = min(sets, key=len)
            keep = arr[np.isin(arr, np.fromiter(small, dtype=np.int64, count=len(small)))].tolist()
            ids = [i for i in keep if all(i in s for s in sets if s is not small)]
            sets = []
        if self.folder_prefix:
            recs = self.win.model.records()
            if len(recs) >= 2:  # the folder's photos from the records' kept directories, then one membership test
                inside = SortColumns.of(recs).in_folder(self.folder_prefix)
                arr = np.fromiter(ids, dtype=np.int64, count=len(ids))
                table = id_table(inside)
                ids = arr[in_id_table(table, arr) if table is not None else np.isin(arr, inside)].tolist()
            else:
                pre = self.folder_prefix.rstrip(os.sep) + os.sep
                ids = [i for i in ids if (r := recs.get(i)) is not None and r.path.startswith(pre)]
        for s in sets:
            ids = [i for i in ids if i in s]
        return ids

    def describe_scope(self) -> str:
        """What the grid shows, in words: 'folder "lib", search kw:Paris' (export names its source so)."""
        parts = []
        if self.folder_prefix:
            parts.append(f'folder "{os.path.basename(self.folder_prefix.rstrip(os.sep))}"')
        if self.collection is not None:
            parts.append(f'collection "{self.collection["name"]}"')
        if self.search_set is not None and self.search_text:
            parts.append(f"search {self.search_text}")
        return ", ".join(parts)

    # ------------------------------------------------------------------ search
    def focus_keywords(self) -> None:
        self.keyword_dock.show()
        self.keyword_dock.raise_()
        self.keywords.entry.setFocus()

    def focus_search(self) -> None:
        self.search_bar.edit.setFocus()
        self.search_bar.edit.selectAll()

    def set_search(self, text: str) -> None:
        text = (text or "").strip()
        try:
            q = parse(text)
        except SearchError as exc:
            self.search_error = str(exc)
            self.search_bar.show_result(None, self.search_error)
            self.win.say(f"Search: {exc}")
            return
        if self.search_error and self.win.status_text() == f"Search: {self.search_error}":
            self.win.say("")  # the error is about a query no longer typed
        self.search_error = ""
        self._seq["search"] += 1
        if not q:
            self.search_text, self.search_set = "", None
            self.search_bar.show_result(None)
            self.win.refresh(keep_selection=True, reload=False)
            self.searchFinished.emit("", -1)
            return
        seq = self._seq["search"]
        self.win.jobs.submit(ids_job, "search", text, with_catalog=True, name="search",
                             on_done=lambda r, s=seq: self._on_ids(s, r), on_error=self._on_search_error)

    def _on_search_error(self, exc: BaseException) -> None:
        self.search_bar.show_result(None, str(exc))

    def _on_ids(self, seq: int, result) -> None:
        kind, arg, ids = result
        if self.win.is_closed or seq != self._seq[kind]:
            return  # a newer query or collection was chosen meanwhile
        if kind == "search":
            self.search_text, self.search_set = arg, set(ids)
        else:
            if self.collection is None or self.collection["id"] != int(arg):
                return
            self.collection_set = set(ids)
        self.win.refresh(keep_selection=True, reload=False)
        if kind == "search":
            self.search_bar.show_result(self.win.model.rowCount())
            self.searchFinished.emit(arg, len(ids))
        self.scopeChanged.emit()

    def _rerun(self) -> None:
        """The library changed (import, keywords, ratings): run the active search/collection again."""
        if self.search_set is not None and self.search_text:
            self._seq["search"] += 1
            seq = self._seq["search"]
            self.win.jobs.submit(ids_job, "search", self.search_text, with_catalog=True, name="search",
                                 on_done=lambda r, s=seq: self._on_ids(s, r))
        if self.collection is not None:
            self._load_collection(self.collection)

    def save_search(self, text: str) -> Optional[int]:
        if not text:
            return None
        name, ok = QInputDialog.getText(self.win, "Save search", "Name of the smart collection:", text=text)
        if not ok or not name.strip():
            return None
        return self.create_collection(name.strip(), text)

    # ------------------------------------------------------------------ collections and folders
    def create_collection(self, name: str, query: Optional[str] = None) -> Optional[int]:
        try:
            cid = self.win.catalog.create_collection(name, query)
        except ValueError as exc:
            QMessageBox.warning(self.win, "Collection", str(exc))
            return None
        self.win.say(f"{'Smart collection' if query else 'Collection'} “{name}” created")
        self.refresh_tree()
        return cid

    def add_selection_to(self, collection_id: int) -> int:
        ids = self.win.target_ids()
        n = self.win.catalog.add_to_collection(collection_id, ids) if ids else 0
        c = self.win.catalog.collection(collection_id)
        self.win.say(f"Added {n} photo{'s' if n != 1 else ''} to “{c['name'] if c else collection_id}”")
        self.refresh_tree()
        return n

    def _load_collection(self, c: dict) -> None:
        self._seq["collection"] += 1
        seq = self._seq["collection"]
        self.win.jobs.submit(ids_job, "collection", c["id"], with_catalog=True, name="collection",
                             on_done=lambda r, s=seq: self._on_ids(s, r))

    def show_scope(self, kind: str, value=None) -> None:
        """Show all photos ('all'), a folder (its path, sub-folders included) or a collection (its id)."""
        self.folder_prefix = None
        self.collection = None
        self.collection_set = None
        self._seq["collection"] += 1
        if kind == "folder":
            self.folder_prefix = str(value)
        elif kind in ("collection", "smart"):
            c = self.win.catalog.collection(int(value))
            if c is not None:
                self.collection = c
                self.collection_set = set()  # empty until the worker answers
                self._load_collection(c)
        self.win.refresh(keep_selection=True, reload=False)
        self.scopeChanged.emit()

    def _on_tree_item(self, item: Optional[QTreeWidgetItem], _prev) -> None:
        if item is None:
            return
        kind = item.data(0, ROLE_KIND)
        if kind == "header":
            return
        self.show_scope(kind, item.data(0, ROLE_VALUE))
        self.win.view_widget(self.win.current_view()).setFocus(Qt.FocusReason.OtherFocusReason)

    def current_scope(self) -> tuple[str, object]:
        if self.collection is not None:
            return ("smart" if self.collection["query"] is not None else "collection", self.collection["id"])
        if self.folder_prefix:
            return ("folder", self.folder_prefix)
        return ("all", None)

    def update_tree(self, records) -> None:
        key = (id(records), len(records))
        if key != self._dir_counts_key:
            self._dir_counts = SortColumns.of(records).dir_counts() if len(records) >= 2 else dir_counts(records)
            self._dir_counts_key = key
        folders = [(f["id"], f["path"]) for f in self.win.catalog.folders()]
        counts = self._dir_counts
        if self.folder_prefix and self.folder_prefix not in counts:
            counts = Counter(counts)
            counts[self.folder_prefix] += 0  # the folder shown stays in the tree when it empties
        if not self.tree.rebuild(len(records), folders, counts, self.win.catalog.collections(count_smart=False),
                                 self.current_scope()):
            QTimer.singleShot(0, lambda: self.show_scope("all"))  # its folder or collection is gone

    def refresh_tree(self) -> None:
        self._dir_counts_key = None
        self.update_tree(self.win.model.records())

    def _tree_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        kind = item.data(0, ROLE_KIND) if item is not None else None
        m = QMenu(self.tree)
        m.addAction("New collection…", self._ask_new_collection)
        q = self.search_bar.text().strip()
        a = m.addAction("New smart collection from the search…", lambda: self.save_search(q))
        a.setEnabled(bool(q) and not self.search_error)
        cols = [c for c in self.win.catalog.collections(count_smart=False) if c["query"] is None]
        if cols:
            sub = m.addMenu("Add selected photos to")
            for c in cols:
                sub.addAction(c["name"], lambda cid=c["id"]: self.add_selection_to(cid))
        if kind in ("collection", "smart"):
            cid = item.data(0, ROLE_VALUE)
            m.addSeparator()
            if kind == "collection":
                m.addAction("Remove selected photos from it", lambda: self._remove_selection(cid))
            m.addAction("Rename…", lambda: self._rename(cid))
            m.addAction("Delete collection", lambda: self._delete(cid))
        m.exec(self.tree.viewport().mapToGlobal(pos))

    def _ask_new_collection(self) -> None:
        name, ok = QInputDialog.getText(self.win, "New collection", "Name:")
        if ok and name.strip():
            cid = self.create_collection(name.strip())
            if cid is not None and self.win.selected_ids():
                self.add_selection_to(cid)

    def _remove_selection(self, cid: int) -> None:
        self.win.catalog.remove_from_collection(cid, self.win.target_ids())
        self.refresh_tree()
        self._rerun()

    def _rename(self, cid: int) -> None:
        c = self.win.catalog.collection(cid)
        name, ok = QInputDialog.getText(self.win, "Rename collection", "Name:", text=c["name"] if c else "")
        if ok and name.strip():
            try:
                self.win.catalog.rename_collection(cid, name)
            except ValueError as exc:
                QMessageBox.warning(self.win, "Collection", str(exc))
            self.refresh_tree()

    def _delete(self, cid: int) -> None:
        c = self.win.catalog.collection(cid)
        if c is None:
            return
        if QMessageBox.question(self.win, "Delete collection",
                                f"Delete the collection “{c['name']}”? Its photos stay in the library.") \
                != QMessageBox.StandardButton.Yes:
            return
        self.win.catalog.delete_collection(cid)
        if self.collection is not None and self.collection["id"] == cid:
            self.show_scope("all")
        self.refresh_tree()

    # ------------------------------------------------------------------ keywords
    def add_keyword(self, text: str):
        ids = self.win.target_ids()
        if not ids:
            self.win.say("Select photos first")
            return None
        change = self.win.undo_stack.push(self.win.catalog.add_keywords(ids, [text]))
        self.win.say(f"Keyword “{text}” added to {len(ids)} photo{'s' if len(ids) != 1 else ''}")
        return change

    def remove_keywords(self, paths: list[str]):
        ids = self.win.target_ids()
        if not ids:
            return None
        change = self.win.undo_stack.push(self.win.catalog.remove_keywords(ids, paths))
        self.win.say(f"Removed {', '.join(paths)} from {len(ids)} photo{'s' if len(ids) != 1 else ''}")
        return change

    def update_keyword_panel(self) -> None:
        """The selection's keywords (a quick indexed read of at most a few thousand photos)."""
        if self.win.is_closed:
            return
        ids = self.win.selected_ids() or ([self.win.current_id()] if self.win.current_id() is not None else [])
        per = self.win.catalog.keywords_of(ids) if 0 < len(ids) <= KEYWORD_LIST_MAX_SELECTION else {}
        self.keywords.show_assigned(per, len(ids))

    def update_keyword_counts(self) -> None:
        """Every keyword with its count, counted off the GUI thread (100,000 photos: a join over all)."""
        if self.win.is_closed:
            return
        self.win.jobs.submit(_keyword_counts_job, with_catalog=True, name="keyword counts",
                             on_done=lambda counts: self.keywords.show_all({k: n for k, n in counts.items() if n}))

    def _on_catalog_change(self, change) -> None:
        if change.field == "keywords":
            self._sel_timer.start()
            self._counts_timer.start()
        if change.field in ("keywords", "rating", "flag", "color_label", "collection", "scores"):
            if self.search_set is not None or (self.collection is not None and self.collection["query"]):
                self._rerun_timer().start()
            if change.field == "collection":
                self.refresh_tree()

    def _rerun_timer(self) -> QTimer:
        t = getattr(self, "_rerun_t", None)
        if t is None:
            t = self._rerun_t = QTimer(self)
            t.setSingleShot(True)
            t.setInterval(400)
            t.timeout.connect(self._rerun)
        return t
