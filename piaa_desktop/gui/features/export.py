"""Export (Ctrl+E): picks, top N / top % or K stars and up among the photos shown (the grid's folder,
search, collection and filters) or the whole library, optionally with edits, resized, as JPEG, PNG or
16-bit TIFF in sRGB, Display P3 or Adobe RGB with output sharpening, in a dialog that runs :func:`piaa_desktop.core.export.export_photos` through the window's jobs manager."""
from __future__ import annotations

from piaa_desktop.gui.features.base import Feature


class ExportFeature(Feature):
    name = "export"

    def __init__(self, win):
        super().__init__(win)
        self.act_export = win.add_action("&Export…", self.show_export, "Ctrl+E", "Export picks, top photos or a selection")
        quit_action = win.quit_action
        win.menu("file").insertAction(quit_action, self.act_export)
        win.menu("file").insertSeparator(quit_action)

    def show_export(self):
        from piaa_desktop.gui.export_dialog import ExportDialog

        dlg = ExportDialog(self.win.catalog, self.win.selected_ids(), self.win.settings, self.win, jobs=self.win.jobs,
                           view_ids=self.win.model.ids(), scope=self.win.scope_text())
        dlg.exportFinished.connect(self._say_result)
        dlg.open()
        return dlg

    def _say_result(self, result) -> None:
        """The status bar says what the export did (the dialog may be closed by then)."""
        from piaa_desktop.core.export import ExportReport

        if isinstance(result, ExportReport):
            said = result.describe()
            self.win.say(said[:1].upper() + said[1:])
