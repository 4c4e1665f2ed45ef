"""Work around reference-count bugs of PySide6 6.12 on CPython 3.10/3.11.

Measured here with PySide6 6.12.0 (the cp310-abi3 wheel) on CPython 3.11.7:

* every ``SignalInstance.emit()`` called from Python returns ``True`` without taking a reference,
  so each emit drops one reference to ``True``;
* methods that return an empty QVariant or void (``QAbstractItemModel.data()`` of an empty role,
  ``QCoreApplication.processEvents()``) return ``None`` without taking a reference.

On CPython 3.12+ ``None``/``True``/``False`` are immortal and these bugs are invisible; on 3.10/3.11
the counts reach zero after a few hundred signals (``Fatal Python error: bool_dealloc`` /
``none_dealloc``) and the app aborts. :func:`protect_singletons` detects the bug with a probe and,
only then, gives these three singletons 2**40 extra references: what 3.12 calls immortal. Nothing
else is touched, and nothing happens on a fixed PySide6 or on 3.12+.
"""
from __future__ import annotations

import ctypes
import sys

_EXTRA = 1 << 40
_done = False


def pyside_drops_references() -> bool:
    """True if this PySide6 loses references to True (emit) or None (empty QVariant)."""
    from PySide6.QtCore import QObject, QStringListModel, Qt, Signal

    class _Probe(QObject):
        ping = Signal()

    p = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        p.ping.emit()
    lost_true = sys.getrefcount(True) < before - 4
    m = QStringListModel(["probe"])
    idx = m.index(0, 0)
    before = sys.getrefcount(None)
    for _ in range(8):
        m.data(idx, Qt.ItemDataRole.DecorationRole)  # an empty QVariant
    lost_none = sys.getrefcount(None) < before - 4
    return lost_true or lost_none


def protect_singletons(force: bool = False) -> bool:
    """Make None, True and False effectively immortal if (and only if) PySide6 needs it. Idempotent.

    Returns True when the protection is in place.
    """
    global _done
    if _done:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not force and not pyside_drops_references():
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every CPython object (Py_ssize_t), before 3.12's split counts.
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA
    _done = True
    return True
