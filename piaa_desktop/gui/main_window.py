"""The main window: folders on the left, the grid (or the loupe, or a view added by another module) in
the middle, the info panel on the right, the import progress in the status bar.

Culling is keyboard-first (Lightroom / Photo Mechanic keys): ``0``-``5`` stars, ``P`` pick, ``X``
reject, ``U`` unflag, ``6``-``9`` colour labels, arrows to move, ``Space``/``Enter`` loupe, ``G`` grid,
``Ctrl+Z`` / ``Ctrl+Shift+Z`` undo / redo. Every action applies to the whole selection and is written
to the catalog at once (a few rows in one transaction: fine on the GUI thread).

Nothing slow runs on the GUI thread: the import runs through :func:`piaa_desktop.gui.workers.run_job`
with its own catalog connection; thumbnails and previews are decoded on thread pools.

Extension points for other views (ranking, compare, develop)::

    win.add_view("ranking", RankingWidget(win), "R")          # central view, toggled by R; culling keys
                                                               # (0-9, P, X, U, Space, Enter) go to the view
    win.add_panel("develop", DevelopPanel(win), "D")          # right dock, tabbed with Info
    run_job(fn, *args, on_result=..., on_progress=..., cancel_token=...)  # gui.workers: long jobs
    win.selectionChanged.connect(...)                          # list of photo ids
    win.selected_ids(); win.current_id(); win.refresh(keep_selection=True)
    win.image_loader(photo_id) -> QImage                       # thumbnail-based
    win.catalog, win.undo_stack                                 # GUI-thread catalog and its undo stack
"""
from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
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
from piaa_desktop.core.jobs import CancelToken, Cancelled
from piaa_desktop.core.paths import AppPaths
from piaa_desktop.core.settings import Setting, Settings, load_settings, register
from piaa_desktop.gui.grid import (
    COLOR_LABELS,
    PhotoGridView,
    PhotoListModel,
    ThumbnailCache,
    array_to_qimage,
    hold_order,
    load_records,
    sort_and_filter,
)
from piaa_desktop.gui.loupe import LoupeView
from piaa_desktop.gui.side_panel import SidePanel
from piaa_desktop.gui.workers import JobHandle, run_job

SORTS = (
    ("capture_time", "Capture time"),
    ("generic", "Generic score"),
    ("personal", "Personal score"),
    ("rating", "Rating"),
    ("name", "File name"),
)
# key -> (label, flag value for query_ids, include_rejected)
FLAG_FILTERS = {
    "all": ("All photos", None, True),
    "picked": ("Picks", 1, True),
    "unflagged": ("Unflagged", 0, True),
    "rejected": ("Rejects", -1, True),
    "not_rejected": ("Hide rejects", None, False),
    # technical problems measured from pixels (core.flags): a filter on signals, any pick state
    "tech:blur": ("Out of focus / blur", None, True),
    "tech:overexposed": ("Blown highlights", None, True),
    "tech:underexposed": ("Crushed shadows", None, True),
    "tech:noisy": ("High noise", None, True),
}
RATING_FILTERS = ((0, "Any rating"), (1, "★ and up"), (2, "★★ and up"), (3, "★★★ and up"),
                  (4, "★★★★ and up"), (5, "★★★★★"))
COLOR_KEYS = {"6": "red", "7": "yellow", "8": "green", "9": "blue"}  # as in Lightroom

register(Setting("grid_sort", str, "capture_time", "Sort order of the grid", choices=tuple(k for k, _ in SORTS)))
register(Setting("grid_show_scores", bool, True, "Show the score badge on thumbnails"))


def import_job(
    catalog_path: str,
    folder: str,
    cache_dir: str,
    backup_dir: Optional[str] = None,
    progress=None,
    cancel=None,
    settings: Optional[Settings] = None,
):
    """The import as a worker job: its own catalog connection (one per thread), closed at the end.

    Ratings and labels in existing XMP sidecars of new photos are read into the catalog."""
    from piaa_desktop.core.scanner import import_folder

    from piaa_desktop.core.sync import import_sidecar

    cat = Catalog.open(catalog_path, backup_dir=backup_dir)
    try:
        return import_folder(
            cat, folder, cache_dir, progress=progress, cancel=cancel,
            on_new_photo=lambda c, pid: import_sidecar(c, pid, settings=settings),
        )
    finally:
        cat.close()


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


def startup_recovery_job(catalog_path: str, paths: AppPaths, progress=None, cancel=None):
    """core.recovery.recover on its own catalog connection (a worker job)."""
    from piaa_desktop.core.recovery import recover

    cat = Catalog.open(catalog_path)
    try:
        return recover(cat, paths)
    finally:
        cat.close()


class MainWindow(QMainWindow):
    """The library window. ``MainWindow(paths)``; see the module docstring for the extension points."""

    selectionChanged = Signal(list)  # selected photo ids, in grid order
    currentPhotoChanged = Signal(object)  # photo id or None
    catalogChanged = Signal(object)  # a catalog Change made through this window's catalog
    viewChanged = Signal(str)  # name of the central view now shown
    importFinished = Signal(object)  # ScanResult, or the exception that stopped the import
    libraryRefreshed = Signal()

    def __init__(self, paths: AppPaths, parent: Optional[QWidget] = None, settings: Optional[Settings] = None):
        super().__init__(parent)
        self.paths = paths.ensure()
        self.settings = settings if settings is not None else load_settings(self.paths)
        self.catalog: Catalog = open_catalog(self.paths)
        self.undo_stack = UndoStack(self.catalog)
        self.catalog.on_change.append(self._on_catalog_change)

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
        self._refresh_pending = False
        self._order_stale = False  # the held order differs from the sort: "new order ready" is shown
        self._last_incremental = 0.0
        self._import_handle: Optional[JobHandle] = None
        self._import_queue: list[str] = []
        self._import_folder: Optional[str] = None
        self.last_import_result = None
        self._views: dict[str, tuple[QWidget, Optional[QAction]]] = {}
        self._panels: dict[str, QDockWidget] = {}
        self._view_culling: dict[str, bool] = {}
        self._interrupted: list[dict] = []
        self.recovery_report = None
        self.last_refresh_s = 0.0  # duration of the last refresh() (throttles refreshes during imports)
        self._closed = False

        # Model, views
        self.thumbs = ThumbnailCache(self.paths.thumbnails, parent=self)
        self.model = PhotoListModel(self.thumbs, self)
        self.model.flag_source = self._technical_flags
        cell = max(PhotoGridView.MIN_CELL, min(PhotoGridView.MAX_CELL, int(self.settings.get("thumbnail_size") * 0.7)))
        self.grid = PhotoGridView(self, cell=cell)
        self.grid.setModel(self.model)
        self.grid.delegate.show_scores = bool(self.settings.get("grid_show_scores"))
        self.grid.doubleClicked.connect(lambda _i: self.show_view("loupe"))
        sm = self.grid.selectionModel()
        sm.selectionChanged.connect(self._on_selection_changed)
        sm.currentChanged.connect(self._on_current_changed)
        self.loupe = LoupeView(self)
        self.loupe.navigate.connect(self.step)
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
        # Keys that act on the grid's selection; a view added without culling_keys gets them itself.
        self._culling_actions = [
            *self.rating_actions, self.act_pick, self.act_reject, self.act_unflag,
            *self.color_actions.values(), self._views["loupe"][1],
        ]
        self._culling_shortcuts = {a: a.shortcuts() for a in self._culling_actions}
        self._culling_on = True
        from piaa_desktop.gui.features import install as install_features

        install_features(self)  # ranking, compare, develop, export, stacks, background personalisation
        self.show_view("grid")

        self.refresh(keep_selection=False)
        if self.model.rowCount():
            self._select_rows([0], current=0)
        self._check_interrupted_jobs()
        self._update_undo_actions()

    # ================================================================== construction
    def _action(self, text: str, slot: Callable, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
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

    def _build_actions(self) -> None:
        A = self._action
        self.act_import = A("&Import folder…", self.ask_import_folder, "Ctrl+I", "Import a folder of photos (sub-folders included)")
        self.act_cancel_import = A("Cancel import", self.cancel_import, None, "Stop the running import (what is done is kept)")
        self.act_cancel_import.setEnabled(False)
        self.act_quit = A("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = A("&Undo", self.undo, "Ctrl+Z")
        self.act_redo = A("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.act_select_all = A("Select &all", self.grid.selectAll, "Ctrl+A")
        self.act_select_none = A("Select &none", self.select_none, "Ctrl+D")
        self.rating_actions = [
            A(f"{'★' * r if r else 'No'} star{'s' if r != 1 else ''}" if r else "Clear rating",
              lambda r=r: self.set_rating(r), str(r), f"Rate the selected photos {r} star{'s' if r != 1 else ''}")
            for r in range(6)
        ]
        self.act_pick = A("&Pick", lambda: self.set_flag(1), "P", "Flag the selected photos as picks")
        self.act_reject = A("Re&ject", lambda: self.set_flag(-1), "X", "Flag the selected photos as rejects")
        self.act_unflag = A("&Unflag", lambda: self.set_flag(0), "U", "Remove the pick/reject flag")
        self.color_actions = {}
        keys = {v: k for k, v in COLOR_KEYS.items()}
        for name in COLOR_LABELS:
            self.color_actions[name] = A(name.capitalize(), lambda n=name: self.set_color_label(n), keys.get(name))
        self.act_no_color = A("No colour label", lambda: self.set_color_label(None), None)
        self.act_bigger = A("Bigger thumbnails", lambda: self.set_cell_size(self.grid.cell_size() + 20), "Ctrl+=")
        self.act_smaller = A("Smaller thumbnails", lambda: self.set_cell_size(self.grid.cell_size() - 20), "Ctrl+-")
        self.act_scores = A("Score badges on thumbnails", self._toggle_scores, None, checkable=True)
        self.act_scores.setChecked(self.grid.delegate.show_scores)
        self.act_filter = A("&Filter…", self._focus_filter, "F", "Filter by rating and flag")
        self.act_refresh_order = A("&Refresh order", self.refresh_order, "F5",
                                   "Re-sort now: while you cull the order holds still (new scores wait for this)")
        self.act_collapse = A("Collapse &stacks", lambda: self.set_collapse_stacks(not self.collapse_stacks), "Ctrl+G",
                              "Show each burst / near-duplicate group as its best photo", checkable=True)
        self.act_skipped = A("&Skipped files…", self.show_skipped_files, None, "Files the imports could not use, and why")
        self.act_shortcuts = A("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = A(f"&About {APP_NAME}", self.show_about)
        self.sort_group = QActionGroup(self)
        self.sort_actions: dict[str, QAction] = {}
        for key, label in SORTS:
            a = QAction(label, self, checkable=True)
            a.setChecked(key == self._sort)
            a.triggered.connect(lambda _c=False, k=key: self.set_sort(k))
            self.sort_group.addAction(a)
            self.sort_actions[key] = a
        self.view_group = QActionGroup(self)
        self.view_group.setExclusive(True)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_import)
        m.addAction(self.act_cancel_import)
        m.addSeparator()
        m.addAction(self.act_quit)
        self.file_menu = m

        m = mb.addMenu("&Edit")
        m.addAction(self.act_undo)
        m.addAction(self.act_redo)
        m.addSeparator()
        m.addAction(self.act_select_all)
        m.addAction(self.act_select_none)
        self.edit_menu = m

        m = mb.addMenu("&Photo")
        rm = m.addMenu("Set &rating")
        for a in self.rating_actions[1:] + self.rating_actions[:1]:
            rm.addAction(a)
        m.addSeparator()
        m.addAction(self.act_pick)
        m.addAction(self.act_reject)
        m.addAction(self.act_unflag)
        m.addSeparator()
        cm = m.addMenu("&Colour label")
        for a in self.color_actions.values():
            cm.addAction(a)
        cm.addAction(self.act_no_color)
        self.photo_menu = m

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
        m.addSeparator()
        m.addAction(self.act_skipped)
        self._panels_separator = m.addSeparator()

        m = mb.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)
        self.help_menu = m

    def _build_toolbar(self) -> None:
        tb = QToolBar("Library", self)
        tb.setObjectName("LibraryToolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb
        imp = QToolButton(self)
        imp.setDefaultAction(self.act_import)
        imp.setText("Import…")
        imp.setToolTip("Import a folder (Ctrl+I)")
        imp.setStyleSheet(
            "QToolButton { background-color: #3b76d9; border: 1px solid #4f8df5; color: white;"
            " padding: 4px 12px; border-radius: 5px; }"
            "QToolButton:hover { background-color: #4f8df5; }"
        )
        tb.addWidget(imp)
        tb.addSeparator()

        def label(text: str) -> QLabel:
            lab = QLabel(text)
            lab.setProperty("role", "dim")
            lab.setContentsMargins(8, 0, 4, 0)
            return lab

        self.sort_combo = QComboBox(self)
        for key, text in SORTS:
            self.sort_combo.addItem(text, key)
        self.sort_combo.setCurrentIndex([k for k, _ in SORTS].index(self._sort))
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
            combo.activated.connect(lambda _i: self._focus_current_view())
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
        self.side_panel.ratingRequested.connect(self.set_rating)
        self.side_panel.flagRequested.connect(self.set_flag)
        self.side_panel.colorLabelRequested.connect(self.set_color_label)
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
        self.skipped_button = QToolButton(self)
        self.skipped_button.setAutoRaise(True)
        self.skipped_button.setStyleSheet("QToolButton { color: #e8c547; }")
        self.skipped_button.clicked.connect(self.show_skipped_files)
        self.skipped_button.setVisible(False)
        sb.addPermanentWidget(self.skipped_button)
        self.resume_button = QToolButton(self)
        self.resume_button.setText("Resume interrupted import")
        self.resume_button.setVisible(False)
        self.resume_button.clicked.connect(self.resume_interrupted_imports)
        sb.addPermanentWidget(self.resume_button)
        self.import_label = QLabel("")
        self.import_label.setProperty("role", "dim")
        self.import_progress = QProgressBar(self)
        self.import_progress.setFixedWidth(220)
        self.import_progress.setMaximumHeight(16)
        self.import_progress.setTextVisible(True)
        self.import_cancel = QToolButton(self)
        self.import_cancel.setText("Cancel")
        self.import_cancel.setToolTip("Stop the import: everything imported so far is kept")
        self.import_cancel.clicked.connect(self.cancel_import)
        for w in (self.import_label, self.import_progress, self.import_cancel):
            w.setVisible(False)
            sb.addPermanentWidget(w)
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
            show = self._action(f"Show {dock.windowTitle()}", lambda d=dock: self._raise_panel(d), shortcut)
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
        if name == "loupe":
            self._sync_loupe()
        elif name == "grid":
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

    def _focus_current_view(self) -> None:
        w = self.stack.currentWidget()
        if w is not None:
            w.setFocus(Qt.FocusReason.OtherFocusReason)

    # ================================================================== selection
    def selected_ids(self) -> list[int]:
        """Selected photo ids in grid order."""
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.model.id_at(r) for r in rows if self.model.id_at(r) is not None]

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
        self._select_rows(rows, cur_row)

    def select_none(self) -> None:
        self.grid.selectionModel().clearSelection()

    def _select_rows(self, rows, current: Optional[int] = None) -> None:
        sm = self.grid.selectionModel()
        sel = QItemSelection()
        rows = sorted(set(rows))
        if rows:
            start = prev = rows[0]
            for r in rows[1:] + [None]:
                if r is not None and r == prev + 1:
                    prev = r
                    continue
                sel.select(self.model.index(start, 0), self.model.index(prev, 0))
                if r is not None:
                    start = prev = r
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
        if self.current_view() == "loupe":
            self._sync_loupe()
        self.currentPhotoChanged.emit(self.current_id())

    def _selection_settled(self) -> None:
        ids = self.selected_ids()
        self._update_side_panel(len(ids))
        if self.current_view() == "loupe":
            self._sync_loupe()
        self._update_count_label(len(ids))
        self.selectionChanged.emit(ids)
        self.currentPhotoChanged.emit(self.current_id())

    # ================================================================== culling
    def set_rating(self, rating: int) -> Optional[Change]:
        ids = self.target_ids()
        if not ids:
            return None
        change = self.undo_stack.push(self.catalog.set_rating(ids, rating))
        self._say(f"{'Cleared the rating of' if not rating else 'Rated'} {_n(ids)}" + (f" {'★' * rating}" if rating else ""))
        return change

    def set_flag(self, flag: int) -> Optional[Change]:
        ids = self.target_ids()
        if not ids:
            return None
        change = self.undo_stack.push(self.catalog.set_flag(ids, flag))
        self._say({1: "Picked", -1: "Rejected", 0: "Unflagged"}[flag] + f" {_n(ids)}")
        return change

    def set_color_label(self, label: Optional[str]) -> Optional[Change]:
        ids = self.target_ids()
        if not ids:
            return None
        change = self.undo_stack.push(self.catalog.set_color_label(ids, label))
        self._say(f"Colour label {label or 'removed'}: {_n(ids)}")
        return change

    def undo(self) -> Optional[Change]:
        change = self.undo_stack.undo()
        self._say(f"Undid {_describe(change)}" if change else "Nothing to undo")
        return change

    def redo(self) -> Optional[Change]:
        change = self.undo_stack.redo()
        self._say(f"Redid {_describe(change)}" if change else "Nothing to redo")
        return change

    def _update_undo_actions(self) -> None:
        self.act_undo.setEnabled(True)  # kept enabled so the shortcut always answers (with "Nothing to undo")
        self.act_redo.setEnabled(True)

    def _on_catalog_change(self, change: Change) -> None:
        """Every mutation of the GUI catalog (from any widget, undo/redo included) passes here."""
        self.model.apply_change(change)
        cur = self.current_id()
        if cur is not None and cur in change.photo_ids:
            rec = self.model.record(cur)
            if rec is not None:
                self.side_panel.set_culling(rec.rating, rec.flag, rec.color_label)
                self.loupe.update_record(rec)
        if change.kind == "scores":
            self.schedule_refresh()
        elif self._view_depends_on(change.field):
            self.schedule_refresh()
        self.catalogChanged.emit(change)

    def _view_depends_on(self, field: str) -> bool:
        if field == "rating":
            return self._sort == "rating" or self._min_rating > 0
        if field == "flag":
            return self._flag_filter != "all"
        return False

    def schedule_refresh(self) -> None:
        """Refresh once, after the current event (several changes in a row cost one query)."""
        if not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(0, self._do_scheduled_refresh)

    def _do_scheduled_refresh(self) -> None:
        if self._closed:  # a late signal after the window closed its catalog
            return
        if self._refresh_pending:
            self._refresh_pending = False
            self.refresh(keep_selection=True, resort=False)

    # ================================================================== sorting, filtering, refresh
    def set_sort(self, key: str) -> None:
        if key not in dict(SORTS):
            raise ValueError(f"unknown sort {key!r}")
        self._sort = key
        self.sort_actions[key].setChecked(True)
        self.sort_combo.setCurrentIndex([k for k, _ in SORTS].index(key))
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
        _label, flag, include_rejected = FLAG_FILTERS[self._flag_filter]
        if self._flag_filter.startswith("tech:"):
            from piaa_desktop.core.flags import flag_filter

            where, params = flag_filter(self.catalog, self._flag_filter[5:])
            ids = self.catalog.query_ids(
                sort=self._sort,
                folder_id=self._folder_id,
                min_rating=self._min_rating,
                flag=flag,
                include_rejected=include_rejected,
                extra_where=where,
                extra_params=params,
            )
        else:  # sorted in memory from the records the refresh just loaded: no query on the GUI thread
            ids = sort_and_filter(
                self.model.records(), self._sort, self._folder_id, self._min_rating, flag, include_rejected
            )
        if self.collapse_stacks:
            ids = self._collapse(ids)
        return ids

    def _collapse(self, ids: list[int]) -> list[int]:
        """Bursts and near-duplicates shown as their best member (by personal, else generic score)."""
        from piaa_desktop.core.stacks import best_of_stacks, collapse_ids, find_stacks

        stacks = find_stacks(self.catalog, max_gap_s=self.settings.get("stack_max_gap_s"),
                             max_dist=self.settings.get("stack_max_dist"), ids=ids)
        if not stacks:
            return ids
        return collapse_ids(ids, stacks, best_of_stacks(self.catalog, stacks))

    def set_collapse_stacks(self, on: bool) -> None:
        self.collapse_stacks = bool(on)
        self.act_collapse.setChecked(self.collapse_stacks)
        self.refresh(keep_selection=True)

    def refresh(self, keep_selection: bool = True, reload: bool = True, resort: bool = True) -> None:
        """Reload photos and scores from the catalog and re-query the grid (sort and filters).

        ``reload=False`` re-sorts and re-filters the records already in memory (a new sort or filter).

        ``resort=False`` (the automatic refreshes: new scores from background training, a rating that
        would move a photo, an import's new photos) holds the order on screen still: photos keep their
        places (those the filters now leave out go), new ones join at the end, and "new order ready" is shown until :meth:`refresh_order`
        (F5, the hint, a new sort or filter, leaving the loupe).

        With ``keep_selection`` the selected photos stay selected and the current photo stays current
        (if they still pass the filters; else the photo now at the current row becomes current).
        """
        t0 = time.perf_counter()
        sel = self.selected_ids() if keep_selection else []
        cur = self.current_id() if keep_selection else None
        cur_idx = self.grid.currentIndex()
        cur_row = cur_idx.row() if cur_idx.isValid() else None
        old = self.model.records()
        # A new sort or filter reuses the records in memory (kept current by catalog changes).
        records = load_records(self.catalog) if reload or not old else old
        changed = [pid for pid, r in records.items() if pid in old and old[pid].content_hash != r.content_hash]
        if changed:
            self.thumbs.invalidate(changed)
            self.loupe.clear_cache()
        shown = self.model.ids()
        self.model.set_records(records)
        fresh = self.query_ids()
        ids = fresh if resort or not shown else hold_order(shown, fresh)
        self._restoring = True
        try:
            self.model.set_ids(ids)
        finally:
            self._restoring = False
        self._set_order_stale(self.model.ids() != fresh)
        n = self.model.rowCount()
        if keep_selection and n:
            rows = [r for r in (self.model.row_of(i) for i in sel) if r is not None]
            new_cur = self.model.row_of(cur) if cur is not None else None
            if new_cur is None:
                # the current photo left the view (filter) or there was none yet: the one at its row, or the first
                new_cur = min(cur_row, n - 1) if cur_row is not None else 0
                if not rows:
                    rows = [new_cur]
            self._select_rows(rows, new_cur)
            if new_cur is not None:
                self.grid.scrollTo(self.model.index(new_cur, 0))
        else:
            self._selection_settled()
        self._update_folders(records)
        self._update_count_label()
        if self.current_view() == "loupe" and self.current_id() is None:
            self.show_view("grid")
        self.last_refresh_s = time.perf_counter() - t0
        self.libraryRefreshed.emit()

    def refresh_order(self) -> None:
        """Re-sort now (F5 / the "new order ready" hint): the held order gives way to the current sort."""
        self.refresh(keep_selection=True, reload=False)
        self._say("Re-sorted")

    def order_is_stale(self) -> bool:
        """True while the order on screen is held and differs from the sort (the hint is shown)."""
        return self._order_stale

    def _set_order_stale(self, stale: bool) -> None:
        if stale == self._order_stale:
            return
        self._order_stale = stale
        self._order_hint_action.setVisible(stale)
        if self.current_view() == "loupe":
            self._sync_loupe()

    def _technical_flags(self, photo_id: int) -> set[str]:
        from piaa_desktop.core.flags import technical_flags

        return technical_flags(self.catalog.signals([photo_id]).get(photo_id))

    def refresh_scores(self) -> None:
        """Scores changed (a re-trained personal model): update them in the records without reloading the
        library (one query, not three, on the GUI thread). The order holds still (see :meth:`refresh`)."""
        records = self.model.records()
        if not records:
            self.refresh(keep_selection=True)
            return
        for kind in ("generic", "personal"):
            scores = self.catalog.scores(kind)
            for pid, rec in records.items():
                setattr(rec, kind, scores.get(pid))
        self.refresh(keep_selection=True, reload=False, resort=False)

    def _update_folders(self, records) -> None:
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
        self._focus_current_view()

    def _update_count_label(self, n_selected: Optional[int] = None) -> None:
        n = self.model.rowCount()
        if n_selected is None:
            n_selected = len(self.grid.selectionModel().selectedIndexes())
        text = f"{n} photo{'s' if n != 1 else ''}"
        if n_selected > 1:
            text += f" · {n_selected} selected"
        self.count_label.setText(text)

    # ================================================================== side panel and loupe
    def _update_side_panel(self, n_selected: Optional[int] = None) -> None:
        pid = self.current_id()
        if pid is None:
            self.side_panel.show_photo(None)
            return
        photo = self.catalog.photo(pid)
        if photo is None:
            self.side_panel.show_photo(None)
            return
        if n_selected is None:
            n_selected = len(self.grid.selectionModel().selectedIndexes())
        self.side_panel.show_photo(
            photo,
            self.catalog.score_detail(pid),
            self.catalog.signals([pid]).get(pid),
            n_selected=n_selected,
        )

    def _sync_loupe(self) -> None:
        pid = self.current_id()
        rec = self.model.record(pid) if pid is not None else None
        if rec is None:
            self.loupe.set_photo(None)
            return
        row = self.model.row_of(pid)
        position = f"{row + 1} of {self.model.rowCount()}"
        if self._order_stale:
            position = "new order ready (F5)  ·  " + position
        self.loupe.set_photo(rec, self.thumbs.pixmap(pid), position)
        neighbours = [self.model.record(self.model.id_at(r)) for r in (row + 1, row - 1) if self.model.id_at(r) is not None]
        self.loupe.prefetch(neighbours)

    def image_loader(self, photo_id: int) -> QImage:
        """The photo's thumbnail as a QImage (cached pixmap, else the disk cache); null QImage if none.

        Synchronous but cheap (a ~512 px JPEG decode at worst): for other widgets (ranking, compare).
        """
        pm = self.thumbs.pixmap(photo_id)
        if pm is not None:
            return pm.toImage()
        rec = self.model.record(photo_id)
        if rec is None:
            photo = self.catalog.photo(photo_id)
            if photo is None:
                return QImage()
            content_hash = photo.content_hash
        else:
            content_hash = rec.content_hash
        from piaa_desktop.core.thumbnails import load_thumbnail

        arr = load_thumbnail(self.paths.thumbnails, content_hash)
        return array_to_qimage(arr) if arr is not None else QImage()

    def set_cell_size(self, size: int) -> None:
        self.grid.set_cell_size(size)
        if self.size_slider.value() != self.grid.cell_size():
            self.size_slider.blockSignals(True)
            self.size_slider.setValue(self.grid.cell_size())
            self.size_slider.blockSignals(False)

    def _toggle_scores(self) -> None:
        self.grid.delegate.show_scores = self.act_scores.isChecked()
        self.settings.set("grid_show_scores", self.grid.delegate.show_scores)
        self.grid.viewport().update()

    # ================================================================== import
    def ask_import_folder(self) -> None:
        start = self.settings.get("last_library") or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of photos", start, QFileDialog.Option.ShowDirsOnly)
        if folder:
            self.import_folder(folder)

    def import_running(self) -> bool:
        return self._import_handle is not None and not self._import_handle.done

    def import_folder(self, folder: os.PathLike | str) -> Optional[JobHandle]:
        """Import ``folder`` in the background (queued if an import is running). Returns its job handle."""
        folder = str(Path(folder).expanduser())
        if not Path(folder).is_dir():
            self._say(f"Cannot import {folder}: not a folder")
            box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, f"Cannot import {folder}: it is not a folder.", parent=self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()  # non-blocking
            return None
        if self._import_handle is not None:
            self._import_queue.append(folder)
            self._say(f"Import of {os.path.basename(folder)} queued")
            return None
        self._import_folder = folder
        self._last_incremental = time.monotonic()
        token = CancelToken()
        self.import_label.setText(f"Importing {os.path.basename(folder.rstrip(os.sep)) or folder}…")
        self.import_progress.setRange(0, 0)
        self.import_cancel.setEnabled(True)
        self.import_cancel.setText("Cancel")
        for w in (self.import_label, self.import_progress, self.import_cancel):
            w.setVisible(True)
        self.act_cancel_import.setEnabled(True)
        self._import_handle = run_job(
            import_job,
            str(self.paths.catalog),
            folder,
            str(self.paths.thumbnails),
            str(self.paths.backups),
            settings=self.settings,
            on_result=self._on_import_result,
            on_error=self._on_import_error,
            on_progress=self._on_import_progress,
            on_finished=self._on_import_finished,
            cancel_token=token,
            name="import",
        )
        self._say(f"Importing {folder}")
        return self._import_handle

    def cancel_import(self) -> None:
        if self._import_handle is not None and not self._import_handle.done:
            self._import_handle.cancel()
            self._import_queue.clear()
            self.import_cancel.setEnabled(False)
            self.import_cancel.setText("Cancelling…")
            self._say("Cancelling the import: what is already imported is kept")

    def _on_import_progress(self, done: int, total: int, message: str) -> None:
        if self._closed:  # a late signal after the window closed its catalog
            return
        if total > 0:
            self.import_progress.setRange(0, total)
            self.import_progress.setValue(done)
        else:
            self.import_progress.setRange(0, 0)
        if message:
            self.import_progress.setFormat(f"{message}  %p%" if total else message)
            self.import_label.setText(message if total == 0 else message.split(" of ")[0].rstrip("0123456789 ") or message)
        # Show photos as they arrive: a refresh every 2 s while the scan commits batches
        # (at most ~10% of the GUI thread's time: big libraries refresh less often)
        now = time.monotonic()
        if message.startswith("Imported") and now - self._last_incremental > max(2.0, 10 * self.last_refresh_s):
            self.refresh(keep_selection=True, resort=False)
            self._last_incremental = time.monotonic()

    def _on_import_result(self, result) -> None:
        if self._closed:  # a late signal after the window closed its catalog
            return
        self.last_import_result = result
        name = os.path.basename(result.folder) if getattr(result, "folder", "") else "folder"
        if result.cancelled:
            self._say(f"Import of {name} cancelled: {result.summary()}. What was imported is kept; import again to finish.")
        else:
            extra = ""
            if result.warnings:
                extra = " · " + "; ".join(result.warnings)
            self._say(f"Imported {name}: {result.summary()} in {result.seconds:.1f} s{extra}")
        was_empty = self.model.rowCount() == 0
        self.refresh(keep_selection=True, resort=False)  # new photos join at the end of a running pass
        if was_empty and self.model.rowCount():
            self._select_rows([0], 0)
        self._update_skipped_button()
        if self._import_folder:
            self.settings.set("last_library", self._import_folder)
        self.importFinished.emit(result)

    def _on_import_error(self, exc: BaseException) -> None:
        if self._closed:  # a late signal after the window closed its catalog
            return
        if isinstance(exc, Cancelled):
            self._say("Import cancelled")
        else:
            handle = self._import_handle
            detail = handle.traceback if handle is not None else ""
            self._say(f"Import failed: {exc}")
            box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, f"The import stopped: {exc}", parent=self)
            box.setInformativeText("What was imported before the error is kept in the catalog.")
            if detail:
                box.setDetailedText(detail)
            box.open()  # non-blocking
        self.refresh(keep_selection=True)
        self._update_skipped_button()
        self.importFinished.emit(exc)

    def _on_import_finished(self) -> None:
        if self._closed:  # a late signal after the window closed its catalog
            return
        self._import_handle = None
        for w in (self.import_label, self.import_progress, self.import_cancel):
            w.setVisible(False)
        self.act_cancel_import.setEnabled(False)
        if self._import_queue:
            nxt = self._import_queue.pop(0)
            QTimer.singleShot(0, lambda: self.import_folder(nxt))

    def _update_skipped_button(self) -> None:
        n = len(self.catalog.import_errors())
        self.skipped_button.setText(f"⚠ {n} skipped file{'s' if n != 1 else ''}")
        self.skipped_button.setVisible(n > 0)

    def show_skipped_files(self):
        from piaa_desktop.gui.dialogs import SkippedFilesDialog

        dlg = SkippedFilesDialog(self.catalog.import_errors(), self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        self._skipped_dialog = dlg
        return dlg

    # -- start-up recovery: jobs a crash left behind, damaged catalog, stray temp files, models
    def _check_interrupted_jobs(self) -> None:
        """Cheap part, at construction: only the skipped-files notice (recovery runs off-thread)."""
        self._update_skipped_button()

    def run_startup_checks(self, then: Optional[Callable[[], None]] = None) -> Optional[JobHandle]:
        """Run :func:`piaa_desktop.core.recovery.recover` on a worker (its own connection): marks jobs of
        dead processes interrupted, checks the catalog, cleans stray temp files, verifies the models.
        Its messages go to the status bar; interrupted imports get a "Resume" button.
        Called by :func:`piaa_desktop.gui.app.main` once the window is shown; ``then`` runs after it
        (the import of a folder given on the command line: recovery cleans temp files first)."""

        def finished() -> None:
            if then is not None and not self._closed:
                then()

        return run_job(
            startup_recovery_job,
            str(self.paths.catalog),
            self.paths,
            on_result=self._on_recovery,
            on_error=lambda exc: self._say(f"Start-up checks failed: {exc}"),
            on_finished=finished,
            name="recovery",
        )

    def _on_recovery(self, report) -> None:
        if self._closed:
            return
        self.recovery_report = report
        messages = list(report)
        if messages:
            more = f" (+{len(messages) - 1} more, see tooltip)" if len(messages) > 1 else ""
            self._say(messages[0] + more)
            self.status_label.setToolTip("\n".join(messages))
        self._interrupted = list(report.resumable)
        folders = [j["args"].get("folder", "") for j in self._interrupted if j["args"].get("folder")]
        if folders:
            self.resume_button.setText(
                "Resume interrupted import" + (f"s ({len(folders)})" if len(folders) > 1 else "")
            )
            self.resume_button.setToolTip("Did not finish last time (finished photos are kept):\n" + "\n".join(folders))
        self.resume_button.setVisible(bool(folders))
        self._update_skipped_button()

    def resume_interrupted_imports(self) -> None:
        from piaa_desktop.core import recovery

        folders = []
        wanted = {j["args"].get("folder") for j in self._interrupted}
        for j in recovery.interrupted_jobs(self.catalog):
            f = j["args"].get("folder")
            if j["kind"] != "import" or f not in wanted:
                continue
            alive = bool(f) and Path(f).is_dir()
            recovery.dismiss_job(self.catalog, j["id"], "resumed" if alive else "abandoned")
            if alive and f not in folders:
                folders.append(f)
        self._interrupted = []
        self.resume_button.setVisible(False)
        for f in folders:
            self.import_folder(f)

    # ================================================================== help, welcome
    def show_shortcuts(self):
        from piaa_desktop.gui.about import ShortcutsDialog

        dlg = ShortcutsDialog(self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def show_about(self):
        from piaa_desktop.gui.about import AboutDialog

        dlg = AboutDialog(self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg

    def maybe_show_welcome(self) -> bool:
        """First run (settings ``first_run_done`` false): the welcome dialog, then import what it chose.
        Called by :func:`piaa_desktop.gui.app.main` after the window is shown."""
        if self.settings.get("first_run_done"):
            return False
        from piaa_desktop.core.sample import copy_sample_library
        from piaa_desktop.gui.welcome import WelcomeDialog

        sample = None
        if self.catalog.count_photos() == 0:
            # Something to look at at once: the bundled samples import in the background while the
            # welcome is read (a copy in the data dir: sidecars and edits never touch the install).
            try:
                sample = copy_sample_library(self.paths.data_dir)
                self.import_folder(sample)
            except OSError as exc:
                self._say(f"Sample library not copied: {exc}")
        dlg = WelcomeDialog(self, data_dir=self.paths.data_dir)
        accepted = dlg.exec()
        self.settings.set("first_run_done", True)
        self.save_settings()
        folder = dlg.chosen_folder() if accepted else None
        if folder and (sample is None or Path(folder).resolve() != Path(sample).resolve()):
            self.import_folder(folder)
        return True

    # ================================================================== misc
    def _say(self, text: str) -> None:
        self.status_label.setText(text)

    def status_text(self) -> str:
        return self.status_label.text()

    def save_settings(self) -> None:
        try:
            self.settings.set("thumbnail_size", max(64, min(1024, int(round(self.grid.cell_size() / 0.7)))))
            self.settings.save(self.paths.settings_file)
        except (OSError, ValueError) as exc:
            self._say(f"Could not save the settings: {exc}")

    def closeEvent(self, event) -> None:
        if self._closed:
            super().closeEvent(event)
            return
        if self._import_handle is not None and not self._import_handle.done:
            self._import_handle.cancel()
            self._import_queue.clear()
            self._import_handle.wait(30.0)
        self.save_settings()
        self.features.shutdown()  # pending develop edits written, background training stopped
        self.thumbs.shutdown()
        self.loupe.shutdown()
        try:
            self.catalog.on_change.remove(self._on_catalog_change)
        except ValueError:
            pass
        self._closed = True
        self.catalog.close()
        super().closeEvent(event)


def _n(ids) -> str:
    return f"{len(ids)} photo{'s' if len(ids) != 1 else ''}"


def _describe(change: Optional[Change]) -> str:
    if change is None:
        return ""
    what = {"rating": "rating", "flag": "flag", "color_label": "colour label", "params": "edit"}.get(change.field, change.field)
    return f"{what} of {_n(change.photo_ids)}"

