"""Burst / near-duplicate stacks on real photos with simulated bursts (EXIF times + real embeddings)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from piaa_desktop.core import stacks as S
from piaa_desktop.core.catalog import UndoStack


def _save(im: Image.Image, path: Path, when: str | None):
    ex = Image.Exif()
    if when:
        ex.get_ifd(0x8769)[0x9003] = when
    im.save(path, "JPEG", quality=92, exif=ex.tobytes())


def _shift(im: Image.Image, frac: float) -> Image.Image:
    w, h = im.size
    dx, dy = int(w * frac), int(h * frac)
    return im.crop((dx, dy, w, h)).resize((w, h), Image.Resampling.BILINEAR)


@pytest.fixture
def burst_lib(tmp_path, photos_dir, catalog, app_paths):
    pytest.importorskip("onnxruntime")
    from piaa_desktop.core.embeddings import extract_embeddings
    from piaa_desktop.core.scanner import scan_folder

    src = sorted(photos_dir.glob("*.jpg"))
    a, b, c, d, e = (Image.open(p).convert("RGB") for p in src[:5])
    lib = tmp_path / "burst"
    lib.mkdir()
    plan = {
        "a0.jpg": (a, "2024:06:01 12:00:00"),
        "a1.jpg": (_shift(a, 0.03), "2024:06:01 12:00:01"),
        "b0.jpg": (b, "2024:06:01 12:00:01"),  # another scene in the same second: not in A's stack
        "a2.jpg": (_shift(a, 0.05), "2024:06:01 12:00:02"),
        "d0.jpg": (d, "2024:06:01 12:00:30"),
        "c0.jpg": (c, "2024:06:01 12:05:00"),
        "c1.jpg": (c.filter(ImageFilter.GaussianBlur(1.0)), "2024:06:01 12:05:01"),
        "a_late.jpg": (_shift(a, 0.02), "2024:06:01 13:00:00"),  # same look, an hour later: alone
        "e_notime.jpg": (e, None),
        "e_notime2.jpg": (_shift(e, 0.02), None),  # no capture time: never stacked
    }
    for name, (im, when) in plan.items():
        _save(im, lib / name, when)
    res = scan_folder(catalog, lib, app_paths.cache_dir, workers=2)
    assert not res.errors
    assert extract_embeddings(catalog, app_paths.thumbnails) == len(plan)
    ids = {Path(p.path).name: p.id for p in catalog.photos()}
    return ids


def test_find_stacks(catalog, burst_lib):
    ids = burst_lib
    stacks = S.find_stacks(catalog)
    assert stacks == [[ids["a0.jpg"], ids["a1.jpg"], ids["a2.jpg"]], [ids["c0.jpg"], ids["c1.jpg"]]]
    # a stricter distance splits the shifted frames off; a longer gap does not pull in the late frame
    assert S.find_stacks(catalog, max_dist=0.0001) == []
    assert [len(s) for s in S.find_stacks(catalog, max_gap_s=600)] == [3, 2]
    # restricting to some ids
    assert S.find_stacks(catalog, ids=[ids["c0.jpg"], ids["c1.jpg"], ids["d0.jpg"]]) == [[ids["c0.jpg"], ids["c1.jpg"]]]
    # the capture times given by the caller (the grid's records) instead of the photos read from the catalog
    times = {p.id: p.capture_time for p in catalog.photos()}
    assert S.find_stacks(catalog, capture_times=times) == stacks
    assert S.find_stacks(catalog, capture_times={i: t for i, t in times.items() if i != ids["c1.jpg"]}) == [stacks[0]]
    moved = {**times, ids["a2.jpg"]: "2024:06:01 12:30:00"}  # a frame the caller knows was taken later
    assert S.find_stacks(catalog, capture_times=moved) == [[ids["a0.jpg"], ids["a1.jpg"]], stacks[1]]
    assert S.find_stacks(catalog, capture_times=times, ids=[ids["c0.jpg"], ids["c1.jpg"]]) == [stacks[1]]


def test_best_collapse_and_keep_best_undoable(catalog, burst_lib):
    ids = burst_lib
    stacks = S.find_stacks(catalog)
    catalog.set_scores("generic", [(i, 0.5, None) for i in ids.values()])
    catalog.set_scores("personal", [(ids["a1.jpg"], 0.9, None), (ids["a0.jpg"], 0.2, None), (ids["a2.jpg"], 0.4, None)])
    best = S.best_of_stacks(catalog, stacks)
    assert best[0] == ids["a1.jpg"]
    # C: equal generic scores, no stars -> the sharper frame wins over the blurred one
    assert best[1] == ids["c0.jpg"]
    assert S.best_of_stacks(catalog, stacks, kind="generic")[0] in stacks[0]
    # the same from the grid's records (scores and stars from them, the members' signals from the catalog)
    from piaa_desktop.core.library import load_records

    records = load_records(catalog)
    assert S.best_of_stacks(catalog, stacks, records=records) == best
    assert S.best_of_stacks(catalog, stacks, kind="generic", records=records) == \
        S.best_of_stacks(catalog, stacks, kind="generic")
    records[ids["a2.jpg"]].rating = 5  # stars break the tie of equal scores: a rated frame wins over its twin
    records[ids["a2.jpg"]].personal = records[ids["a1.jpg"]].personal
    assert S.best_of_stacks(catalog, stacks, records=records)[0] == ids["a2.jpg"]

    grid = catalog.query_ids(sort="capture_time")
    collapsed = S.collapse_ids(grid, stacks, best)
    assert ids["a0.jpg"] not in collapsed and ids["a1.jpg"] in collapsed and ids["c1.jpg"] not in collapsed
    assert len(collapsed) == len(grid) - 3
    assert S.collapse_ids(grid, stacks, best, expanded=[0]) == [i for i in grid if i != ids["c1.jpg"]]
    assert S.stack_index(stacks)[ids["a2.jpg"]] == (0, 3)

    catalog.set_flag([ids["c1.jpg"]], 1)  # the user already picked the soft one: it is kept
    undo = UndoStack(catalog)
    changes = S.keep_best_of_each_stack(catalog, stacks, undo_stack=undo)
    assert len(changes) == 1
    flags = {n: catalog.photo(i).flag for n, i in ids.items()}
    assert flags["a1.jpg"] == 1 and flags["a0.jpg"] == -1 and flags["a2.jpg"] == -1
    assert flags["c1.jpg"] == 1 and flags["c0.jpg"] == -1
    assert flags["d0.jpg"] == 0 and flags["b0.jpg"] == 0  # not in a stack: untouched
    undo.undo()  # one step undoes the whole action
    flags = {n: catalog.photo(i).flag for n, i in ids.items()}
    assert flags["c1.jpg"] == 1 and all(v == 0 for n, v in flags.items() if n != "c1.jpg")
    assert S.keep_best_of_each_stack(catalog, []) == []


def test_timestamps_parse():
    assert S._timestamp("2024-06-01T12:00:01") - S._timestamp("2024-06-01T12:00:00") == 1
    assert S._timestamp("2024:06:01 12:00:05") - S._timestamp("2024-06-01T12:00:00") == 5
    assert S._timestamp("garbage") is None and S._timestamp(None) is None


def test_timestamps_together_match_one_by_one():
    values = ["2024-06-01T12:00:00", "2024-06-01 12:00:01", "2024:06:01 12:00:02", "2024-06-01T12:00:03.5",
              "2024-06-01T12:00:04Z", "2024-06-01T12:00:05+02:00", " 2024-06-01T12:00:06", None, "", "garbage",
              "1969-12-31T23:59:59", "2024-13-01T00:00:00"]
    assert S._timestamps(values) == [S._timestamp(v) for v in values]
    assert S._timestamps(values[:2]) == [S._timestamp(values[0]), S._timestamp(values[0]) + 1.0]
    # one impossible date among plain ones: each parsed on its own, the others still found
    odd = ["2024-02-30T00:00:00", "2024-02-28T00:00:00"]
    assert S._timestamp(odd[1]) is not None and S._timestamps(odd) == [None, S._timestamp(odd[1])]


def test_find_stacks_order_ties_and_fallbacks_without_embeddings(catalog, monkeypatch):
    """Capture order with ties by id, gaps chained, photos without a time left out (no embeddings here:
    every photo near in time looks alike)."""
    import numpy as np

    monkeypatch.setattr(S, "_vector_matrix", lambda _cat, ids: (np.sort(np.asarray(ids, np.int64)),
                                                                np.ones((len(ids), 4), np.float32) / 2.0))
    times = {7: "2024-06-01T12:00:01", 3: "2024-06-01T12:00:01", 9: "2024:06:01 12:00:02.5", 4: None,
             5: "2024-06-01T12:00:09", 6: "2024-06-01T12:00:10", 8: "2024-06-01T13:00:00", 2: "garbage"}
    assert S.find_stacks(catalog, capture_times=times) == [[3, 7, 9], [5, 6]]
    assert S.find_stacks(catalog, capture_times=times, max_gap_s=0.5) == [[3, 7]]
    assert S.find_stacks(catalog, capture_times=times, ids=[5, 6, 8]) == [[5, 6]]
    assert S.find_stacks(catalog, capture_times={}) == []
    # the same from a dict of records, parsed once per dict
    from types import SimpleNamespace

    records = {pid: SimpleNamespace(id=pid, capture_time=t) for pid, t in times.items()}
    arrays = S.record_timestamps(records)
    assert S.record_timestamps(records) is not None and S.record_timestamps(records)[1] is arrays[1]  # cached
    assert S.find_stacks(catalog, timestamps=arrays) == [[3, 7, 9], [5, 6]]
    assert S.find_stacks(catalog, timestamps=arrays, ids=[7, 9, 5, 6]) == [[7, 9], [5, 6]]
    assert S.find_stacks(catalog, timestamps=arrays, ids=[]) == []
    later = dict(records)
    later[6] = SimpleNamespace(id=6, capture_time="2024-06-01T12:30:00")  # a reload: a new dict, new times
    assert S.find_stacks(catalog, timestamps=S.record_timestamps(later)) == [[3, 7, 9]]


def test_timestamp_array_matches_one_by_one_on_random_dates():
    import random

    import numpy as np

    rng = random.Random(3)
    values = ["%04d-%02d-%02d%s%02d:%02d:%02d" % (rng.choice([1, 4, 100, 400, 1900, 1969, 2000, 2024, 2100, 9999]),
                                                  rng.randint(0, 13), rng.randint(0, 32), rng.choice("T "),
                                                  rng.randint(0, 25), rng.randint(0, 61), rng.randint(0, 61))
              for _ in range(5000)]
    values += ["0000-01-01T00:00:00", "2024-0a-01T12:00:00", "2024:06:01 12:00:00", None, ""]
    got = S._timestamp_array(values)
    want = np.array([np.nan if (t := S._timestamp(v)) is None else t for v in values])
    assert np.array_equal(got, want, equal_nan=True)
    assert 0.3 < np.isnan(want).mean() < 0.9  # both real dates and impossible ones were tried


def test_best_of_stacks_from_records_matches_the_catalog_ranking(catalog, monkeypatch):
    """Random scores, stars, sharpness and ties: the records' ranking picks what the catalog's picks."""
    import random
    from types import SimpleNamespace

    rng = random.Random(5)
    pids = list(range(1, 301))
    stacks = [pids[k:k + rng.randint(2, 5)] for k in range(0, 280, 6)]
    recs = {p: SimpleNamespace(id=p, personal=rng.choice([None, 3.0, 3.5, rng.random() * 5]),
                               generic=rng.choice([None, 2.0, rng.random() * 5]), rating=rng.choice([0, 0, 3, 5]))
            for p in pids}
    sig = {p: {"sharpness": rng.choice([None, 1.0, rng.random()])} for p in pids if rng.random() < 0.8}
    monkeypatch.setattr(S, "_faces_by_photo", lambda _c: {p: rng.choice([0.0, 1.0]) for p in pids[::7]})
    faces = S._faces_by_photo(None)
    monkeypatch.setattr(S, "_faces_by_photo", lambda _c, ids=None: faces)

    def tuple_key(p, kind):
        r = recs[p]
        sc = r.personal if kind == "personal" and r.personal is not None else r.generic
        sh = (sig.get(p) or {}).get("sharpness")
        return (-faces.get(p, 0.0), sc if sc is not None else float("-inf"), r.rating,
                sh if sh is not None else float("-inf"), -p)

    for kind in ("personal", "generic"):
        got = S.best_of_stacks(catalog, stacks, kind=kind, records=recs, signals=sig)
        assert got == [max(st, key=lambda p: tuple_key(p, kind)) for st in stacks]
    assert S.best_of_stacks(catalog, [], records=recs, signals=sig) == []
