"""The feature views wired into the real main window: ranking, compare, develop, export, stacks,
background personalisation with the grid re-sorted in place."""
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from _gui_helpers import open_window


@pytest.fixture
def window(qtbot, app_paths, imported_library):
    win = open_window(qtbot, app_paths)  # on small_library's 12 photos as the window imported them
    assert win.model.rowCount() == 12
    yield win
    if win.features.personal.training_running():
        qtbot.waitUntil(lambda: not win.features.personal.training_running(), timeout=60_000)
    win.close()


def test_views_and_panels_are_installed(window):
    assert {"grid", "loupe", "ranking", "compare", "survey"} <= set(window.view_names())
    assert window.features.export.act_export.shortcut().toString() == "Ctrl+E"


def test_ratings_train_the_personal_model_in_background_and_resort(window, qtbot):
    ids = window.model.ids()
    window.select_ids(ids[:1], ids[0])
    keep = ids[5]
    # the user loves the last photos and dislikes the first ones
    for k, pid in enumerate(ids):
        window.catalog.set_rating([pid], 1 + (k * 4) // (len(ids) - 1))
    window.select_ids([keep], keep)
    assert window.features.personal.train_timer.isActive()  # debounced, not on the GUI thread
    qtbot.waitUntil(lambda: window.features.personal.last_training is not None, timeout=60_000)
    result = window.features.personal.last_training
    assert result.accepted and result.n_ratings == 12
    personal = window.catalog.scores("personal")
    assert len(personal) == 12
    window.set_sort("personal")
    order = window.model.ids()
    assert order == sorted(order, key=lambda i: -personal[i])
    top_half = set(order[:6])
    liked = {pid for pid in ids if window.catalog.photo(pid).rating >= 4}
    assert len(top_half & liked) >= min(len(liked), 3)
    assert window.current_id() == keep and window.selected_ids() == [keep]


def test_ranking_view_records_preferences(window, qtbot):
    window.show_view("ranking")
    rv = window.features.ranking.ranking
    qtbot.waitUntil(lambda: rv.current is not None, timeout=10_000)  # the pairs are found on a worker
    left, right = rv.current
    rv.setFocus()
    QTest.keyClick(rv, Qt.Key.Key_Left)
    assert (left, right) in window.catalog.preferences()
    assert window.features.personal.train_timer.isActive()


def test_compare_view_gets_the_selection(window):
    ids = window.model.ids()
    window.select_ids(ids[2:4], ids[2])
    window.show_view("compare")
    inner = window.features.compare.compare.inner
    assert inner is not None and set(inner.ids) == set(ids[2:4])
    window.show_view("grid")
    window.select_ids(ids[:1], ids[0])
    window.show_view("survey")
    assert window.features.compare.survey.inner is not None  # current + next


def test_develop_panel_follows_selection_and_persists(window, qtbot):
    ids = window.model.ids()
    window.features.develop.dock.show()
    window.features.develop.dock.raise_()
    window.select_ids([ids[1]], ids[1])
    qtbot.waitUntil(lambda: window.features.develop.panel.ids == [ids[1]], timeout=5000)
    panel = window.features.develop.panel
    s = panel.sliders["exposure"]
    s.slider.setValue(s.slider.value() + 10)  # +0.5 EV, as a drag would
    panel.commit()
    assert window.catalog.get_edit(ids[1])["exposure"] == pytest.approx(0.5, abs=1e-6)
    window.features.culling.undo()
    assert not window.catalog.get_edit(ids[1]) or window.catalog.get_edit(ids[1]).get("exposure", 0) == 0


def test_export_dialog_opens_with_selection(window, tmp_path):
    ids = window.model.ids()
    window.select_ids(ids[:3], ids[0])
    dlg = window.features.export.show_export()
    assert sorted(dlg.selected_ids()) == sorted(ids[:3]) or dlg.isVisible()
    dlg.close()


def test_keep_best_of_stacks_is_undoable(window):
    # make a burst: the same capture second for three near-identical photos (copies of one file)
    ids = window.model.ids()
    cat = window.catalog
    with cat.transaction() as tx:
        for k, pid in enumerate(ids[:3]):
            tx.execute("UPDATE photos SET capture_time=? WHERE id=?", (f"2024-05-01T10:00:0{k}", pid))
        _, emb = cat.embeddings()
        row = cat.conn.execute("SELECT vector FROM embeddings WHERE photo_id=?", (ids[0],)).fetchone()[0]
        for pid in ids[1:3]:
            tx.execute("UPDATE embeddings SET vector=? WHERE photo_id=?", (row, pid))
    changes = window.features.culling.keep_best_of_stacks()
    assert changes
    flags = [cat.photo(i).flag for i in ids[:3]]
    assert sorted(flags) == [-1, -1, 1]
    window.features.culling.undo()
    assert [cat.photo(i).flag for i in ids[:3]] == [0, 0, 0]


def test_keep_best_of_stacks_in_a_big_library_runs_on_a_worker(window, qtbot, monkeypatch):
    """From BULK_MIN photos "Keep best of each stack" finds the stacks and writes the flags on a worker (it read
    every photo on the GUI thread: seconds at 100,000), says so, then what it did; one Ctrl+Z undoes it. With no
    stacks it says so and writes nothing."""
    from piaa_desktop.gui.features import culling

    monkeypatch.setattr(culling, "BULK_MIN", 5)
    cull, cat = window.features.culling, window.catalog
    assert cull.keep_best_of_stacks() is None
    qtbot.waitUntil(lambda: not cull.writing(), timeout=30_000)
    assert window.status_text().startswith("No stacks")
    assert all(cat.photo(i).flag == 0 for i in window.model.ids())
    ids = _burst_of_three(window)
    assert cull.keep_best_of_stacks() is None
    assert cull.writing() and window.status_text() == "Finding stacks and keeping the best of each…"
    qtbot.waitUntil(lambda: not cull.writing(), timeout=30_000)
    assert sorted(cat.photo(i).flag for i in ids[:3]) == [-1, -1, 1]
    assert sorted(window.model.record(i).flag for i in ids[:3]) == [-1, -1, 1]  # the grid's records too
    assert all(cat.photo(i).flag == 0 for i in ids[3:])
    assert window.status_text().startswith("Kept the best of each stack: 2 photos rejected")
    cull.undo()
    qtbot.waitUntil(lambda: not cull.writing(), timeout=30_000)
    assert [cat.photo(i).flag for i in ids[:3]] == [0, 0, 0]


def test_technical_filter_and_stack_collapse(window, qtbot):
    cat = window.catalog
    ids = window.model.ids()
    window.set_filter(flag="tech:blur")
    already = set(window.model.ids())  # the sample library has blurred scenes of its own
    assert len(already) < len(ids)
    target = next(i for i in ids if i not in already)
    # one more photo made blurry in its measured signals (the filter reads signals, as the import writes them)
    with cat.transaction() as tx:
        tx.execute("UPDATE signals SET sharpness=0.5 WHERE photo_id=?", (target,))
    window.set_filter(flag="all")
    window.set_filter(flag="tech:blur")
    assert window.model.ids() == [i for i in ids if i in already or i == target]  # grid order kept
    window.set_filter(flag="all")
    assert len(window.model.ids()) == 12
    # a burst of three near-identical frames collapses to one
    row = cat.conn.execute("SELECT vector FROM embeddings WHERE photo_id=?", (ids[0],)).fetchone()[0]
    with cat.transaction() as tx:
        for k, pid in enumerate(ids[:3]):
            tx.execute("UPDATE photos SET capture_time=? WHERE id=?", (f"2024-05-01T10:00:0{k}", pid))
            tx.execute("UPDATE embeddings SET vector=? WHERE photo_id=?", (row, pid))
    window.reload()  # new capture times, as a rescan writes them (the window collapses from its records)
    window.set_collapse_stacks(True)
    shown = window.model.ids()
    assert len(shown) == 10 and len(set(shown) & set(ids[:3])) == 1
    # new scores while collapsed: the same stack, its new best shown in place of the old one
    best = next(i for i in shown if i in ids[:3])
    other = next(i for i in ids[:3] if i != best)
    window.refresh_scores({"personal": {other: 99.0}})
    shown = window.model.ids()
    assert len(shown) == 10 and other in shown and best not in shown
    window.set_filter(min_rating=0, folder_id=None)  # a refresh with the same photos: same stacks
    assert len(window.model.ids()) == 10
    window.set_collapse_stacks(False)
    assert len(window.model.ids()) == 12


def test_learn_retouching_style_then_auto_enhance(window, qtbot):
    cat = window.catalog
    ids = window.model.ids()
    # the user brightens and warms four photos by hand
    for pid in ids[:4]:
        cat.set_edit([pid], {"exposure": 0.6, "temperature": 25.0, "contrast": 15.0}, source="user")
    handle = window.features.develop.train_enhancer(rounds=1, max_steps=4)  # small: the behaviour, not the quality
    qtbot.waitUntil(lambda: window.features.develop.last_enhancer_training is not None, timeout=180_000)
    assert window.features.develop.last_enhancer_training["n_pairs"] == 4
    target = ids[6]
    window.select_ids([target], target)
    QTest.keyClick(window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: cat.get_edit(target) is not None, timeout=60_000)
    assert cat.edit_sources()[target] == "auto"
    params = cat.get_edit(target)
    assert params.get("exposure", 0) > 0.1  # learned: this user brightens
    assert handle.done


def test_technical_flags_show_as_badges_on_the_grid(window):
    from piaa_desktop.gui.grid import TechFlagsRole

    cat = window.catalog
    ids = window.model.ids()
    with cat.transaction() as tx:
        tx.execute("UPDATE signals SET sharpness=0.5 WHERE photo_id=?", (ids[2],))
    window.refresh(keep_selection=True)  # new signals: records reloaded, flag cache cleared
    row = window.model.row_of(ids[2])
    assert "blur" in window.model.index(row, 0).data(TechFlagsRole)
    tip = window.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "blur" in tip.lower()
    sharp_rows = [window.model.row_of(i) for i in ids if i != ids[2]]
    assert any("blur" not in window.model.index(r, 0).data(TechFlagsRole) for r in sharp_rows)
    window.grid.viewport().repaint()  # the delegate paints the badge without error


def test_drag_to_reorder_records_preferences(window, qtbot):
    ids = window.model.ids()
    window.select_ids(ids[:4], ids[0])
    window.show_view("reorder")
    view = window.features.ranking.reorder
    shown = view.order()
    assert sorted(shown) == sorted(ids[:4])
    view.list.setFocus()
    view.list.setCurrentRow(3)
    QTest.keyClick(view.list, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)  # last moves one up
    order = view.order()
    assert order == shown[:2] + [shown[3], shown[2]]
    assert view.list.item(2).text().startswith("3. ")
    QTest.keyClick(view.list, Qt.Key.Key_Return)
    prefs = window.catalog.preferences()
    assert prefs[-3:] == list(zip(order, order[1:]))
    assert window.features.personal.train_timer.isActive()
    # then the worker's check: the three answers were predicted before they were learned from
    qtbot.waitUntil(lambda: view.check is not None, timeout=10_000)
    text = view.status.text()
    assert text.startswith("Saved: 3 preferences learned from your order. Before you gave them, it had guessed ")
    assert "of these 3." in text and "Answer 7 more pairs to see how well it knows your taste" in text


def test_failed_style_learning_is_a_dialog_with_reason_and_what_to_do(window, qtbot, monkeypatch):
    import piaa_desktop.core.enhance as enhance
    from piaa_desktop.core.enhance import EnhancerError

    def failing(*a, **k):
        raise EnhancerError("the learned style could not be saved: No module named 'onnx'. What to do: reinstall")

    monkeypatch.setattr(enhance, "train_enhancer_from_catalog", failing)
    feat = window.features.develop
    feat.train_enhancer()
    qtbot.waitUntil(lambda: feat.last_enhancer_error is not None, timeout=30_000)
    box = feat.enhancer_error_box
    assert box is not None and box.isVisible()
    assert "onnx" in box.informativeText() and "What to do" in box.informativeText()
    box.grab().save(str(window.paths.data_dir / "style_error.png"))
    box.close()


def _burst_of_three(window) -> list[int]:
    """The grid's first three photos made a burst (a second apart, the same embedding), the window reloaded;
    returns the grid's ids from before."""
    cat = window.catalog
    ids = window.model.ids()
    row = cat.conn.execute("SELECT vector FROM embeddings WHERE photo_id=?", (ids[0],)).fetchone()[0]
    with cat.transaction() as tx:
        for k, pid in enumerate(ids[:3]):
            tx.execute("UPDATE photos SET capture_time=? WHERE id=?", (f"2024-05-01T10:00:0{k}", pid))
            tx.execute("UPDATE embeddings SET vector=? WHERE photo_id=?", (row, pid))
    window.reload()
    return ids


def test_stacks_found_on_a_worker_in_a_big_grid(window, qtbot, monkeypatch):
    """Above ASYNC_STACKS_MIN photos Ctrl+G finds the stacks on a worker: every photo stays shown meanwhile,
    then the grid collapses and says so; a refresh while collapsed keeps them."""
    ids = _burst_of_three(window)
    monkeypatch.setattr(type(window), "ASYNC_STACKS_MIN", 5)
    window.set_collapse_stacks(True)
    assert window.stacks_pending() and window.status_text() == "Finding stacks…"
    assert len(window.model.ids()) == 12  # nothing hidden until the stacks are known
    qtbot.waitUntil(lambda: not window.stacks_pending() and window.status_text().startswith("Stacks collapsed"),
                    timeout=30_000)
    shown = window.model.ids()
    assert len(shown) == 10 and len(set(shown) & set(ids[:3])) == 1
    window.set_filter(min_rating=0)  # the same photos: the kept stacks, at once
    assert not window.stacks_pending() and len(window.model.ids()) == 10
    window.set_collapse_stacks(False)
    assert len(window.model.ids()) == 12


def test_ctrl_g_in_a_big_grid_leaves_the_grid_alone_until_the_stacks_arrive(window, qtbot, monkeypatch):
    """Ctrl+G above ASYNC_STACKS_MIN only starts the worker (no refresh of the same photos while it runs); the
    stacks arrive, the grid collapses; a rating in Rating order while collapsed ranks the stack again."""
    ids = _burst_of_three(window)
    grid = window.model.ids()  # the burst moved in capture order
    monkeypatch.setattr(type(window), "ASYNC_STACKS_MIN", 5)
    refreshes = []
    real_refresh = window.refresh
    monkeypatch.setattr(window, "refresh", lambda *a, **k: (refreshes.append(a), real_refresh(*a, **k)))
    window.set_collapse_stacks(True)
    assert window.stacks_pending() and refreshes == [] and window.model.ids() == grid
    qtbot.waitUntil(lambda: not window.stacks_pending() and window.status_text().startswith("Stacks collapsed: 2"),
                    timeout=30_000)
    shown = window.model.ids()
    best = next(i for i in shown if i in ids[:3])
    assert len(shown) == 10 and shown.index(best) == min(grid.index(i) for i in ids[:3])  # at the stack's place
    # another of the stack wins with the top score (the ranking reads the records again)
    other = next(i for i in ids[:3] if i != best)
    window.refresh_scores({"personal": {other: 99.0}})
    assert other in window.model.ids() and best not in window.model.ids()
    window.set_collapse_stacks(False)
    assert window.model.ids() == grid
