"""Ranking: "which do you prefer?" (R) and drag-to-reorder (O) central views. Each answer is saved as a
preference in the catalog (the personal feature re-trains on the catalog change)."""
from __future__ import annotations

from piaa_desktop.gui.features.base import Feature


class RankingFeature(Feature):
    name = "ranking"

    def __init__(self, win):
        super().__init__(win)
        from piaa_desktop.gui.ranking_view import RankingView
        from piaa_desktop.gui.reorder_view import ReorderView

        self.ranking = RankingView(win.catalog, win.image_loader, jobs=win.jobs)
        win.add_view("ranking", self.ranking, "R", title="Rank")
        self.ranking.photoInspected.connect(self._inspect)
        self.reorder = ReorderView(win.catalog, win.image_loader, jobs=win.jobs)
        win.add_view("reorder", self.reorder, "O", title="Order")
        win.viewChanged.connect(self._on_view_changed)
        win.scoresChanged.connect(self.ranking.refresh)

    def shutdown(self) -> None:
        self.ranking.shutdown()

    def _inspect(self, photo_id: int) -> None:
        """The Info panel follows the pair (only while the ranking is on screen)."""
        if self.win.current_view() == "ranking":
            self.win.inspect_photo(photo_id)

    def _on_view_changed(self, name: str) -> None:
        if name == "ranking":
            self.ranking.refresh()
        elif name == "reorder":
            self.reorder.set_photos(self.win.compare_ids())
