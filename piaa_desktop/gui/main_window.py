"""The main window only arranges: folders on the left, the grid (or the loupe, or a view added by a
feature) in the middle, the Info panel and feature panels on the right, messages in the status bar.
Features live in :mod:`piaa_desktop.gui.features` (loupe, culling, import, compare, ranking, develop,
export, personal, faces, library, trash, help) and use this window's public API:

    win.add_view("ranking", RankingWidget(win), "R")          # central view, toggled by R; culling keys
                                                               # (0-9, P, X, U, Space, Enter) go to the view
    win.add_panel("develop", DevelopPanel(win), "D")          # right dock, tabbed with Info
    win.add_action(text, slot, shortcut, tip); win.menu("photo").addAction(...)
    win.add_status_widget(w); win.add_toolbar_widget(w); win.register_culling_actions([...])
    win.add_id_filter(fn, describe)                            # narrow the grid: fn(ids) -> ids (search)
    win.narrow_ids(ids); win.scope_text()                      # those filters; "folder "x", search kw:y"
    win.set_folder_panel(widget, title, on_records)            # replace the folder list (library tree)
    win.jobs.submit(fn, *args, with_catalog=True, on_done=..., on_progress=...)  # gui.jobs: long jobs
    win.selectionChanged.connect(...)                          # list of photo ids
    win.positionChanged.connect(...)                           # current photo / its place moved, view shown
    win.focus_current_view(); win.order_is_stale()             # keyboard back to the view; held order
    win.selected_ids(); win.target_ids(); win.current_id(); win.refresh(keep_selection=True)
    win.say(text)                                              # status bar message
    win.image_loader(photo_id) -> QImage                       # thumbnail-based
    win.catalog, win.undo_stack, win.model, win.settings, win.paths
    win.features.<name>                                        # an installed feature

What is shown (sort order, filters) comes from :mod:`piaa_desktop.core.library`; nothing slow runs on
the GUI thread: thumbnails and previews decode on thread pools, jobs run through ``win.jobs``.
"""
from __future__ import annotations

import functools
import os
import time
from collections import Counter
from typing import Callable, Optional

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolBar,
    QToolButton,
    QWidget,
)

from piaa_desktop import APP_NAME
from piaa_desktop.core.catalog import Catalog, Change, UndoStack, open_catalog
from piaa_desktop.core.library import (
    FLAG_FILTERS, GRID_SORTS, RATING_FILTERS, SCORE_KINDS, SORTS, SortColumns, changed_files, hold_order, load_records,
    put_scores, query_ids, read_library, same_photos,
)
from piaa_desktop.core.paths import AppPaths
from piaa_desktop.core.settings import Settings, load_settings
from piaa_desktop.gui.grid import PhotoGridView, PhotoListModel, ThumbnailCache, array_to_qimage, row_runs
from piaa_desktop.gui.jobs import JobsManager
from piaa_desktop.gui.loupe import LoupeView
from piaa_desktop.gui.side_panel import SidePanel

class _FolderDelegate(QStyledItemDelegate):
    """Folder name on the left, photo count right-aligned and dimmed (Lightroom's folder panel)."""

    def paint(self, p: QPainter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        count = index.data(Qt.ItemDataRole.UserRole + 1)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, p, opt.widget)
        r = option.rect.adjusted(10, 0, -10, 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.save()
        fm = option.fontMetrics
        count_text = str(count) if count is not None else ""
        cw = fm.horizontalAdvance(count_text) + 8
        p.setPen(QColor("#ffffff") if selected else QColor("#e3e6eb"))
        name = fm.elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "", Qt.TextElideMode.ElideMiddle, r.width() - cw)
        p.drawText(r, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
        p.setPen(QColor("#dbe6ff") if selected else QColor("#7d8595"))
        p.drawText(r, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, count_text)
        p.restore()

    def sizeHint(self, option, index) -> QSize:
        s = super().sizeHint(option, index)
        return QSize(s.width(), max(s.height(), option.fontMetrics.height() + 12))


def _find_stacks_job(catalog, recs, limits, ids):
    """Worker: the stacks of ``ids`` (capture times from ``recs``, a list of the window's records taken on the
    GUI thread), ready to be ranked (their members' sharpness: ``core.stacks.StackRanking``)."""
    from piaa_desktop.core.stacks import find_stacks, stack_ranking, timestamps_of

    stacks = find_stacks(catalog, max_gap_s=limits[0], max_dist=limits[1], ids=ids, timestamps=timestamps_of(recs))
    return stacks, stack_ranking(catalog, stacks)


class MainWindow(QMainWindow):
    """The library window. ``MainWindow(paths)``; see the module docstring for the extension points."""

    ASYNC_RELOAD_MIN = 2000  # photos: a bigger library re-reads its records on a worker (~15 µs a photo)
    ASYNC_STACKS_MIN = 5000  # photos: in a bigger grid the stacks are found on a worker (~0.9 s at 100,000)

    # selected photo ids, in grid order (a list passed as an object: Signal(list) converts it, 57 ms at 100,000)
    selectionChanged = Signal(object)
    currentPhotoChanged = Signal(object)  # photo id or None
    catalogChanged = Signal(object)  # a catalog Change made through this window's catalog
    viewChanged = Signal(str)  # name of the central view now shown
    importFinished = Signal(object)  # ScanResult, or the exception that stopped the import
    libraryRefreshed = Signal()
    scoresChanged = Signal()  # generic or personal scores re-read (a re-trained model, new photos scored)
    # the current photo or its place in the order on screen changed, or a view was shown: a view showing the
    # current photo (the loupe) follows; emitted before selectionChanged and currentPhotoChanged
    positionChanged = Signal()

    def __init__(self, paths: AppPaths, parent: Optional[QWidget] = None, settings: Optional[Settings] = None):
        super().__init__(parent)
        self.paths = paths.ensure()
        self.settings = settings if settings is not None else load_settings(self.paths)
        self.catalog: Catalog = open_catalog(self.paths)
        self.undo_stack = UndoStack(self.catalog)
        self.catalog.on_change.append(self._on_catalog_change)
        self.jobs = JobsManager(self.paths.catalog, self.paths.backups, parent=self)

        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        self.resize(1440, 900)
        self.setDockNestingEnabled(True)

        self._sort = self.settings.get("grid_sort")
        self._folder_id: Optional[int] = None
        self._min_rating = 0
        self._flag_filter = "all"
        self.collapse_stacks = False
        self._restoring = False
        self._started = False  # until the first refresh at the end of __init__
        self._refresh_pending = False
        self._refresh_reload = False
        self._order_stale = False  # the held order differs from the sort: "new order ready" is shown
        self._views: dict[str, tuple[QWidget, Optional[QAction]]] = {}
        self._panels: dict[str, QDockWidget] = {}
        self._view_culling: dict[str, bool] = {}
        self._culling_shortcuts: dict[QAction, list] = {}
        self._culling_on = True
        self.last_refresh_s = 0.0  # duration of the last refresh() (throttles refreshes during imports)
        self._closed = False
        self._id_filters: list[Callable[[list[int]], list[int]]] = []
        self._scope_texts: list[Callable[[], str]] = []
        # the sorted, filtered ids before the id filters, kept while nothing they depend on changes: a new
        # search narrows them without re-sorting 100,000 records (benchmarks/search_bench.py)
        self._records_version = 0
        self._field_versions: dict[str, int] = {}  # per record field: what the kept sort columns check
        self._sorted_cache: Optional[tuple[tuple, list[int]]] = None
        self._folder_panel_update: Optional[Callable] = None
        # reloads of a big library read the records on a worker (see reload()); one thread of their own, so
        # an import or a training job holding the job pool never delays them
        self._reload_job = None
        self._reload_wanted: Optional[tuple[bool, bool]] = None  # (keep_selection, resort) of the next read
        self._reload_then: list[Callable[[], None]] = []  # what runs once the next read is shown
        self._replay_after_reload: Optional[list[Callable[[], None]]] = None
        self._read_pool = QThreadPool(self)
        self._read_pool.setMaxThreadCount(1)
        # the stacks of the photos shown (records, limits, PhotoSet, stacks, their StackRanking), and the worker's key
        # while it finds them in a big grid (see _collapse)
        self._stacks_kept: Optional[tuple] = None
        self._stacks_job: Optional[tuple] = None

        # Model, views
        self.thumbs = ThumbnailCache(self.paths.thumbnails, parent=self)
        self.model = PhotoListModel(self.thumbs, self)
        self.model.flag_source = self._technical_flags
        cell = max(PhotoGridView.MIN_CELL, min(PhotoGridView.MAX_CELL, int(self.settings.get("thumbnail_size") * 0.7)))
        self.grid = PhotoGridView(self, cell=cell)
        self.grid.setModel(self.model)
        self.grid.delegate.show_scores = bool(self.settings.get("grid_show_scores"))
        self.grid.set_compact(bool(self.settings.get("grid_compact")))
        sm = self.grid.selectionModel()
        sm.selectionChanged.connect(self._on_selection_changed)
        sm.currentChanged.connect(self._on_current_changed)
        self.loupe = LoupeView(self)  # its behaviour: gui/features/loupe.py
        self.stack = QStackedWidget(self)
        self.stack.setObjectName("CentralStack")
        self.setCentralWidget(self.stack)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_docks()
        self._build_status_bar()

        self.add_view("grid", self.grid, "G", title="Grid", toggles=False, culling_keys=True)
        self.add_view("loupe", self.loupe, None, title="Loupe", culling_keys=True)
        self._views["loupe"][1].setShortcuts(
            [QKeySequence(Qt.Key.Key_Space), QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)]
        )
        self._views["loupe"][1].setToolTip("Loupe: one photo, large (Space / Enter)")
        self.register_culling_actions([self._views["loupe"][1]])
        # back in the grid the held order gives way to the sort (the records in memory are current)
        self.viewChanged.connect(lambda name: name == "grid" and self._started
                                 and self.refresh(keep_selection=True, reload=False))
        from piaa_desktop.gui.features import install as install_features

        install_features(self)  # gui/features: loupe, culling, importing, compare, ranking, develop, export, ...
        self.show_view("grid")

        self.refresh(keep_selection=False)  # the one read of the records at start-up
        self._started = True
        if self.model.rowCount():
            self.select_rows([0], current=0)

    # ================================================================== construction (the public API for features)
    def add_action(self, text: str, slot: Callable, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.setCheckable(checkable)
        a.triggered.connect(lambda checked=False: slot())
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(a)  # shortcuts work wherever the focus is in the window, menus hidden or not
        return a

    def menu(self, name: str) -> QMenu:
        """A menu of the menu bar: ``file``, ``edit``, ``photo``, ``view`` or ``help``."""
        return self._menus[name]

    @property
    def quit_action(self) -> QAction:
        return self.act_quit

    def add_status_widget(self, widget: QWidget) -> None:
        """A permanent widget in the status bar, left of the photo count."""
        self.statusBar().insertPermanentWidget(self._status_insert, widget)
        self._status_insert += 1

    def add_toolbar_widget(self, widget: QWidget, first: bool = False) -> None:
        """A widget in the toolbar: before the sort/filter controls (``first``), else after them."""
        tb = self.toolbar
        if first:
            anchor = tb.actions()[0] if tb.actions() else None
            tb.insertWidget(anchor, widget)
            tb.insertSeparator(anchor)
        else:
            tb.insertWidget(self._toolbar_views_anchor, widget)

    def add_id_filter(self, fn: Callable[[list[int]], list[int]], describe: Optional[Callable[[], str]] = None) -> None:
        """Narrow what the grid shows: ``fn(ids)`` returns the ids (in order) that stay (a search, a
        collection, a sub-folder). Runs on the GUI thread at every refresh: keep it in memory.
        ``describe()`` says in words what it keeps now ('' when it keeps everything)."""
        self._id_filters.append(fn)
        if describe is not None:
            self._scope_texts.append(describe)

    def narrow_ids(self, ids: list[int]) -> list[int]:
        """``ids`` narrowed to the grid's scope (folder, search, collection), whatever the rating/flag filters."""
        if self._folder_id is not None:
            recs = self.model.records()
            ids = [i for i in ids if (r := recs.get(i)) is not None and r.folder_id == self._folder_id]
        for narrow in self._id_filters:
            ids = narrow(ids)
        return ids

    def scope_text(self) -> str:
        """What the grid's scope is, in words: 'folder "lib", search kw:Paris' ('' for the whole library)."""
        return ", ".join(t for t in (d() for d in self._scope_texts) if t)

    def set_folder_panel(self, widget: QWidget, title: str, on_records: Callable) -> None:
        """Show ``widget`` in the left dock instead of the folder list; ``on_records(records)`` is called
        after each refresh with the records in memory (to update counts)."""
        self.folder_dock.setWidget(widget)
        self.folder_dock.setWindowTitle(title)
        self._folder_panel_update = on_records

    def register_culling_actions(self, actions) -> None:
        """Actions whose shortcuts act on the grid's selection (rate, flag, loupe): a view added without
        ``culling_keys`` takes those keys for its own widgets while it is shown."""
        for a in actions:
            self._culling_shortcuts[a] = a.shortcuts()
            if not self._culling_on:
                a.setShortcuts([])

    #: seconds a ``transient`` message stays (the feedback of a keystroke: "Rated 1 photo ★★★★")
    TRANSIENT_S = 12.0

    def say(self, text: str, transient: bool = False) -> None:
        """A message in the status bar; ``transient``: it goes after :attr:`TRANSIENT_S` s unless another came (the
        feedback of a quick action would otherwise stay for the rest of the session). Results and errors stay."""
        self._said = getattr(self, "_said", 0) + 1
        self.status_label.setText(text)
        if transient:
            said = self._said
            QTimer.singleShot(int(self.TRANSIENT_S * 1000), self,
                              lambda: self._said == said and not self._closed and self.status_label.setText(""))

    @property
    def is_closed(self) -> bool:
        """True once the window closed its catalog (late signals of jobs must do nothing then)."""
        return self._closed

    def _build_actions(self) -> None:
        A = self.add_action
        self.act_quit = A("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_select_all = A("Select &all", self.grid.selectAll, "Ctrl+A")
        self.act_select_none = A("Select &none", self.select_none, "Ctrl+D")
        self.act_bigger = A("Bigger thumbnails", lambda: self.set_cell_size(self.grid.cell_size() + 20), "Ctrl+=")
        self.act_smaller = A("Smaller thumbnails", lambda: self.set_cell_size(self.grid.cell_size() - 20), "Ctrl+-")
        self.act_scores = A("Score badges on thumbnails", self._toggle_scores, None, checkable=True)
        self.act_scores.setChecked(self.grid.delegate.show_scores)
        self.act_compact = A("&Compact grid", self._toggle_compact, None,
                             "Denser grid: more, smaller photos (stars on the photo, names in the tooltip)", checkable=True)
        self.act_compact.setChecked(self.grid.is_compact())
        self.act_filter = A("&Filter…", self._focus_filter, "F", "Filter by rating and flag")
        self.act_refresh_order = A("&Refresh order", self.refresh_order, "F5",
                                   "Re-sort now: while you cull the order holds still (new scores wait for this)")
        self.act_collapse = A("Collapse &stacks", lambda: self.set_collapse_stacks(not self.collapse_stacks), "Ctrl+G",
                              "Show each burst / near-duplicate group as its best photo", checkable=True)
        self.sort_group = QActionGroup(self)
        self.sort_actions: dict[str, QAction] = {}
        for key in GRID_SORTS:
            a = QAction(SORTS[key], self, checkable=True)
            a.setChecked(key == self._sort)
            a.triggered.connect(lambda _c=False, k=key: self.set_sort(k))
            self.sort_group.addAction(a)
            self.sort_actions[key] = a
        self.view_group = QActionGroup(self)
        self.view_group.setExclusive(True)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addSeparator()
        m.addAction(self.act_quit)
        self.file_menu = m

        m = mb.addMenu("&Edit")
        m.addAction(self.act_select_all)
        m.addAction(self.act_select_none)
        self.edit_menu = m

        self.photo_menu = mb.addMenu("&Photo")

        m = mb.addMenu("&View")
        self.view_menu = m
        self._views_separator = m.addSeparator()
        sm = m.addMenu("&Sort by")
        for a in self.sort_actions.values():
            sm.addAction(a)
        m.addAction(self.act_refresh_order)
        m.addAction(self.act_filter)
        m.addAction(self.act_collapse)
        m.addSeparator()
        m.addAction(self.act_bigger)
        m.addAction(self.act_smaller)
        m.addAction(self.act_scores)
        m.addAction(self.act_compact)
        self._panels_separator = m.addSeparator()

        self.help_menu = mb.addMenu("&Help")
        self._menus = {"file": self.file_menu, "edit": self.edit_menu, "photo": self.photo_menu,
                       "view": self.view_menu, "help": self.help_menu}

    def _build_toolbar(self) -> None:
        tb = QToolBar("Library", self)
        tb.setObjectName("LibraryToolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

        def label(text: str) -> QLabel:
            lab = QLabel(text)
            lab.setProperty("role", "dim")
            lab.setContentsMargins(8, 0, 4, 0)
            return lab

        self.sort_combo = QComboBox(self)
        for key in GRID_SORTS:
            self.sort_combo.addItem(SORTS[key], key)
        self.sort_combo.setCurrentIndex(GRID_SORTS.index(self._sort))
        self.sort_combo.activated.connect(lambda i: self.set_sort(self.sort_combo.itemData(i)))
        self.rating_combo = QComboBox(self)
        for value, text in RATING_FILTERS:
            self.rating_combo.addItem(text, value)
        self.rating_combo.activated.connect(lambda i: self.set_filter(min_rating=self.rating_combo.itemData(i)))
        self.flag_combo = QComboBox(self)
        for key, (text, _f, _r) in FLAG_FILTERS.items():
            self.flag_combo.addItem(text, key)
        self.flag_combo.activated.connect(lambda i: self.set_filter(flag=self.flag_combo.itemData(i)))
        for combo in (self.sort_combo, self.rating_combo, self.flag_combo):
            combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.activated.connect(lambda _i: self.focus_current_view())
        tb.addWidget(label("Sort"))
        tb.addWidget(self.sort_combo)
        tb.addWidget(label("Rating"))
        tb.addWidget(self.rating_combo)
        tb.addWidget(label("Flag"))
        tb.addWidget(self.flag_combo)
        self.order_hint = QToolButton(self)
        self.order_hint.setObjectName("OrderHint")
        self.order_hint.setText("↻ New order ready (F5)")
        self.order_hint.setToolTip("New scores or ratings would change the order. It holds still while you cull:\n"
                                   "click (or press F5) to re-sort; leaving the loupe re-sorts too.")
        self.order_hint.setStyleSheet("QToolButton#OrderHint { color: #f5b83d; border: 1px solid #8a6a2a;"
                                      " border-radius: 5px; padding: 3px 10px; margin-left: 10px; }")
        self.order_hint.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.order_hint.clicked.connect(self.refresh_order)
        self._order_hint_action = tb.addWidget(self.order_hint)
        self._order_hint_action.setVisible(False)
        spacer = QWidget(self)
        spacer.setObjectName("ToolbarSpacer")
        spacer.setStyleSheet("background: transparent;")  # the toolbar's colour, not the themes' QWidget grey box
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self._toolbar_views_anchor = tb.addSeparator()

    def _build_docks(self) -> None:
        self.folder_list = QListWidget(self)
        self.folder_list.setObjectName("FolderList")
        self.folder_list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.folder_list.setStyleSheet(
            "QListWidget#FolderList { border: none; background-color: #1a1d22; padding: 4px; }"
            "QListWidget#FolderList::item { border-radius: 4px; }"
        )
        self.folder_list.setItemDelegate(_FolderDelegate(self.folder_list))
        self.folder_list.currentItemChanged.connect(self._on_folder_changed)
        self.folder_dock = QDockWidget("Folders", self)
        self.folder_dock.setObjectName("FoldersDock")
        self.folder_dock.setWidget(self.folder_list)
        self.folder_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.folder_dock)
        self.resizeDocks([self.folder_dock], [230], Qt.Orientation.Horizontal)

        self.side_panel = SidePanel(self)
        self.info_dock = QDockWidget("Info", self)
        self.info_dock.setObjectName("InfoDock")
        self.info_dock.setWidget(self.side_panel)
        self.info_dock.setFeatures(self.folder_dock.features())
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.info_dock)
        self.resizeDocks([self.info_dock], [310], Qt.Orientation.Horizontal)
        self._panels["info"] = self.info_dock
        for dock in (self.folder_dock, self.info_dock):
            self.view_menu.addAction(dock.toggleViewAction())

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        sb.setSizeGripEnabled(False)
        self.status_label = QLabel("")
        self.status_label.setContentsMargins(6, 0, 6, 0)
        sb.addWidget(self.status_label, 1)
        self._status_insert = 1  # features' widgets go between the message and the photo count
        self.count_label = QLabel("")
        self.count_label.setProperty("role", "dim")
        self.count_label.setContentsMargins(10, 0, 6, 0)
        sb.addPermanentWidget(self.count_label)
        self.size_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.size_slider.setRange(PhotoGridView.MIN_CELL, PhotoGridView.MAX_CELL)
        self.size_slider.setValue(self.grid.cell_size())
        self.size_slider.setFixedWidth(120)
        self.size_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.size_slider.setToolTip("Thumbnail size (Ctrl+= / Ctrl+-)")
        self.size_slider.valueChanged.connect(self.set_cell_size)
        sb.addPermanentWidget(self.size_slider)

    # ================================================================== views and panels (extension points)
    def add_view(
        self,
        name: str,
        widget: QWidget,
        shortcut: Optional[str | QKeySequence] = None,
        title: Optional[str] = None,
        toggles: bool = True,
        culling_keys: bool = False,
    ) -> QAction:
        """Add a central view (ranking, compare, ...). Its action (View menu and toolbar, ``shortcut``)
        shows it; with ``toggles`` pressing it again returns to the grid. Returns the action.

        While the view is shown, the culling keys of the grid (0-9, P, X, U, Space, Enter) go to the
        view's own widgets (a compare view flags its active side with P), unless ``culling_keys`` is
        true (then they rate/flag the grid's selection, as in the loupe). G, the view shortcuts and
        Ctrl+Z / Ctrl+Shift+Z always work."""
        if name in self._views:
            raise ValueError(f"a view named {name!r} already exists")
        self.stack.addWidget(widget)
        act = QAction(title or name.replace("_", " ").capitalize(), self)
        act.setCheckable(True)
        act.setObjectName(f"view_{name}")
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setToolTip(f"{act.text()} ({QKeySequence(shortcut).toString()})")
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda _c=False, n=name, t=toggles: self.toggle_view(n) if t else self.show_view(n))
        self.addAction(act)
        self.view_group.addAction(act)
        self.view_menu.insertAction(self._views_separator, act)
        self.toolbar.addAction(act)
        self._views[name] = (widget, act)
        self._view_culling[name] = culling_keys
        return act

    def add_panel(
        self,
        name: str,
        widget: QWidget,
        shortcut: Optional[str | QKeySequence] = None,
        title: Optional[str] = None,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        """Add a dock panel (e.g. develop), tabbed with the Info panel on the right; ``shortcut`` shows it."""
        dock = QDockWidget(title or name.capitalize(), self)
        dock.setObjectName(f"{name}Dock")
        dock.setWidget(widget)
        dock.setFeatures(self.info_dock.features())
        self.addDockWidget(area, dock)
        if area == Qt.DockWidgetArea.RightDockWidgetArea:
            self.tabifyDockWidget(self.info_dock, dock)
        act = dock.toggleViewAction()
        if shortcut:
            show = self.add_action(f"Show {dock.windowTitle()}", lambda d=dock: self._raise_panel(d), shortcut)
            self.view_menu.addAction(show)
        self.view_menu.addAction(act)
        self._panels[name] = dock
        return dock

    def _raise_panel(self, dock: QDockWidget) -> None:
        if dock.isVisible() and not dock.visibleRegion().isEmpty():
            dock.hide()
            return
        dock.show()
        dock.raise_()

    def view_names(self) -> list[str]:
        return list(self._views)

    def current_view(self) -> str:
        w = self.stack.currentWidget()
        for name, (widget, _a) in self._views.items():
            if widget is w:
                return name
        return ""

    def view_widget(self, name: str) -> QWidget:
        return self._views[name][0]

    def show_view(self, name: str) -> None:
        widget, act = self._views[name]
        if name == "loupe" and self.current_id() is None:
            return
        self.stack.setCurrentWidget(widget)
        self._set_culling_keys(self._view_culling.get(name, False))
        if act is not None:
            act.setChecked(True)
        self.positionChanged.emit()
        if name == "grid":
            cur = self.grid.currentIndex()
            if cur.isValid():
                self.grid.scrollTo(cur)
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.viewChanged.emit(name)

    def _set_culling_keys(self, on: bool) -> None:
        if not hasattr(self, "_culling_shortcuts") or on == self._culling_on:
            return
        for a, keys in self._culling_shortcuts.items():
            a.setShortcuts(keys if on else [])
        self._culling_on = on

    def toggle_view(self, name: str) -> None:
        self.show_view("grid" if self.current_view() == name else name)

    def toggle_loupe(self) -> None:
        self.toggle_view("loupe")

    def focus_current_view(self) -> None:
        """Give the keyboard back to the central view shown (after a toolbar control or a dialog)."""
        w = self.stack.currentWidget()
        if w is not None:
            w.setFocus(Qt.FocusReason.OtherFocusReason)

    # ================================================================== selection
    def _selected_spans(self) -> list[tuple[int, int]]:
        """The selection as (first row, last row) spans, read from its ranges: Qt's selectedIndexes() makes one
        index per selected row and asks the model's flags() of each (seconds for Ctrl+A at 100,000 photos,
        benchmarks/gui_actions.py); every valid row of this model is selectable, so the ranges say the same."""
        n = self.model.rowCount()
        spans = []
        for rng in self.grid.selectionModel().selection():
            if rng.isValid():
                top, bottom = max(0, rng.top()), min(n - 1, rng.bottom())
                if top <= bottom:
                    spans.append((top, bottom))
        return spans

    def selected_ids(self) -> list[int]:
        """Selected photo ids in grid order."""
        spans = self._selected_spans()
        if not spans:
            return []
        if len(spans) == 1:
            return self.model.ids(spans[0][0], spans[0][1] + 1)  # only the selected ids copied
        order = self.model.ids()
        rows = sorted(set().union(*(range(top, bottom + 1) for top, bottom in spans)))
        return [order[r] for r in rows]

    def selected_count(self) -> int:
        """How many photos are selected (without listing them)."""
        spans = self._selected_spans()
        if len(spans) <= 1:
            return sum(bottom - top + 1 for top, bottom in spans)
        return len(set().union(*(range(top, bottom + 1) for top, bottom in spans)))

    def current_id(self) -> Optional[int]:
        idx = self.grid.currentIndex()
        return self.model.id_at(idx.row()) if idx.isValid() else None

    def target_ids(self) -> list[int]:
        """What culling actions apply to: the selection, else the current photo."""
        ids = self.selected_ids()
        if not ids:
            cur = self.current_id()
            ids = [cur] if cur is not None else []
        return ids

    def select_ids(self, ids, current: Optional[int] = None) -> None:
        """Select photos by id (those not in the grid are ignored); ``current`` becomes the current photo."""
        rows = [self.model.row_of(i) for i in ids]
        rows = [r for r in rows if r is not None]
        cur_row = self.model.row_of(current) if current is not None else (rows[0] if rows else None)
        self.select_rows(rows, cur_row)

    def inspect_photo(self, photo_id: int) -> None:
        """Show ``photo_id`` in the Info panel, for a view whose photos are not the grid's selection (the
        ranking pair). A photo in the grid becomes the current, selected one, so the panel's stars and
        flags act on it; one the filters hide is only shown."""
        if self.model.row_of(photo_id) is not None:
            if self.current_id() != photo_id or self.selected_ids() != [photo_id]:
                self.select_ids([photo_id], photo_id)
            return
        photo = self.catalog.photo(photo_id)
        if photo is not None:
            self.side_panel.show_photo(photo, self.catalog.score_detail(photo_id),
                                       self.catalog.signals([photo_id]).get(photo_id), n_selected=1)

    def select_none(self) -> None:
        self.grid.selectionModel().clearSelection()

    def select_rows(self, rows, current: Optional[int] = None) -> None:
        sm = self.grid.selectionModel()
        sel = QItemSelection()
        for start, end in row_runs(rows):
            sel.select(self.model.index(start, 0), self.model.index(end, 0))
        self._restoring = True
        try:
            if current is not None and 0 <= current < self.model.rowCount():
                sm.setCurrentIndex(self.model.index(current, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
            sm.select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._restoring = False
        self._selection_settled()

    def step(self, delta: int) -> None:
        """Move the current photo by ``delta`` rows (the loupe's arrows), selecting only it."""
        n = self.model.rowCount()
        if not n:
            return
        cur = self.grid.currentIndex()
        row = cur.row() if cur.isValid() else -1
        new = max(0, min(n - 1, row + delta)) if row >= 0 else 0
        idx = self.model.index(new, 0)
        self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(idx)

    def _on_selection_changed(self, *_args) -> None:
        if not self._restoring:
            self._selection_settled()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._restoring:
            return
        self._update_side_panel()
        self.positionChanged.emit()
        self.currentPhotoChanged.emit(self.current_id())

    def _selection_settled(self) -> None:
        ids = self.selected_ids()
        self._update_side_panel(len(ids))
        self.positionChanged.emit()
        self._update_count_label(len(ids))
        self.selectionChanged.emit(ids)
        self.currentPhotoChanged.emit(self.current_id())

    def compare_ids(self) -> list[int]:
        """What compare, survey and reorder show: the selection, else the current photo and the next."""
        ids = self.selected_ids()
        if len(ids) >= 2:
            return ids
        cur = self.current_id()
        order = self.model.ids() if hasattr(self.model, "ids") else []
        if cur is not None and cur in order:
            k = order.index(cur)
            return order[k : k + 2]
        return ids

    # ================================================================== catalog changes
    def _on_catalog_change(self, change: Change) -> None:
        """Every mutation of the GUI catalog (from any widget, undo/redo included) passes here."""
        was = self._field_versions.get(change.field, 0)
        self._records_changed(*(SCORE_KINDS if change.kind == "scores" else (change.field,)))
        self.model.apply_change(change)
        if change.kind != "scores" and change.field in ("rating", "flag"):
            # the sort column of the field, if kept, re-reads only these photos (not 100,000 records)
            cols = SortColumns.kept(self.model.records())
            if cols is not None:
                cols.patch(change.field, change.photo_ids, was, self._field_versions[change.field])
        if self._replay_after_reload is not None:  # records being re-read: they may miss this change
            self._replay_after_reload.append(functools.partial(self.model.apply_change, change))
        cur = self.current_id()
        if cur is not None and cur in change.photo_ids:
            rec = self.model.record(cur)
            if rec is not None:
                self.side_panel.set_culling(rec.rating, rec.flag, rec.color_label)
        if change.kind == "scores":
            self.schedule_refresh(reload=True)  # the records carry scores that apply_change does not update
        elif self._view_depends_on(change.field):
            self.schedule_refresh()
        self.catalogChanged.emit(change)

    def _records_changed(self, *fields: str) -> None:
        """The records in memory changed (these fields): sorted lists and sort columns are read again."""
        self._records_version += 1
        for f in fields:
            self._field_versions[f] = self._records_version

    def _view_depends_on(self, field: str) -> bool:
        if field == "rating":
            return self._sort == "rating" or self._min_rating > 0
        if field == "flag":
            return self._flag_filter != "all"
        return False

    def schedule_refresh(self, reload: bool = False) -> None:
        """Refresh once, after the current event (several changes in a row cost one refresh). The records in
        memory are current (every change passes :meth:`_on_catalog_change`): only ``reload=True`` reads them
        again (see :meth:`reload`)."""
        self._refresh_reload = self._refresh_reload or reload
        if not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(0, self._do_scheduled_refresh)

    def _do_scheduled_refresh(self) -> None:
        if self._closed:  # a late signal after the window closed its catalog
            return
        if self._refresh_pending:
            self._refresh_pending = False
            reload, self._refresh_reload = self._refresh_reload, False
            if reload:
                self.reload(keep_selection=True, resort=False)
            else:
                self.refresh(keep_selection=True, reload=False, resort=False)

    # ================================================================== sorting, filtering, refresh
    def set_sort(self, key: str) -> None:
        if key not in GRID_SORTS:
            raise ValueError(f"unknown sort {key!r}")
        self._sort = key
        self.sort_actions[key].setChecked(True)
        self.sort_combo.setCurrentIndex(GRID_SORTS.index(key))
        self.settings.set("grid_sort", key)
        self.refresh(keep_selection=True, reload=False)

    def sort_key(self) -> str:
        return self._sort

    def set_filter(self, min_rating: Optional[int] = None, flag: Optional[str] = None, folder_id=...) -> None:
        """Change the filters: ``min_rating`` 0-5, ``flag`` a key of FLAG_FILTERS, ``folder_id`` (None = all)."""
        if min_rating is not None:
            self._min_rating = int(min_rating)
            self.rating_combo.setCurrentIndex(self._min_rating)
        if flag is not None:
            if flag not in FLAG_FILTERS:
                raise ValueError(f"unknown flag filter {flag!r}")
            self._flag_filter = flag
            self.flag_combo.setCurrentIndex(list(FLAG_FILTERS).index(flag))
        if folder_id is not ...:
            self._folder_id = folder_id
        self.refresh(keep_selection=True, reload=False)

    def _focus_filter(self) -> None:
        self.rating_combo.setFocus()
        self.rating_combo.showPopup()

    def query_ids(self) -> list[int]:
        return self._query()[0]

    def _query(self) -> tuple[list[int], Optional["np.ndarray"]]:
        """The ids to show (sort, filters, id filters, stacks) and, when nothing narrowed the sorted ids after the
        sort columns made them, the same ids as an int64 array (else None)."""
        _label, flag, include_rejected = FLAG_FILTERS[self._flag_filter]
        technical = self._flag_filter[5:] if self._flag_filter.startswith("tech:") else None
        faces = self._flag_filter[6:] if self._flag_filter.startswith("faces:") else None
        records = self.model.records()
        key = (id(records), len(records), self._records_version, self._sort, self._folder_id, self._min_rating,
               self._flag_filter)
        if self._sorted_cache is not None and self._sorted_cache[0] == key and faces is None:
            ids, array = self._sorted_cache[1], self._sorted_cache[2]  # nobody changes these (filters make new lists)
        else:
            # sorted in memory from the records the refresh just loaded: no query on the GUI thread
            # (a faces filter reads the faces table, which the background faces pass fills: never cached)
            array = query_ids(self.catalog, self._sort, self._folder_id, self._min_rating, flag, include_rejected,
                              technical=technical, records=records, faces=faces,
                              version=dict(self._field_versions), as_array=True)
            ids = array.tolist()
            self._sorted_cache = (key, ids, array)
        for narrow in self._id_filters:
            narrowed = narrow(ids)
            if narrowed is not ids:
                ids, array = narrowed, None
        if self.collapse_stacks:
            ids, array = self._collapse(ids, array=array)
        return ids, array

    def _collapse(self, ids: list[int], rank: bool = True, array: Optional["np.ndarray"] = None
                  ) -> tuple[list[int], Optional["np.ndarray"]]:
        """Bursts and near-duplicates shown as their best member (by personal, else generic score): (ids, the
        same as int64). ``array``: ``ids`` as int64 when the caller has them. ``rank`` False: only have the
        stacks found (on the worker in a big grid), ``ids`` returned as they are."""
        from piaa_desktop.core.stacks import PhotoSet, best_of_stacks, find_stacks, record_timestamps, stack_ranking

        import numpy as np

        records = self.model.records()
        limits = (self.settings.get("stack_max_gap_s"), self.settings.get("stack_max_dist"))
        arr = np.fromiter(ids, dtype=np.int64, count=len(ids)) if array is None else array
        kept = self._stacks_kept
        # the stacks of the same photos (capture times and looks change only with a reload's new records) are
        # kept: every refresh while stacks are collapsed (new scores, a rating in Rating order) ranks them
        # again without finding them again (~0.8 s at 100,000 photos with bursts, benchmarks/gui_actions.py)
        if kept is not None and kept[0] is records and kept[1] == limits and kept[2].same(arr):
            stacks, ranking = kept[3], kept[4]
            if not rank:
                return ids, arr
        elif len(ids) >= self.ASYNC_STACKS_MIN:
            # found on a worker (capture times, embeddings of the photos near in time, their signals); the grid
            # shows every photo meanwhile and collapses when they arrive (_stacks_found)
            pending = self._stacks_job
            if pending is None or pending[0] is not records or pending[1] != limits or not pending[2].same(arr):
                key = self._stacks_job = (records, limits, PhotoSet(arr))
                self.jobs.submit(_find_stacks_job, list(records.values()), limits, list(ids), with_catalog=True,
                                 name="stacks", on_done=lambda r, key=key: self._stacks_found(key, r),
                                 on_error=lambda exc, key=key: self._stacks_failed(key, exc))
            return ids, arr
        else:
            # the records' capture times (parsed once per records dict): no read of every photo row
            stacks = find_stacks(self.catalog, max_gap_s=limits[0], max_dist=limits[1], ids=ids,
                                 timestamps=record_timestamps(records))
            ranking = stack_ranking(self.catalog, stacks)  # sharpness measured at import: new records only
            self._stacks_kept = (records, limits, PhotoSet(arr), stacks, ranking)
        if not stacks or not rank:
            return ids, arr
        # ranked again from the records' scores and stars (a rating, new scores): ~13 ms for 3,334 stacks
        try:
            best = ranking.best(self.catalog, records)
        except KeyError:  # a member without a record (none expected: the stacks are of the records' photos)
            best = best_of_stacks(self.catalog, stacks)
        shown = ranking.collapse_array(arr, best)
        return (ids, arr) if len(shown) == len(arr) else (shown.tolist(), shown)

    def stacks_pending(self) -> bool:
        """True while the stacks of the grid's photos are being found on a worker (Ctrl+G in a big library)."""
        return self._stacks_job is not None

    def _stacks_failed(self, key: tuple, exc: BaseException) -> None:
        if self._stacks_job is key:
            self._stacks_job = None
        if not self._closed:
            self.say(f"Stacks not found: {exc}")

    def _stacks_found(self, key: tuple, result) -> None:
        if self._closed or self._stacks_job is not key:
            return  # the window closed, or other photos were asked for since
        self._stacks_job = None
        stacks, ranking = result
        self._stacks_kept = (*key, stacks, ranking)
        if not self.collapse_stacks:
            return
        before = self.model.rowCount()
        self.refresh(keep_selection=True, reload=False)
        if not self.stacks_pending():  # other photos shown since: their stacks are on the way, and say it then
            self._say_collapsed(before - self.model.rowCount())

    def set_collapse_stacks(self, on: bool) -> None:
        before = self.model.rowCount()
        self.collapse_stacks = bool(on)
        self.act_collapse.setChecked(self.collapse_stacks)
        if self.collapse_stacks and self.model.rowCount() >= self.ASYNC_STACKS_MIN:
            # a big grid whose stacks are not known: found on the worker while the grid shows the same photos as
            # before, without a refresh of them (~40 ms of the GUI thread at 100,000 photos while the worker
            # starts); _stacks_found collapses the grid and says what it did
            self._collapse(self.model.ids(), rank=False, array=self.model.ids_array())
            if self.stacks_pending():
                self.say("Finding stacks…")
                return
        self.refresh(keep_selection=True, reload=False)
        # Ctrl+G on a folder without bursts changed nothing on screen and said nothing: say what it did
        if not self.collapse_stacks:
            self.say("Stacks expanded: every photo shown", transient=True)
        elif self.stacks_pending():
            self.say("Finding stacks…")  # _stacks_found says what it did
        else:
            self._say_collapsed(before - self.model.rowCount())

    def _say_collapsed(self, hidden: int) -> None:
        if hidden > 0:
            self.say(f"Stacks collapsed: {hidden} photo{'s' if hidden != 1 else ''} hidden behind the best of "
                     "each stack (Ctrl+G shows them)", transient=True)
        else:
            self.say("No stacks here: no photos taken within seconds of each other that look alike", transient=True)

    def refresh(self, keep_selection: bool = True, reload: bool = True, resort: bool = True) -> None:
        """Reload photos and scores from the catalog and re-query the grid (sort and filters).

        ``reload=False`` re-sorts and re-filters the records already in memory (a new sort or filter; the
        records are kept current by catalog changes, see :meth:`_on_catalog_change`). A reload reads every
        record on the GUI thread: callers that run in a big library use :meth:`reload` (a worker reads).

        ``resort=False`` (the automatic refreshes: new scores from background training, a rating that
        would move a photo, an import's new photos) holds the order on screen still: photos keep their
        places (those the filters now leave out go), new ones join at the end, and "new order ready" is shown until :meth:`refresh_order`
        (F5, the hint, a new sort or filter, leaving the loupe).

        With ``keep_selection`` the selected photos stay selected and the current photo stays current
        (if they still pass the filters; else the photo now at the current row becomes current).
        """
        t0 = time.perf_counter()
        old = self.model.records()
        # A new sort or filter reuses the records in memory (kept current by catalog changes).
        records = load_records(self.catalog) if reload or not old else old
        self._show_records(records, keep_selection, resort, changed=changed_files(old, records), t0=t0)

    def reload(self, keep_selection: bool = True, resort: bool = True, then: Optional[Callable[[], None]] = None) -> None:
        """Photos were added, removed or re-read (an import, the trash, a rescan): read every record again
        and refresh. In a library of ``ASYNC_RELOAD_MIN`` photos or more the records are read on a worker
        (100,000 photos take ~1.5 s) and shown when they arrive; catalog changes made meanwhile (a rating
        given while it reads) are applied to them again, and reloads asked for meanwhile run once more after
        it. ``then()`` runs once the grid shows the new records."""
        if self._reload_job is None and len(self.model.records()) < self.ASYNC_RELOAD_MIN:
            self.refresh(keep_selection=keep_selection, reload=True, resort=resort)
            if then is not None:
                then()
            return
        want = self._reload_wanted
        self._reload_wanted = (want[0] or keep_selection, want[1] or resort) if want else (keep_selection, resort)
        if then is not None:
            self._reload_then.append(then)
        if self._reload_job is None:
            self._start_reload()
        # else: one more read after the one running (which may have read before this change)

    def _start_reload(self) -> None:
        flags, thens = self._reload_wanted, self._reload_then
        self._reload_wanted, self._reload_then = None, []
        self._replay_after_reload = []

        def done(result) -> None:
            self._reload_job, replay, self._replay_after_reload = None, self._replay_after_reload, None
            if self._closed:
                return
            records, changed = result
            self._show_records(records, flags[0], flags[1], changed=changed, replay=replay)
            self._after_reload(thens)

        def failed(exc: BaseException) -> None:
            self._reload_job, self._replay_after_reload = None, None
            if self._closed:
                return
            self.say(f"The library could not be re-read: {exc}")
            self._after_reload(thens)

        self._reload_job = self.jobs.submit(read_library, self.model.records(), with_catalog=True,
                                            pool=self._read_pool, name="reload", on_done=done, on_error=failed)

    def _after_reload(self, thens: list) -> None:
        for fn in thens:
            fn()
        if self._reload_wanted is not None and self._reload_job is None:
            self._start_reload()

    def reloading(self) -> bool:
        """True while a :meth:`reload` reads the records on a worker (or another is due after it)."""
        return self._reload_job is not None or self._reload_wanted is not None

    def _show_records(self, records: dict, keep_selection: bool, resort: bool, changed: list,
                      replay: Optional[list] = None, t0: Optional[float] = None) -> None:
        """Show ``records`` in the grid (see :meth:`refresh`); ``changed``: the photos whose files changed
        (:func:`~piaa_desktop.core.library.read_library`); ``replay``: catalog changes to apply to them first."""
        t0 = time.perf_counter() if t0 is None else t0
        old = self.model.records()
        if records is not old:
            self._records_version += 1
        if changed:
            self.thumbs.invalidate(changed)
            self.loupe.clear_cache()
        n_shown = self.model.rowCount()
        self.model.set_records(records)  # the rows still show the same ids until set_ids below
        for fn in replay or ():
            fn()
        fresh, fresh_array = self._query()
        if not resort and keep_selection and n_shown and self.grid.currentIndex().isValid():
            import numpy as np

            shown_array = self.model.ids_array()
            if fresh_array is None:
                fresh_array = np.fromiter(fresh, np.int64, len(fresh))
            if same_photos(shown_array, fresh_array):
                # the order held keeps every row where it is (new scores, a rating in Rating order): no reset of
                # the model, the selection and the current photo stay as they are, the view does not move
                self._rows_held(stale=not np.array_equal(shown_array, fresh_array))
                self._refreshed(records, t0)
                return
        sel = self.selected_ids() if keep_selection else []
        cur = self.current_id() if keep_selection else None
        cur_idx = self.grid.currentIndex()
        cur_row = cur_idx.row() if cur_idx.isValid() else None
        shown = self.model.ids()
        if resort or not shown:
            ids, array = fresh, fresh_array
        else:
            ids, array = hold_order(shown, fresh), None
        self._restoring = True
        try:
            self.model.set_ids(ids, array)
        finally:
            self._restoring = False
        self._set_order_stale(self.model.ids() != fresh)
        n = self.model.rowCount()
        if keep_selection and n:
            rows = [r for r in self.model.rows_of(sel) if r is not None]
            new_cur = self.model.row_of(cur) if cur is not None else None
            if new_cur is None:
                # the current photo left the view (filter) or there was none yet: the one at its row, or the first
                new_cur = min(cur_row, n - 1) if cur_row is not None else 0
                if not rows:
                    rows = [new_cur]
            self.select_rows(rows, new_cur)
            if new_cur is not None:
                self.grid.scrollTo(self.model.index(new_cur, 0))
        else:
            self._selection_settled()
        self._refreshed(records, t0)

    def _rows_held(self, stale: bool) -> None:
        """A refresh whose held order is the order on screen: the rows are repainted (their scores, stars), the
        hint follows the sort, the Info panel and the selection's listeners hear of it as after any refresh."""
        self.grid.viewport().update()
        self._set_order_stale(stale)
        self._selection_settled()

    def _refreshed(self, records: dict, t0: float) -> None:
        self._update_folders(records)
        self._update_count_label()
        if self.current_view() == "loupe" and self.current_id() is None:
            self.show_view("grid")
        self.last_refresh_s = time.perf_counter() - t0
        self.libraryRefreshed.emit()

    def refresh_order(self) -> None:
        """Re-sort now (F5 / the "new order ready" hint): the held order gives way to the current sort."""
        self.refresh(keep_selection=True, reload=False)
        self.say("Re-sorted", transient=True)

    def order_is_stale(self) -> bool:
        """True while the order on screen is held and differs from the sort (the hint is shown)."""
        return self._order_stale

    def _set_order_stale(self, stale: bool) -> None:
        if stale == self._order_stale:
            return
        self._order_stale = stale
        self._order_hint_action.setVisible(stale)
        self.positionChanged.emit()

    def _technical_flags(self, photo_id: int) -> set[str]:
        from piaa_desktop.core.flags import technical_flags

        return technical_flags(self.catalog.signals([photo_id]).get(photo_id))

    def refresh_scores(self, scores: Optional[dict] = None) -> None:
        """Scores changed (a re-trained personal model): update them in the records without reloading the
        library (one query, not three, on the GUI thread). The order holds still (see :meth:`refresh`).
        ``scores``: ``{kind: {photo id: score}}`` of the kinds that changed, already read on a worker (the GUI
        thread reads none, and leaves the other kinds as they are)."""
        records = self.model.records()
        if not records:
            self.refresh(keep_selection=True)
            return
        kinds = SCORE_KINDS if scores is None else [k for k in SCORE_KINDS if k in scores]
        got = {kind: self.catalog.scores(kind) if scores is None else scores[kind] for kind in kinds}

        def put() -> None:  # into the records shown (and again into those a reload is reading)
            recs = self.model.records()
            for kind, scores_of in got.items():
                if getattr(scores_of, "records_set", None) is not recs:  # not already given them on the worker
                    put_scores(recs, kind, scores_of)
                if getattr(scores_of, "records_set", None) is not None:
                    scores_of.records_set = None  # once: a replay after a reload writes into the new records

        put()
        if self._replay_after_reload is not None:  # records being re-read: they get these scores too
            self._replay_after_reload.append(put)
        self._records_changed(*got)
        cols = SortColumns.kept(records)
        if cols is not None:  # the score columns from the arrays read on the worker (ScoreMap), not the records
            for kind, scores_of in got.items():
                cols.put_scores(kind, scores_of, self._field_versions[kind])
        self.refresh(keep_selection=True, reload=False, resort=False)

    def _update_folders(self, records) -> None:
        if self._folder_panel_update is not None:
            self._folder_panel_update(records)
            return
        counts = Counter(r.folder_id for r in records.values())
        folders = [(f["id"], f["path"]) for f in self.catalog.folders()]
        wanted = [(None, "All photos", sum(counts.values()), "")] + [
            (fid, os.path.basename(path.rstrip(os.sep)) or path, counts.get(fid, 0), path) for fid, path in folders
        ]
        if wanted == getattr(self, "_folders_shown", None):
            return
        self._folders_shown = wanted
        self.folder_list.blockSignals(True)
        try:
            self.folder_list.clear()
            for fid, name, count, path in wanted:
                it = QListWidgetItem(name)
                it.setData(Qt.ItemDataRole.UserRole, fid)
                it.setData(Qt.ItemDataRole.UserRole + 1, count)
                it.setToolTip(path or "Every photo in the catalog")
                self.folder_list.addItem(it)
                if fid == self._folder_id:
                    self.folder_list.setCurrentItem(it)
        finally:
            self.folder_list.blockSignals(False)

    def _on_folder_changed(self, item: Optional[QListWidgetItem], _prev) -> None:
        if item is None:
            return
        self.set_filter(folder_id=item.data(Qt.ItemDataRole.UserRole))
        self.focus_current_view()

    def _update_count_label(self, n_selected: Optional[int] = None) -> None:
        n = self.model.rowCount()
        if n_selected is None:
            n_selected = self.selected_count()
        text = f"{n} photo{'s' if n != 1 else ''}"
        if n_selected > 1:
            text += f" · {n_selected} selected"
        self.count_label.setText(text)

    # ================================================================== side panel and loupe
    def _update_side_panel(self, n_selected: Optional[int] = None) -> None:
        pid = self.current_id()
        if pid is None:
            self.side_panel.show_photo(None, empty_hint=self._empty_hint())
            return
        photo = self.catalog.photo(pid)
        if photo is None:
            self.side_panel.show_photo(None)
            return
        if n_selected is None:
            n_selected = self.selected_count()
        self.side_panel.show_photo(
            photo,
            self.catalog.score_detail(pid),
            self.catalog.signals([pid]).get(pid),
            n_selected=n_selected,
        )

    def _empty_hint(self) -> str:
        """What the Info panel says with no current photo: import only when the library is empty."""
        if self.model.rowCount():
            return "Click a photo to see its details."
        if self.catalog.count_photos():
            return "No photo shown: nothing here matches the search, filter or folder chosen."
        return "Import a folder with File › Import folder… (Ctrl+I)"

    def image_loader(self, photo_id: int) -> QImage:
        """The photo's thumbnail with its develop edit rendered, as a QImage (cached pixmap, else the disk
        cache); null QImage if none.

        Synchronous but cheap (a ~512 px JPEG decode, or a render of it, at worst): for other widgets
        (ranking, compare, survey).
        """
        from piaa_desktop.core.develop import edit_signature
        from piaa_desktop.core.thumbnails import edited_thumbnail_array, thumbnail_path

        rec = self.model.record(photo_id)
        if rec is None:
            photo = self.catalog.photo(photo_id)
            if photo is None:
                return QImage()
            path, content_hash, edit = photo.path, photo.content_hash, self.catalog.get_edit(photo_id)
        else:
            path, content_hash, edit = rec.path, rec.content_hash, rec.edit
        pm = self.thumbs.pixmap(photo_id)
        if pm is not None and not self.thumbs.is_stale(photo_id) and self.thumbs.signature(photo_id) == edit_signature(edit):
            return pm.toImage()
        if not thumbnail_path(self.paths.thumbnails, content_hash).is_file():
            return QImage()
        try:
            arr = edited_thumbnail_array(path, content_hash, self.paths.thumbnails, edit)
        except Exception:  # noqa: BLE001 - an unreadable thumbnail shows as empty
            return QImage()
        return array_to_qimage(arr)

    def set_cell_size(self, size: int) -> None:
        self.grid.set_cell_size(size)
        if self.size_slider.value() != self.grid.cell_size():
            self.size_slider.blockSignals(True)
            self.size_slider.setValue(self.grid.cell_size())
            self.size_slider.blockSignals(False)

    def _toggle_compact(self) -> None:
        self.grid.set_compact(self.act_compact.isChecked())
        self.settings.set("grid_compact", self.grid.is_compact())
        self.set_cell_size(self.grid.cell_size())  # the size slider follows

    def _toggle_scores(self) -> None:
        self.grid.delegate.show_scores = self.act_scores.isChecked()
        self.settings.set("grid_show_scores", self.grid.delegate.show_scores)
        self.grid.viewport().update()

    # ================================================================== misc
    def status_text(self) -> str:
        return self.status_label.text()

    def save_settings(self) -> None:
        try:
            self.settings.set("thumbnail_size", max(64, min(1024, int(round(self.grid.cell_size() / 0.7)))))
            self.settings.save(self.paths.settings_file)
        except (OSError, ValueError) as exc:
            self.say(f"Could not save the settings: {exc}")

    def closeEvent(self, event) -> None:
        if self._closed:
            super().closeEvent(event)
            return
        self.features.shutdown()  # import stopped, pending develop edits written, background training stopped
        self.jobs.shutdown(wait_s=30.0)  # late results dropped; any other job still holding a connection waited for
        self.save_settings()
        self.thumbs.shutdown()
        self.loupe.shutdown()
        try:
            self.catalog.on_change.remove(self._on_catalog_change)
        except ValueError:
            pass
        self._closed = True
        self.catalog.close()
        super().closeEvent(event)
