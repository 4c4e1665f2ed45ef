"""A refresh whose held order keeps every row where it is (new scores from a re-training, a rating in Rating
order) leaves the grid's model as it is: no reset, the selection, the current photo and the view stay, the
new scores and stars are in the records, "new order ready" follows the sort, and F5 then gives exactly the
order of the one definition of the sort (core.library.sort_key), from the sort columns the refresh kept
current without re-reading every record (SortColumns.put_scores from the worker's ScoreMap, SortColumns.patch
for a rating)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from piaa_desktop.core.library import (
    PhotoRecord, ScoreMap, SortColumns, hold_order, put_scores, same_photos, sort_and_filter,
)


def _records(n: int, seed: int = 0) -> dict[int, PhotoRecord]:
    rng = random.Random(seed)
    recs = {}
    for k in range(n):
        pid = 3 * k + 1  # sparse, out of step with the positions
        recs[pid] = PhotoRecord(pid, f"/lib/{rng.randrange(5)}/p{k:05d}.jpg", f"p{k:05d}.jpg", "h", rng.randrange(3),
                                rng.randrange(6), rng.choice((-1, 0, 1)), None, 10, 10,
                                f"2024-01-{rng.randrange(1, 28):02d}" if rng.random() > 0.1 else None,
                                rng.choice((None, rng.uniform(1, 5))), rng.choice((None, rng.uniform(1, 5))))
    return recs


def test_score_map_carries_its_pairs_as_arrays():
    m = ScoreMap({5: 1.5, 2: 3.0})
    assert m == {5: 1.5, 2: 3.0}
    ids, vals = m.arrays
    assert ids.dtype == np.int64 and dict(zip(ids.tolist(), vals.tolist())) == {5: 1.5, 2: 3.0}
    assert ScoreMap().arrays[0].size == 0


@pytest.mark.parametrize("sort", ["personal", "generic"])
def test_score_column_put_from_arrays_sorts_as_the_records(sort):
    recs = _records(3000)
    cols = SortColumns.of(recs)
    assert cols.order(sort, 1) == sort_and_filter(recs, sort)  # column read at version 1
    kind = sort
    rng = random.Random(1)
    # some photos unscored; a score of a photo not in these records is ignored
    new = ScoreMap({**{pid: rng.uniform(0, 5) for pid in recs if rng.random() > 0.2}, 10 ** 6: 1.0})
    put_scores(recs, kind, new)
    assert cols.put_scores(kind, new, {kind: 2}) is True
    assert SortColumns.kept(recs) is cols
    got = cols.order(sort, {kind: 2}, min_rating=2, flag=None, include_rejected=False)
    assert got == sort_and_filter(recs, sort, min_rating=2, include_rejected=False)  # plain Python sort
    # a plain mapping (no arrays): the column is read from the records when a sort needs it
    assert cols.put_scores(kind, dict(new), {kind: 3}) is False
    assert cols.order(sort, {kind: 3}) == sort_and_filter(recs, sort)


@pytest.mark.parametrize("field", ["rating", "flag"])
def test_patched_column_is_the_column_read_again(field):
    recs = _records(4000, seed=2)
    cols = SortColumns.of(recs)
    sort = "rating"
    flt = {"flag": 1} if field == "flag" else {"min_rating": 3}
    assert cols.order(sort, {field: 1}, **flt) == sort_and_filter(recs, sort, **flt)
    held = cols._column(field, {field: 1})
    rng = random.Random(3)
    changed = rng.sample(sorted(recs), 25)
    for pid in changed:
        setattr(recs[pid], field, rng.randrange(6) if field == "rating" else rng.choice((-1, 0, 1)))
    assert cols.patch(field, changed + [10 ** 7], {field: 1}, {field: 2}) is True  # an unknown id is skipped
    assert cols._column(field, {field: 2}) is not held  # a new array: a caller may still hold the old one
    assert np.array_equal(cols._column(field, {field: 2}), np.array([getattr(r, field) for r in recs.values()]))
    assert cols.order(sort, {field: 2}, **flt) == sort_and_filter(recs, sort, **flt)
    # a column not read at the version before the change is not patched (read again when needed)
    assert cols.patch(field, changed, {field: 1}, {field: 3}) is False
    assert cols.patch("generic", changed, {"generic": 0}, {"generic": 4}) is False


def test_same_photos_is_holds_order_keeping_the_rows():
    rng = random.Random(4)
    shown = list(range(1, 6001))
    rng.shuffle(shown)
    fresh = sorted(shown)
    a = np.array(shown, np.int64)
    assert same_photos(a, np.array(fresh, np.int64)) and hold_order(shown, fresh) == shown
    for other in (fresh[:-1], fresh[:-1] + [7000], fresh + [7000]):
        assert not same_photos(a, np.array(other, np.int64)) and hold_order(shown, other) != shown
    assert same_photos(np.array([-3, 2]), np.array([2, -3]))  # ids unlike a catalog's
    assert same_photos(np.array([], np.int64), np.array([], np.int64))


def test_sort_and_filter_as_array_is_the_list():
    recs = _records(2500, seed=5)
    for version in (None, 1):
        for sort in ("capture_time", "personal", "rating", "name"):
            arr = sort_and_filter(recs, sort, min_rating=1, version=version, as_array=True)
            assert arr.dtype == np.int64 and arr.tolist() == sort_and_filter(recs, sort, min_rating=1, version=version)


def test_model_keeps_the_array_of_the_ids_it_shows(qapp):
    from piaa_desktop.gui.grid import PhotoListModel

    recs = _records(2500, seed=6)
    m = PhotoListModel()
    m.set_records(recs)
    order = list(recs)[::-1]
    m.set_ids(order + [10 ** 6])  # an id without a record is left out
    assert m.ids() == order and m.ids_array().tolist() == order
    m.set_ids(order[:10], np.array(order[:10], np.int64))
    assert m.ids_array().tolist() == order[:10] == m.ids() and m.ids(2, 4) == order[2:4]


# ---------------------------------------------------------------------------------------------- the window
pytest.importorskip("pytestqt")


@pytest.fixture
def window(qtbot, app_paths, imported_library):
    from _gui_helpers import open_window

    w = open_window(qtbot, app_paths, active=True)
    w.features.personal.train_timer.setInterval(3_600_000)  # no re-training behind the test's back
    assert w.model.rowCount() == 12
    yield w
    w.close()


def _resets(w) -> list:
    got = []
    w.model.modelReset.connect(lambda: got.append(1))
    return got


def test_new_scores_hold_every_row_and_f5_sorts_by_them(window, qtbot):
    w = window
    w.set_sort("personal")
    start = w.model.ids()
    w.select_ids(start[3:6], start[4])
    resets = _resets(w)
    heard = []
    w.selectionChanged.connect(heard.append)
    # scores that reverse the order, as the re-training's job hands them over (read on its worker)
    new = ScoreMap({pid: float(k) for k, pid in enumerate(start)})
    w.refresh_scores({"personal": new})
    assert w.model.ids() == start and not resets  # the rows held still: no reset of the model
    assert w.selected_ids() == start[3:6] and w.current_id() == start[4]
    assert heard == [start[3:6]]  # the selection's listeners hear of the refresh, as before
    recs = w.model.records()
    assert all(recs[pid].personal == new[pid] for pid in start)
    assert w.order_is_stale() and w._order_hint_action.isVisible()
    w.refresh_order()  # F5: the order of the new scores, as the one definition of the sort gives it
    assert w.model.ids() == sort_and_filter(recs, "personal") == start[::-1]
    assert not w.order_is_stale() and w.current_id() == start[4]
    assert sorted(w.selected_ids()) == sorted(start[3:6])
    # the same scores again: the order on screen is the sort's, nothing stale
    w.refresh_scores({"personal": ScoreMap(new)})
    assert w.model.ids() == start[::-1] and not w.order_is_stale()


def test_a_rating_in_rating_order_holds_the_rows_and_f5_sorts_by_it(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    w = window
    w.set_sort("rating")
    start = w.model.ids()
    w.select_ids([start[-1]], start[-1])
    resets = _resets(w)
    QTest.keyClick(w.grid, Qt.Key.Key_5)
    qtbot.waitUntil(lambda: w.order_is_stale(), timeout=5000)
    assert w.model.ids() == start and not resets and w.current_id() == start[-1]
    assert w.model.records()[start[-1]].rating == 5
    QTest.keyClick(w.grid, Qt.Key.Key_2)  # rated again before any re-sort: still held, still stale
    qtbot.wait(50)
    assert w.model.ids() == start and w.order_is_stale()
    QTest.keyClick(w.grid, Qt.Key.Key_F5)
    assert w.model.ids() == sort_and_filter(w.model.records(), "rating")
    assert w.current_id() == start[-1]
    # under a rating filter the photo rated down leaves the grid (its rows move: the model is reset)
    w.catalog.set_rating(start[:4], 3)
    w.set_filter(min_rating=2)
    shown = w.model.ids()
    assert start[-1] in shown
    w.select_ids([start[-1]], start[-1])
    QTest.keyClick(w.grid, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: start[-1] not in w.model.ids(), timeout=5000)
    assert w.model.ids() == [i for i in shown if i != start[-1]]
    assert w.current_id() is not None



def test_scores_the_training_worker_put_are_used_as_they_are(window, qtbot):
    """The re-training job gives the window's records the new scores on its worker (personalize_job ``records``,
    ScoreMap.records_set): refresh_scores does not put them again into those records, shows them and sorts by
    them on F5; records it was not given (a reload replaced them) get the scores from refresh_scores."""
    from piaa_desktop.core.library import put_scores
    from piaa_desktop.gui.features.personal import personalize_job

    w = window
    w.set_sort("personal")
    start = w.model.ids()
    recs = w.model.records()
    new = ScoreMap({pid: float(k) for k, pid in enumerate(start)})
    put_scores(recs, "personal", new)  # what personalize_job does on its worker
    new.records_set = recs
    recs[start[0]].personal = 99.0  # a value refresh_scores would overwrite if it put them again
    w.refresh_scores({"personal": new})
    assert recs[start[0]].personal == 99.0 and recs[start[1]].personal == 1.0
    assert new.records_set is None  # kept once only: a later replay writes
    w.refresh_scores({"personal": new})  # records not given these scores: put here
    assert recs[start[0]].personal == 0.0
    # the real job: the scores it read, put into the records it was given, marked so
    for pid, stars in zip(start, [5, 5, 4, 4, 3, 2, 1, 1, 2, 3]):
        w.catalog.set_rating([pid], stars)
    got = []
    w.jobs.submit(personalize_job, w.paths, recs, with_catalog=str(w.paths.catalog), name="test-train",
                  on_done=got.append, on_error=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=60_000)
    assert isinstance(got[0], tuple), got[0]
    _result, scores = got[0]
    assert scores["personal"].records_set is recs
    assert all(recs[p].personal == scores["personal"].get(p) for p in start)
