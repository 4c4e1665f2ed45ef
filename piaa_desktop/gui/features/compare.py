"""Compare (C: two photos side by side, synchronised zoom and pan) and survey (N: a selection at once)
central views, rebuilt from the selection each time they are shown."""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from piaa_desktop.gui.features.base import Feature


class _Rebuilt(QWidget):
    """A central view whose content is rebuilt from the selection each time it is shown."""

    def __init__(self, factory, parent=None):
        super().__init__(parent)
        self.factory = factory
        self.inner: Optional[QWidget] = None
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel("Select two or more photos in the grid first.")
        self._lay.addWidget(self.empty)

    def rebuild(self, ids: list[int]) -> None:
        if self.inner is not None:
            self.inner.setParent(None)
            self.inner.deleteLater()
            self.inner = None
        self.empty.setVisible(len(ids) < 2)
        if len(ids) >= 2:
            self.inner = self.factory(ids)
            self._lay.addWidget(self.inner)
            self.inner.setFocus()


class CompareFeature(Feature):
    name = "compare"

    def __init__(self, win):
        super().__init__(win)
        from piaa_desktop.gui.compare_view import CompareView, SurveyView

        w = self.win
        self.compare = _Rebuilt(lambda ids: CompareView(w.catalog, ids, w.image_loader, w.undo_stack))
        self.survey = _Rebuilt(lambda ids: SurveyView(w.catalog, ids, w.image_loader, w.undo_stack))
        w.add_view("compare", self.compare, "C", title="Compare")
        w.add_view("survey", self.survey, "N", title="Survey")
        w.viewChanged.connect(self._on_view_changed)

    def _on_view_changed(self, name: str) -> None:
        if name == "compare":
            self.compare.rebuild(self.win.compare_ids())
        elif name == "survey":
            self.survey.rebuild(self.win.compare_ids())
