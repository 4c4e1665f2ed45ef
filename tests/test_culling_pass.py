"""A culling pass that holds still: while the user rates in the loupe in Personal-score order, the
background re-training re-scores the library but the order on screen does not move; "new order
ready" is shown, and F5 or leaving the loupe re-sorts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PIL import Image, ImageEnhance, ImageOps  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from piaa_desktop.core.sample import sample_photos  # noqa: E402
from piaa_desktop.core.library import hold_order, sort_and_filter  # noqa: E402
from _gui_helpers import open_window  # noqa: E402


def variant_library(folder: Path, n: int = 16) -> Path:
    """``n`` distinct photos made from the shipped sample library (crops, flips, tone changes)."""
    folder.mkdir(parents=True, exist_ok=True)
    srcs = sample_photos()
    assert len(srcs) >= 4
    for k in range(n):
        im = Image.open(srcs[k % len(srcs)]).convert("RGB")
        im.thumbnail((480, 480))
        v = k // len(srcs)
        if v % 2:
            im = ImageOps.mirror(im)
            w, h = im.size
            im = im.crop((w // 8, h // 8, w - w // 10, h - h // 12))
        im = ImageEnhance.Brightness(im).enhance(1.0 + 0.18 * (v - 0.5))
        im = ImageEnhance.Color(im).enhance(0.6 + 0.25 * v)
        im.save(folder / f"photo_{k:02d}.jpg", quality=90)
    return folder


def test_hold_order_keeps_places_and_appends_new():
    assert hold_order([3, 1, 2], [1, 2, 3, 4]) == [3, 1, 2, 4]
    assert hold_order([3, 1, 2], [2, 1]) == [1, 2]  # a photo the filters (or the library) lost leaves
    assert hold_order([], [5, 4]) == [5, 4]


@pytest.fixture
def window(qtbot, app_paths, imported_templates):
    # 16 variants of the sample photos, as the window's import left them (imported once per worker, copied here)
    imported_templates.restore("variants16", variant_library, app_paths.data_dir)
    w = open_window(qtbot, app_paths, active=True)
    assert w.model.rowCount() == 16
    yield w
    if w.features.personal.training_running():
        qtbot.waitUntil(lambda: not w.features.personal.training_running(), timeout=60_000)
    w.close()


def test_rating_ten_in_a_row_in_personal_order_while_retraining_holds_still(window, qtbot):
    w = window
    w.features.personal.train_timer.setInterval(50)  # re-train right after each rating (1.5 s in real use)
    w.set_sort("personal")
    start = w.model.ids()
    assert len(start) == 16
    w.select_ids([start[0]], start[0])
    QTest.keyClick(w.grid, Qt.Key.Key_Space)
    assert w.current_view() == "loupe"
    loupe = w.loupe
    trainings = []
    w.features.personal.train_handle = None
    visited = []
    stale_seen_in_loupe = False
    for k in range(10):
        visited.append(loupe.current_id())
        assert loupe.current_id() == start[k] and w.current_id() == start[k]
        # rate against the order the pass started with: the first photos are the ones disliked, so
        # every re-training pushes them down (and a re-sort would move the photos under the user)
        QTest.keyClick(loupe, Qt.Key.Key_1 if k % 2 == 0 else Qt.Key.Key_2)
        assert w.catalog.photo(start[k]).rating == (1 if k % 2 == 0 else 2)
        if k % 3 != 2:  # wait for the re-training now and then; otherwise keep typing while it runs
            qtbot.waitUntil(lambda: w.features.personal.training_running() or w.features.personal.last_training not in trainings,
                            timeout=10_000)
            qtbot.waitUntil(lambda: not w.features.personal.training_running() and w.features.personal.last_training is not None,
                            timeout=60_000)
            trainings.append(w.features.personal.last_training)
        assert w.model.ids() == start  # the order on screen has not moved
        stale_seen_in_loupe |= w.order_is_stale()
        QTest.keyClick(loupe, Qt.Key.Key_Right)
    visited.append(loupe.current_id())
    assert visited == start[:11]  # 10 rated, then the 11th: consecutive photos of the starting order
    accepted = [t for t in trainings if getattr(t, "accepted", False)]
    assert accepted, "the personal model was re-trained during the pass"
    # let the last re-training (queued by the last ratings) finish, then: the scores changed, and a
    # re-sort now would give another order
    quiet = lambda: not w.features.personal.train_timer.isActive() and not w.features.personal.training_running()  # noqa: E731
    qtbot.waitUntil(quiet, timeout=60_000)
    qtbot.wait(100)
    qtbot.waitUntil(quiet, timeout=60_000)
    fresh = sort_and_filter(w.model.records(), "personal")
    assert fresh != start
    assert stale_seen_in_loupe and w.order_is_stale()
    assert w._order_hint_action.isVisible() and "new order ready" in loupe._position
    # leaving the loupe re-sorts (so does F5); the current photo stays current
    cur = w.current_id()
    QTest.keyClick(loupe, Qt.Key.Key_G)
    assert w.current_view() == "grid"
    assert w.model.ids() == fresh and not w.order_is_stale()
    assert not w._order_hint_action.isVisible()
    assert w.current_id() == cur


def test_f5_resorts_in_the_grid(window, qtbot):
    w = window
    w.set_sort("rating")
    start = w.model.ids()
    w.select_ids([start[-1]], start[-1])
    QTest.keyClick(w.grid, Qt.Key.Key_5)  # would jump to the top in rating order: it stays put
    qtbot.wait(50)
    assert w.model.ids() == start and w.order_is_stale()
    QTest.keyClick(w.grid, Qt.Key.Key_F5)
    assert w.model.ids()[0] == start[-1] and not w.order_is_stale()
    assert w.current_id() == start[-1]
