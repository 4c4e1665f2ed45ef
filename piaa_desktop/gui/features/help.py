"""Help: keyboard shortcuts (F1) and About."""
from __future__ import annotations

from PySide6.QtCore import Qt

from piaa_desktop import APP_NAME
from piaa_desktop.gui.features.base import Feature


class HelpFeature(Feature):
    name = "help"

    def __init__(self, win):
        super().__init__(win)
        self.act_shortcuts = win.add_action("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = win.add_action(f"&About {APP_NAME}", self.show_about)
        m = win.menu("help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

    def show_shortcuts(self):
        from piaa_desktop.gui.about import ShortcutsDialog

        dlg = ShortcutsDialog(self.win)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def show_about(self):
        from piaa_desktop.gui.about import AboutDialog

        dlg = AboutDialog(self.win)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg
