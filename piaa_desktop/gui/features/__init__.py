"""The window's features, one module each; the window installs them in this order.

===========  ====================================================================================
loupe        the loupe follows the current photo (place in the order, EXIF line, neighbours decoded
             ahead, edits and ratings as they change), arrows step, double-click opens it, full screen
culling      rating, pick/reject, colour labels, undo/redo, XMP sidecars after every change,
             keep best of each stack
importing    import a folder (progress, cancel, queue), skipped files, start-up recovery and resume,
             first-run welcome with the sample library
compare      compare (C) and survey (N) central views
ranking      "which do you prefer?" (R) and drag-to-reorder (O) central views
develop      develop panel (D), auto-enhance (E), learn my retouching style
export       export dialog (Ctrl+E)
personal     personal model re-trained in the background, reset, re-scoring after imports,
             the "why this score" explanation in the Info panel
faces        faces pass after import (closed eyes, soft faces): grid badges, Info panel's faces
library      search bar (Ctrl+F), library tree (folders, collections, smart collections), keyword
             panel (Ctrl+K)
trash        move rejected to the system trash (Ctrl+Backspace), undoable; restore
help         keyboard shortcuts (F1), about
===========  ====================================================================================

A new feature: a module here with a :class:`~piaa_desktop.gui.features.base.Feature` subclass, added
to ``FEATURES``. ``win.features.<name>`` is the installed object.
"""
from __future__ import annotations

import importlib

FEATURES = (
    ("loupe", "LoupeFeature"),  # first: the loupe shows a new current photo before other features hear of it
    ("culling", "CullingFeature"),
    ("importing", "ImportFeature"),
    ("compare", "CompareFeature"),
    ("ranking", "RankingFeature"),
    ("develop", "DevelopFeature"),
    ("export", "ExportFeature"),
    ("personal", "PersonalFeature"),
    ("faces", "FacesFeature"),
    ("library", "LibraryFeature"),
    ("trash", "TrashFeature"),
    ("help", "HelpFeature"),
)


class Features:
    """The installed features of one window, by name: ``win.features.develop``."""

    def __init__(self):
        self._order: list[str] = []

    def add(self, name: str, feature) -> None:
        setattr(self, name, feature)
        self._order.append(name)

    def __iter__(self):
        return (getattr(self, n) for n in self._order)

    def names(self) -> list[str]:
        return list(self._order)

    def shutdown(self) -> None:
        """Before the catalog closes, in reverse order of installation."""
        for name in reversed(self._order):
            getattr(self, name).shutdown()


def install(win) -> Features:
    features = Features()
    win.features = features
    for module, cls in FEATURES:
        mod = importlib.import_module(f"{__name__}.{module}")
        features.add(module, getattr(mod, cls)(win))
    return features
