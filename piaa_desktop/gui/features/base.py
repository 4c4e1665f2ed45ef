"""What every feature module of the window derives from.

A feature is a ``Feature`` subclass in its own module of :mod:`piaa_desktop.gui.features`. It gets the
window in ``__init__`` and uses only the window's public API (see :mod:`piaa_desktop.gui.main_window`):

* ``win.catalog``, ``win.undo_stack``, ``win.paths``, ``win.settings``, ``win.jobs`` (a
  :class:`~piaa_desktop.gui.jobs.JobsManager`), ``win.model`` (the grid's records), ``win.side_panel``
* ``win.selected_ids()``, ``win.target_ids()``, ``win.current_id()``, ``win.select_ids(ids)``,
  ``win.refresh()``, ``win.refresh_scores()``, ``win.say(text)``, ``win.image_loader(id)``
* ``win.add_action(text, slot, shortcut, tip)``, ``win.menu("file" | "edit" | "photo" | "view" | "help")``,
  ``win.add_view(name, widget, key)``, ``win.add_panel(name, widget, key)``, ``win.add_status_widget(w)``,
  ``win.add_toolbar_widget(w)``, ``win.register_culling_actions(actions)``
* signals ``selectionChanged``, ``currentPhotoChanged``, ``positionChanged``, ``catalogChanged``,
  ``viewChanged``, ``importFinished``, ``libraryRefreshed``

Features never import each other: they talk through the window's signals and the catalog.
"""
from __future__ import annotations

from PySide6.QtCore import QObject


class Feature(QObject):
    """One feature of the window (a module under ``gui/features``); ``shutdown()`` runs before the
    window closes its catalog (write what is pending, stop background jobs)."""

    name = ""

    def __init__(self, win):
        super().__init__(win)
        self.win = win

    def shutdown(self) -> None:
        pass
