"""The PySide6 layer of PIAA Desktop."""
from piaa_desktop.gui.pyside_compat import protect_singletons as _protect_singletons

# PySide6 6.12 drops references to None/True on CPython < 3.12 (see pyside_compat): guard first.
_protect_singletons()
