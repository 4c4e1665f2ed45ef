"""Mouse gestures for GUI tests, sent as the window system sends them."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication


def drag(widget, start, end) -> None:
    """A left-button drag from ``start`` to ``end`` (widget coordinates), as the mouse sends it."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    for typ, pos, button, buttons in ((QEvent.Type.MouseButtonPress, start, left, left),
                                      (QEvent.Type.MouseMove, mid, none, left),
                                      (QEvent.Type.MouseMove, end, none, left),
                                      (QEvent.Type.MouseButtonRelease, end, left, none)):
        p = QPointF(*pos)
        ev = QMouseEvent(typ, p, widget.mapToGlobal(p), button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)


def wheel(widget, pos, dy, mods=Qt.KeyboardModifier.NoModifier) -> None:
    """One wheel notch (``dy`` = 120 up, -120 down) at ``pos`` (widget coordinates)."""
    p = QPointF(*pos)
    ev = QWheelEvent(p, widget.mapToGlobal(p), QPoint(0, 0), QPoint(0, dy), Qt.MouseButton.NoButton, mods,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def open_window(qtbot, paths, active: bool = False):
    """The real main window on ``paths`` (1280 x 800, shown); ``active``: exposed and the active window
    (for tests that send keys through the application)."""
    from piaa_desktop.gui.main_window import MainWindow

    w = MainWindow(paths)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    if active:
        qtbot.waitExposed(w)
        w.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    return w
